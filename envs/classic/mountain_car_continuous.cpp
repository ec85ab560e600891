// MountainCarContinuous-v0: see mountain_car_continuous.h.
#include "envs/classic/mountain_car_continuous.h"

#include <algorithm>
#include <cmath>

namespace ddpg {

MountainCarContinuous::MountainCarContinuous(EnvOptions& options) {
  goal_velocity_ = options.get_double("goal_velocity", 0.0);
  spec_.id = "MountainCarContinuous-v0";
  spec_.obs_dim = 2;
  spec_.act_dim = 1;
  spec_.obs_low = {kMinPosition, -kMaxSpeed};
  spec_.obs_high = {kMaxPosition, kMaxSpeed};
  spec_.act_low = {-1.0};
  spec_.act_high = {1.0};
  spec_.max_episode_steps = 999;
  obs_.assign(2, 0.0);
}

void MountainCarContinuous::set_state(double x, double v) {
  x_ = x;
  v_ = v;
  write_obs();
}

void MountainCarContinuous::write_obs() {
  obs_[0] = round_to_float32(x_);
  obs_[1] = round_to_float32(v_);
}

void MountainCarContinuous::do_reset() {
  // Reset keeps the state in float64; only the observation is float32.
  x_ = rng_.uniform(-0.6, -0.4);
  v_ = 0.0;
  write_obs();
}

StepResult MountainCarContinuous::do_step(const std::vector<double>& action) {
  const double a = action[0];
  const double force = std::clamp(a, -1.0, 1.0);
  double x = x_, v = v_;
  v += force * kPower - 0.0025 * std::cos(3.0 * x);
  v = std::clamp(v, -kMaxSpeed, kMaxSpeed);
  x += v;
  x = std::clamp(x, kMinPosition, kMaxPosition);
  if (x == kMinPosition && v < 0) v = 0;
  StepResult r;
  r.terminated = x >= kGoalPosition && v >= goal_velocity_;
  const double goal = r.terminated ? 100.0 : 0.0;
  const double ctrl = -0.1 * a * a;  // unclipped action
  r.reward = goal + ctrl;
  terms_ = {{"reward_goal", goal}, {"reward_ctrl", ctrl}};
  // Gymnasium stores the state as float32 after each step.
  x_ = round_to_float32(x);
  v_ = round_to_float32(v);
  write_obs();
  return r;
}

void MountainCarContinuous::save_physics(ArchiveWriter& out) const {
  out.f64(x_);
  out.f64(v_);
}

void MountainCarContinuous::load_physics(ArchiveReader& in) {
  x_ = in.f64();
  v_ = in.f64();
}

}  // namespace ddpg
