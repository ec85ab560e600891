// ObsNormalizer: running mean and variance of observations (Welford/Chan's parallel update, in
// float64), used to feed the networks (obs − mean) / sqrt(var + eps), clipped to ±clip, as
// OpenAI Baselines' DDPG and SB3's VecNormalize do. The statistics are part of the training state
// (saved in checkpoints) and of a deployed policy (saved in policy files).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "ddpg/io.h"

namespace ddpg {

class ObsNormalizer {
 public:
  ObsNormalizer() = default;
  ObsNormalizer(int dim, double clip, double eps = 1e-8)
      : mean_(dim, 0.0), m2_(dim, 0.0), clip_(clip), eps_(eps) {}

  void update(const std::vector<double>& obs) {
    count_ += 1.0;
    for (size_t i = 0; i < mean_.size(); ++i) {
      const double d = obs[i] - mean_[i];
      mean_[i] += d / count_;
      m2_[i] += d * (obs[i] - mean_[i]);
    }
  }
  // Adds the statistics of another set of observations (Chan et al.'s parallel update): the
  // result is that of one update() per observation of both sets, up to rounding.
  void merge(const ObsNormalizer& o) {
    if (o.count_ <= 0) return;
    if (count_ <= 0) {
      mean_ = o.mean_;
      m2_ = o.m2_;
      count_ = o.count_;
      return;
    }
    const double n = count_ + o.count_;
    for (size_t i = 0; i < mean_.size(); ++i) {
      const double d = o.mean_[i] - mean_[i];
      mean_[i] += d * o.count_ / n;
      m2_[i] += o.m2_[i] + d * d * count_ * o.count_ / n;
    }
    count_ = n;
  }
  // Forgets every observation.
  void clear() {
    count_ = 0;
    std::fill(mean_.begin(), mean_.end(), 0.0);
    std::fill(m2_.begin(), m2_.end(), 0.0);
  }
  // The raw statistics (count, means, sums of squared deviations), for messages.
  const std::vector<double>& means() const { return mean_; }
  const std::vector<double>& squared_deviations() const { return m2_; }
  void set(double count, const double* mean, const double* m2) {
    count_ = count;
    std::copy(mean, mean + mean_.size(), mean_.begin());
    std::copy(m2, m2 + m2_.size(), m2_.begin());
  }
  double variance(int i) const { return count_ > 0 ? m2_[i] / count_ : 1.0; }
  double mean(int i) const { return mean_[i]; }
  double clip() const { return clip_; }
  double count() const { return count_; }
  int dim() const { return static_cast<int>(mean_.size()); }
  // Writes the normalised observation as floats.
  void normalize(const double* obs, float* out) const {
    for (size_t i = 0; i < mean_.size(); ++i) {
      const double z = (obs[i] - mean_[i]) / std::sqrt(variance(i) + eps_);
      out[i] = static_cast<float>(std::fmax(-clip_, std::fmin(clip_, z)));
    }
  }
  // mean and 1/std as floats, for applying the same map to batches.
  void affine(float* mean, float* inv_std) const {
    for (size_t i = 0; i < mean_.size(); ++i) {
      mean[i] = static_cast<float>(mean_[i]);
      inv_std[i] = static_cast<float>(1.0 / std::sqrt(variance(i) + eps_));
    }
  }

  void save(ArchiveWriter& out) const {
    out.tag("obs_norm");
    out.f64(count_);
    out.f64(clip_);
    out.doubles(mean_);
    out.doubles(m2_);
  }
  void load(ArchiveReader& in) {
    in.expect_tag("obs_norm");
    count_ = in.f64();
    clip_ = in.f64();
    in.doubles(mean_.data(), mean_.size(), "observation mean");
    in.doubles(m2_.data(), m2_.size(), "observation variance");
  }

 private:
  std::vector<double> mean_, m2_;
  double count_ = 0.0;
  double clip_ = 5.0;
  double eps_ = 1e-8;
};

}  // namespace ddpg
