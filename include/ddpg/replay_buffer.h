// ReplayBuffer: a fixed-capacity ring of transitions (obs, action, reward, next_obs, terminated).
//
// Storage is allocated once for the whole capacity (float32; pages are touched only as the buffer
// fills), so adding and sampling never allocate. Actions are stored in the agent's [-1, 1] units.
// `terminated` is stored, never "done": a time-limit cut (`truncated`) is stored as not terminated,
// so that the target still bootstraps from next_obs. Sampling is uniform with replacement over the
// filled part, driven by a caller-owned Rng, so that it is seeded and checkpointed with the run.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "ddpg/io.h"
#include "ddpg/rng.h"

namespace ddpg {

class ReplayBuffer {
 public:
  ReplayBuffer(int64_t capacity, int obs_dim, int act_dim);

  // Copies one transition in, overwriting the oldest when full. obs/next_obs are converted to
  // float.
  void add(const std::vector<double>& obs, const float* action, double reward,
           const std::vector<double>& next_obs, bool terminated, double discount);

  // The same for a transition already in float32 (a row of another buffer: distributed actors).
  void add(const float* obs, const float* action, float reward, const float* next_obs,
           bool terminated, float discount);
  // Empties the buffer; the storage stays allocated.
  void clear() { size_ = next_ = 0; }

  // Fills `indices` with `n` uniform draws from [0, size()).
  void sample_indices(Rng& rng, int n, std::vector<int64_t>& indices) const;
  // Gathers rows into caller-owned contiguous arrays: obs (n, obs_dim), action (n, act_dim),
  // reward (n), next_obs (n, obs_dim), terminated (n, as 0/1 float), discount (n).
  void gather(const std::vector<int64_t>& indices, float* obs, float* action, float* reward,
              float* next_obs, float* terminated, float* discount) const;

  int64_t size() const { return size_; }
  int64_t capacity() const { return capacity_; }
  int64_t next_index() const { return next_; }  // slot the next add writes
  int obs_dim() const { return obs_dim_; }
  int act_dim() const { return act_dim_; }

  // Row accessors (for tests and tools).
  const float* obs_at(int64_t i) const { return obs_.get() + i * obs_dim_; }
  const float* action_at(int64_t i) const { return action_.get() + i * act_dim_; }
  const float* next_obs_at(int64_t i) const { return next_obs_.get() + i * obs_dim_; }
  float reward_at(int64_t i) const { return reward_[i]; }
  bool terminated_at(int64_t i) const { return terminated_[i] != 0.0f; }
  float discount_at(int64_t i) const { return discount_[i]; }

  // Saves the filled part and the write position; load checks dimensions and capacity.
  void save(ArchiveWriter& out) const;
  void load(ArchiveReader& in);

 private:
  int64_t capacity_;
  int obs_dim_, act_dim_;
  int64_t size_ = 0, next_ = 0;
  struct FreeFloats {
    void operator()(float* p) const;
  };
  std::unique_ptr<float[], FreeFloats> obs_, action_, reward_, next_obs_, terminated_, discount_;
};

// NStepAccumulator: turns env transitions into n-step transitions before they enter the replay:
// (s_t, a_t, Σ_{i<k} γ^i r_{t+i}, s_{t+k}, terminated_{t+k-1}, γ^k), with k = n, or fewer where the
// episode ended (terminated or truncated) first. With n = 1 it passes transitions straight through.
// Its pending transitions are part of the training state and saved with the checkpoint.
class NStepAccumulator {
 public:
  NStepAccumulator(int n, double gamma, int obs_dim, int act_dim);
  // One env step. `episode_end` is terminated || truncated: pending transitions are flushed.
  void add(const std::vector<double>& obs, const float* action, double reward,
           const std::vector<double>& next_obs, bool terminated, bool episode_end,
           ReplayBuffer& replay);
  int pending() const { return count_; }
  void save(ArchiveWriter& out) const;
  void load(ArchiveReader& in);

 private:
  void emit_front(const std::vector<double>& next_obs, bool terminated, ReplayBuffer& replay);
  int n_, obs_dim_, act_dim_;
  double gamma_;
  int head_ = 0, count_ = 0;                // ring of pending transitions
  std::vector<std::vector<double>> obs_;    // (n, obs_dim)
  std::vector<std::vector<float>> action_;  // (n, act_dim)
  std::vector<double> ret_, discount_;      // accumulated return and γ^k per pending item
};

}  // namespace ddpg
