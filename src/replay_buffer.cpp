// ReplayBuffer: see replay_buffer.h.
#include "ddpg/replay_buffer.h"

#include <cstring>

namespace ddpg {

ReplayBuffer::ReplayBuffer(int64_t capacity, int obs_dim, int act_dim)
    : capacity_(capacity), obs_dim_(obs_dim), act_dim_(act_dim) {
  if (capacity <= 0) throw Error("replay capacity must be positive");
  // new float[] leaves memory untouched, so the OS commits pages only as they fill.
  obs_.reset(new float[capacity * obs_dim]);
  next_obs_.reset(new float[capacity * obs_dim]);
  action_.reset(new float[capacity * act_dim]);
  reward_.reset(new float[capacity]);
  terminated_.reset(new float[capacity]);
}

void ReplayBuffer::add(const std::vector<double>& obs, const float* action, double reward,
                       const std::vector<double>& next_obs, bool terminated) {
  float* o = obs_.get() + next_ * obs_dim_;
  float* no = next_obs_.get() + next_ * obs_dim_;
  for (int i = 0; i < obs_dim_; ++i) {
    o[i] = static_cast<float>(obs[i]);
    no[i] = static_cast<float>(next_obs[i]);
  }
  std::memcpy(action_.get() + next_ * act_dim_, action, sizeof(float) * act_dim_);
  reward_[next_] = static_cast<float>(reward);
  terminated_[next_] = terminated ? 1.0f : 0.0f;
  next_ = (next_ + 1) % capacity_;
  if (size_ < capacity_) ++size_;
}

void ReplayBuffer::sample_indices(Rng& rng, int n, std::vector<int64_t>& indices) const {
  indices.resize(n);
  for (int i = 0; i < n; ++i) indices[i] = static_cast<int64_t>(rng.below(size_));
}

void ReplayBuffer::gather(const std::vector<int64_t>& indices, float* obs, float* action,
                          float* reward, float* next_obs, float* terminated) const {
  const size_t ob = sizeof(float) * obs_dim_, ab = sizeof(float) * act_dim_;
  for (size_t k = 0; k < indices.size(); ++k) {
    const int64_t i = indices[k];
    std::memcpy(obs + k * obs_dim_, obs_.get() + i * obs_dim_, ob);
    std::memcpy(next_obs + k * obs_dim_, next_obs_.get() + i * obs_dim_, ob);
    std::memcpy(action + k * act_dim_, action_.get() + i * act_dim_, ab);
    reward[k] = reward_[i];
    terminated[k] = terminated_[i];
  }
}

void ReplayBuffer::save(ArchiveWriter& out) const {
  out.tag("replay");
  out.i64(capacity_);
  out.i64(obs_dim_);
  out.i64(act_dim_);
  out.i64(size_);
  out.i64(next_);
  out.floats(obs_.get(), size_ * obs_dim_);
  out.floats(action_.get(), size_ * act_dim_);
  out.floats(reward_.get(), size_);
  out.floats(next_obs_.get(), size_ * obs_dim_);
  out.floats(terminated_.get(), size_);
}

void ReplayBuffer::load(ArchiveReader& in) {
  in.expect_tag("replay");
  const int64_t capacity = in.i64(), obs_dim = in.i64(), act_dim = in.i64();
  if (capacity != capacity_ || obs_dim != obs_dim_ || act_dim != act_dim_) {
    throw Error("'" + in.what() + "': replay buffer is " + std::to_string(capacity) + " x (" +
                std::to_string(obs_dim) + ", " + std::to_string(act_dim) + "), this run expects " +
                std::to_string(capacity_) + " x (" + std::to_string(obs_dim_) + ", " +
                std::to_string(act_dim_) + ")");
  }
  const int64_t size = in.i64(), next = in.i64();
  if (size < 0 || size > capacity_ || next < 0 || next >= capacity_) {
    throw Error("'" + in.what() + "': replay buffer counters are out of range");
  }
  size_ = size;
  next_ = next;
  in.floats(obs_.get(), size_ * obs_dim_, "replay obs");
  in.floats(action_.get(), size_ * act_dim_, "replay actions");
  in.floats(reward_.get(), size_, "replay rewards");
  in.floats(next_obs_.get(), size_ * obs_dim_, "replay next_obs");
  in.floats(terminated_.get(), size_, "replay terminated");
}

}  // namespace ddpg
