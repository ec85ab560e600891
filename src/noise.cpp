// Exploration noise processes: see noise.h.
#include "ddpg/noise.h"

#include <cmath>

namespace ddpg {

void ActionNoise::save(ArchiveWriter& out) const {
  out.tag("noise:" + name());
  for (uint64_t w : rng_.state()) out.u64(w);
  save_extra(out);
}

void ActionNoise::load(ArchiveReader& in) {
  in.expect_tag("noise:" + name());
  Rng::State s;
  for (auto& w : s) w = in.u64();
  rng_.set_state(s);
  load_extra(in);
}

void GaussianNoise::add_to(float* action) {
  for (int i = 0; i < act_dim_; ++i) action[i] += static_cast<float>(sigma_ * rng_.normal());
}

OrnsteinUhlenbeckNoise::OrnsteinUhlenbeckNoise(int act_dim, double theta, double sigma, double dt,
                                               double mu, uint64_t seed)
    : ActionNoise(act_dim, seed), theta_(theta), sigma_(sigma), dt_(dt), mu_(mu), x_(act_dim, mu) {}

void OrnsteinUhlenbeckNoise::reset() { std::fill(x_.begin(), x_.end(), mu_); }

void OrnsteinUhlenbeckNoise::add_to(float* action) {
  const double s = sigma_ * std::sqrt(dt_);
  for (int i = 0; i < act_dim_; ++i) {
    x_[i] += theta_ * (mu_ - x_[i]) * dt_ + s * rng_.normal();
    action[i] += static_cast<float>(x_[i]);
  }
}

std::unique_ptr<ActionNoise> make_noise(const NoiseConfig& cfg, int act_dim, uint64_t seed) {
  if (cfg.type == "none" || cfg.type == "param") return std::make_unique<NoNoise>(act_dim, seed);
  if (cfg.type == "gaussian") return std::make_unique<GaussianNoise>(act_dim, cfg.sigma, seed);
  if (cfg.type == "ou") {
    return std::make_unique<OrnsteinUhlenbeckNoise>(act_dim, cfg.theta, cfg.sigma, cfg.dt, cfg.mu,
                                                    seed);
  }
  throw Error("noise.type '" + cfg.type + "' is not one of none, gaussian, ou");
}

}  // namespace ddpg
