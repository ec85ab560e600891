// Pendulum-v1: see pendulum.h.
#include "envs/classic/pendulum.h"

#include <algorithm>
#include <cmath>

namespace ddpg {
namespace {

// Gymnasium's angle_normalize: ((x + pi) mod 2 pi) - pi, with Python's floor modulo.
double angle_normalize(double x) {
  const double two_pi = 2.0 * M_PI;
  double m = std::fmod(x + M_PI, two_pi);
  if (m < 0) m += two_pi;
  return m - M_PI;
}

}  // namespace

Pendulum::Pendulum(EnvOptions& options) {
  g_ = options.get_double("g", 10.0);
  spec_.id = "Pendulum-v1";
  spec_.obs_dim = 3;
  spec_.act_dim = 1;
  spec_.obs_low = {-1.0, -1.0, -kMaxSpeed};
  spec_.obs_high = {1.0, 1.0, kMaxSpeed};
  spec_.act_low = {-kMaxTorque};
  spec_.act_high = {kMaxTorque};
  spec_.max_episode_steps = 200;
  obs_.assign(3, 0.0);
}

void Pendulum::set_state(double th, double thdot) {
  th_ = th;
  thdot_ = thdot;
  write_obs();
}

void Pendulum::write_obs() {
  // float32 observation, as Gymnasium returns it.
  obs_[0] = round_to_float32(std::cos(th_));
  obs_[1] = round_to_float32(std::sin(th_));
  obs_[2] = round_to_float32(thdot_);
}

void Pendulum::do_reset() {
  th_ = rng_.uniform(-M_PI, M_PI);
  thdot_ = rng_.uniform(-1.0, 1.0);
  write_obs();
}

StepResult Pendulum::do_step(const std::vector<double>& action) {
  const double u = std::clamp(action[0], -kMaxTorque, kMaxTorque);
  // cost on the pre-step state
  const double angle = angle_normalize(th_);
  const double angle_cost = angle * angle;
  const double velocity_cost = 0.1 * thdot_ * thdot_;
  const double torque_cost = 0.001 * u * u;
  // semi-implicit Euler
  double new_thdot =
      thdot_ +
      (3.0 * g_ / (2.0 * kLength) * std::sin(th_) + 3.0 / (kMass * kLength * kLength) * u) * kDt;
  new_thdot = std::clamp(new_thdot, -kMaxSpeed, kMaxSpeed);
  th_ = th_ + new_thdot * kDt;
  thdot_ = new_thdot;
  write_obs();
  terms_ = {{"reward_angle", -angle_cost},
            {"reward_velocity", -velocity_cost},
            {"reward_ctrl", -torque_cost}};
  StepResult r;
  r.reward = -(angle_cost + velocity_cost + torque_cost);
  return r;
}

void Pendulum::save_physics(ArchiveWriter& out) const {
  out.f64(th_);
  out.f64(thdot_);
}

void Pendulum::load_physics(ArchiveReader& in) {
  th_ = in.f64();
  thdot_ = in.f64();
}

}  // namespace ddpg
