// ReplayBuffer: see replay_buffer.h.
#include "ddpg/replay_buffer.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace ddpg {
namespace {

// An array of n floats, untouched, so that the OS commits pages only as they fill. Large ones are
// 2 MiB aligned and advised for transparent huge pages (where the kernel's mode is "madvise"): a
// filling replay then takes one page fault per 2 MiB instead of one per 4 KiB.
float* untouched_floats(int64_t n) {
  const size_t bytes = static_cast<size_t>(n) * sizeof(float);
  const size_t huge = size_t{2} << 20;
  if (bytes < huge) return static_cast<float*>(std::malloc(std::max<size_t>(bytes, 1)));
  void* p = std::aligned_alloc(huge, (bytes + huge - 1) / huge * huge);
  if (p) ::madvise(p, bytes, MADV_HUGEPAGE);  // (a hint: ignored where unsupported)
  return static_cast<float*>(p);
}

}  // namespace

void ReplayBuffer::FreeFloats::operator()(float* p) const { std::free(p); }

ReplayBuffer::ReplayBuffer(int64_t capacity, int obs_dim, int act_dim)
    : capacity_(capacity), obs_dim_(obs_dim), act_dim_(act_dim) {
  if (capacity <= 0) throw Error("replay capacity must be positive");
  obs_.reset(untouched_floats(capacity * obs_dim));
  next_obs_.reset(untouched_floats(capacity * obs_dim));
  action_.reset(untouched_floats(capacity * act_dim));
  reward_.reset(untouched_floats(capacity));
  terminated_.reset(untouched_floats(capacity));
  discount_.reset(untouched_floats(capacity));
  if (!obs_ || !next_obs_ || !action_ || !reward_ || !terminated_ || !discount_) {
    throw Error("cannot allocate a replay of " + std::to_string(capacity) + " transitions");
  }
}

void ReplayBuffer::add(const std::vector<double>& obs, const float* action, double reward,
                       const std::vector<double>& next_obs, bool terminated, double discount) {
  float* o = obs_.get() + next_ * obs_dim_;
  float* no = next_obs_.get() + next_ * obs_dim_;
  for (int i = 0; i < obs_dim_; ++i) {
    o[i] = static_cast<float>(obs[i]);
    no[i] = static_cast<float>(next_obs[i]);
  }
  std::memcpy(action_.get() + next_ * act_dim_, action, sizeof(float) * act_dim_);
  reward_[next_] = static_cast<float>(reward);
  terminated_[next_] = terminated ? 1.0f : 0.0f;
  discount_[next_] = static_cast<float>(discount);
  next_ = (next_ + 1) % capacity_;
  if (size_ < capacity_) ++size_;
}

void ReplayBuffer::add(const float* obs, const float* action, float reward, const float* next_obs,
                       bool terminated, float discount) {
  std::memcpy(obs_.get() + next_ * obs_dim_, obs, sizeof(float) * obs_dim_);
  std::memcpy(next_obs_.get() + next_ * obs_dim_, next_obs, sizeof(float) * obs_dim_);
  std::memcpy(action_.get() + next_ * act_dim_, action, sizeof(float) * act_dim_);
  reward_[next_] = reward;
  terminated_[next_] = terminated ? 1.0f : 0.0f;
  discount_[next_] = discount;
  next_ = (next_ + 1) % capacity_;
  if (size_ < capacity_) ++size_;
}

void ReplayBuffer::sample_indices(Rng& rng, int n, std::vector<int64_t>& indices) const {
  indices.resize(n);
  for (int i = 0; i < n; ++i) indices[i] = static_cast<int64_t>(rng.below(size_));
}

void ReplayBuffer::gather(const std::vector<int64_t>& indices, float* obs, float* action,
                          float* reward, float* next_obs, float* terminated,
                          float* discount) const {
  const size_t ob = sizeof(float) * obs_dim_, ab = sizeof(float) * act_dim_;
  for (size_t k = 0; k < indices.size(); ++k) {
    const int64_t i = indices[k];
    std::memcpy(obs + k * obs_dim_, obs_.get() + i * obs_dim_, ob);
    std::memcpy(next_obs + k * obs_dim_, next_obs_.get() + i * obs_dim_, ob);
    std::memcpy(action + k * act_dim_, action_.get() + i * act_dim_, ab);
    reward[k] = reward_[i];
    terminated[k] = terminated_[i];
    discount[k] = discount_[i];
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
  out.floats(discount_.get(), size_);
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
  in.floats(discount_.get(), size_, "replay discount");
}

NStepAccumulator::NStepAccumulator(int n, double gamma, int obs_dim, int act_dim)
    : n_(n),
      obs_dim_(obs_dim),
      act_dim_(act_dim),
      gamma_(gamma),
      obs_(n, std::vector<double>(obs_dim)),
      action_(n, std::vector<float>(act_dim)),
      ret_(n),
      discount_(n) {
  if (n < 1) throw Error("n-step returns need n >= 1");
}

void NStepAccumulator::add(const std::vector<double>& obs, const float* action, double reward,
                           const std::vector<double>& next_obs, bool terminated, bool episode_end,
                           ReplayBuffer& replay) {
  // every pending transition gains this reward, discounted by its age
  for (int j = 0; j < count_; ++j) {
    const int i = (head_ + j) % n_;
    ret_[i] += discount_[i] * reward;
    discount_[i] *= gamma_;
  }
  const int slot = (head_ + count_) % n_;
  obs_[slot] = obs;
  std::memcpy(action_[slot].data(), action, sizeof(float) * act_dim_);
  ret_[slot] = reward;
  discount_[slot] = gamma_;
  ++count_;
  if (count_ == n_) emit_front(next_obs, terminated, replay);
  if (episode_end) {
    while (count_ > 0) emit_front(next_obs, terminated, replay);
    head_ = 0;
  }
}

void NStepAccumulator::emit_front(const std::vector<double>& next_obs, bool terminated,
                                  ReplayBuffer& replay) {
  replay.add(obs_[head_], action_[head_].data(), ret_[head_], next_obs, terminated,
             discount_[head_]);
  head_ = (head_ + 1) % n_;
  --count_;
}

void NStepAccumulator::save(ArchiveWriter& out) const {
  out.tag("nstep");
  out.i64(n_);
  out.i64(head_);
  out.i64(count_);
  for (int i = 0; i < n_; ++i) {
    out.doubles(obs_[i]);
    out.floats(action_[i].data(), act_dim_);
  }
  out.doubles(ret_);
  out.doubles(discount_);
}

void NStepAccumulator::load(ArchiveReader& in) {
  in.expect_tag("nstep");
  if (in.i64() != n_) throw Error("'" + in.what() + "': n-step setting differs from this run");
  head_ = static_cast<int>(in.i64());
  count_ = static_cast<int>(in.i64());
  if (head_ < 0 || head_ >= n_ || count_ < 0 || count_ > n_) {
    throw Error("'" + in.what() + "': n-step counters out of range");
  }
  for (int i = 0; i < n_; ++i) {
    in.doubles(obs_[i].data(), obs_dim_, "n-step obs");
    in.floats(action_[i].data(), act_dim_, "n-step action");
  }
  in.doubles(ret_.data(), n_, "n-step returns");
  in.doubles(discount_.data(), n_, "n-step discounts");
}

}  // namespace ddpg
