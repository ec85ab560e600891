// ActionNoise: exploration noise added to the actor's [-1, 1] action during training (never during
// evaluation). Each process owns its Rng, seeded from the run seed, and saves it with its state.
//
//   none      : zero.
//   gaussian  : ε ~ N(0, σ²) per dimension, independent across steps (TD3, SB3 "normal").
//   ou        : Ornstein-Uhlenbeck, x ← x + θ(μ − x)dt + σ√dt·N(0, 1) per dimension, reset to μ at
//               each episode start (Lillicrap et al. 2015; SB3's parameterisation with explicit dt:
//               dt = 1 gives rllab's x ← x + θ(μ − x) + σN).
//   param     : parameter-space noise lives in the agent (Agent::enable_param_noise); here it is
//               no action noise.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "ddpg/config.h"
#include "ddpg/io.h"
#include "ddpg/rng.h"

namespace ddpg {

class ActionNoise {
 public:
  virtual ~ActionNoise() = default;
  // Called at every episode start.
  virtual void reset() {}
  // Adds one noise sample to `action` (act_dim values).
  virtual void add_to(float* action) = 0;
  virtual std::string name() const = 0;
  // Changes σ (noise schedules); the process state is kept.
  virtual void set_sigma(double) {}

  void save(ArchiveWriter& out) const;
  void load(ArchiveReader& in);

 protected:
  ActionNoise(int act_dim, uint64_t seed) : act_dim_(act_dim), rng_(seed) {}
  virtual void save_extra(ArchiveWriter&) const {}
  virtual void load_extra(ArchiveReader&) {}
  int act_dim_;
  Rng rng_;
};

class NoNoise : public ActionNoise {
 public:
  NoNoise(int act_dim, uint64_t seed) : ActionNoise(act_dim, seed) {}
  void add_to(float*) override {}
  std::string name() const override { return "none"; }
};

class GaussianNoise : public ActionNoise {
 public:
  GaussianNoise(int act_dim, double sigma, uint64_t seed)
      : ActionNoise(act_dim, seed), sigma_(sigma) {}
  void add_to(float* action) override;
  std::string name() const override { return "gaussian"; }
  void set_sigma(double sigma) override { sigma_ = sigma; }

 private:
  double sigma_;
};

class OrnsteinUhlenbeckNoise : public ActionNoise {
 public:
  OrnsteinUhlenbeckNoise(int act_dim, double theta, double sigma, double dt, double mu,
                         uint64_t seed);
  void reset() override;
  void add_to(float* action) override;
  std::string name() const override { return "ou"; }
  void set_sigma(double sigma) override { sigma_ = sigma; }
  const std::vector<double>& state() const { return x_; }

 protected:
  void save_extra(ArchiveWriter& out) const override { out.doubles(x_); }
  void load_extra(ArchiveReader& in) override { in.doubles(x_.data(), x_.size(), "OU state"); }

 private:
  double theta_, sigma_, dt_, mu_;
  std::vector<double> x_;
};

std::unique_ptr<ActionNoise> make_noise(const NoiseConfig& cfg, int act_dim, uint64_t seed);

}  // namespace ddpg
