// Reacher, Pusher, InvertedPendulum and InvertedDoublePendulum, v4 and v5: see mujoco_envs.h and
// ENVIRONMENTS.md section 1. The v4 classes of these tasks take no keyword options.
#include <cmath>

#include "envs/mujoco/mujoco_envs.h"

namespace ddpg {
namespace {

double distance(const double* a, const double* b) {
  const double dx = a[0] - b[0], dy = a[1] - b[1], dz = a[2] - b[2];
  return std::sqrt(dx * dx + dy * dy + dz * dz);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Reacher (reacher_v4.py, reacher_v5.py)

Reacher::Reacher(int version, EnvOptions& options)
    : MujocoEnv("Reacher", version, "reacher.xml", frame_skip_option(options, version, 2), 50) {
  if (version == 5) {
    reward_dist_weight_ = options.get_double("reward_dist_weight", 1.0);
    reward_control_weight_ = options.get_double("reward_control_weight", 1.0);
  }
  fingertip_ = body_id("fingertip");
  target_ = body_id("target");
  // cos, sin of the 2 arm angles, target x, y, 2 arm velocities, fingertip − target (v4: x, y, z).
  set_obs_dim(version == 4 ? 11 : 10);
  set_term_names({"reward_dist", "reward_ctrl"});
}

double Reacher::distance() const {
  return ddpg::distance(data_->xpos + 3 * fingertip_, data_->xpos + 3 * target_);
}

StepResult Reacher::do_step(const std::vector<double>& action) {
  // v4 rewards the state the action was taken in; v5 the state it led to.
  if (version() == 5) do_simulation(action);
  const double reward_dist = -distance() * reward_dist_weight_;
  const double reward_ctrl = -sum_squares(action.data(), model_->nu) * reward_control_weight_;
  if (version() == 4) do_simulation(action);
  write_obs();
  RewardTerms& t = terms();
  t[0].second = reward_dist;
  t[1].second = reward_ctrl;
  return {reward_dist + reward_ctrl, false, false};
}

void Reacher::reset_model() {
  double* qpos = data_->qpos;
  double* qvel = data_->qvel;
  const int nq = model_->nq, nv = model_->nv;
  add_uniform(qpos, nq, -0.1, 0.1);
  // The goal is uniform on the disc of radius 0.2, by rejection from the square.
  double gx = 0.0, gy = 0.0;
  do {
    gx = rng_.uniform(-0.2, 0.2);
    gy = rng_.uniform(-0.2, 0.2);
  } while (!(std::sqrt(gx * gx + gy * gy) < 0.2));
  qpos[nq - 2] = gx;
  qpos[nq - 1] = gy;
  add_uniform(qvel, nv, -0.005, 0.005);
  qvel[nv - 2] = 0.0;
  qvel[nv - 1] = 0.0;
}

void Reacher::write_obs() {
  const double* qpos = data_->qpos;
  const double* tip = data_->xpos + 3 * fingertip_;
  const double* target = data_->xpos + 3 * target_;
  ObsWriter w(obs_);
  w.put(std::cos(qpos[0]));
  w.put(std::cos(qpos[1]));
  w.put(std::sin(qpos[0]));
  w.put(std::sin(qpos[1]));
  w.put(qpos + 2, model_->nq - 2);
  w.put(data_->qvel, 2);
  for (int k = 0; k < (version() == 4 ? 3 : 2); ++k) w.put(tip[k] - target[k]);
}

// ---------------------------------------------------------------------------------------------
// Pusher (pusher_v4.py, pusher_v5.py)

Pusher::Pusher(int version, EnvOptions& options)
    // v5's model: a denser object cylinder and no object sphere geom.
    : MujocoEnv("Pusher", version, version == 4 ? "pusher.xml" : "pusher_v5.xml",
                frame_skip_option(options, version, 5), 100) {
  if (version == 5) {
    reward_near_weight_ = options.get_double("reward_near_weight", 0.5);
    reward_dist_weight_ = options.get_double("reward_dist_weight", 1.0);
    reward_control_weight_ = options.get_double("reward_control_weight", 0.1);
  }
  tips_arm_ = body_id("tips_arm");
  object_ = body_id("object");
  goal_ = body_id("goal");
  set_obs_dim(23);  // qpos[:7], qvel[:7], xpos of tips_arm, object, goal
  set_term_names({"reward_dist", "reward_ctrl", "reward_near"});
}

double Pusher::reward(const std::vector<double>& action) {
  const double* object = data_->xpos + 3 * object_;
  const double reward_near = -distance(object, data_->xpos + 3 * tips_arm_) * reward_near_weight_;
  const double reward_dist = -distance(object, data_->xpos + 3 * goal_) * reward_dist_weight_;
  const double reward_ctrl = -sum_squares(action.data(), model_->nu) * reward_control_weight_;
  RewardTerms& t = terms();
  t[0].second = reward_dist;
  t[1].second = reward_ctrl;
  t[2].second = reward_near;
  return reward_dist + reward_ctrl + reward_near;
}

StepResult Pusher::do_step(const std::vector<double>& action) {
  // v4 rewards the state the action was taken in; v5 the state it led to.
  double r = 0.0;
  if (version() == 4) r = reward(action);
  do_simulation(action);
  if (version() == 5) r = reward(action);
  write_obs();
  return {r, false, false};
}

void Pusher::reset_model() {
  double* qpos = data_->qpos;
  double* qvel = data_->qvel;
  const int nq = model_->nq, nv = model_->nv;
  // The arm starts exactly at init_qpos; the cylinder anywhere in its box farther than 0.17 from
  // the goal at the origin.
  double cx = 0.0, cy = 0.0;
  do {
    cx = rng_.uniform(-0.3, 0.0);
    cy = rng_.uniform(-0.2, 0.2);
  } while (!(std::sqrt(cx * cx + cy * cy) > 0.17));
  qpos[nq - 4] = cx;
  qpos[nq - 3] = cy;
  qpos[nq - 2] = 0.0;
  qpos[nq - 1] = 0.0;
  add_uniform(qvel, nv, -0.005, 0.005);
  for (int i = nv - 4; i < nv; ++i) qvel[i] = 0.0;
}

void Pusher::write_obs() {
  ObsWriter w(obs_);
  w.put(data_->qpos, 7);
  w.put(data_->qvel, 7);
  w.put(data_->xpos + 3 * tips_arm_, 3);
  w.put(data_->xpos + 3 * object_, 3);
  w.put(data_->xpos + 3 * goal_, 3);
}

// ---------------------------------------------------------------------------------------------
// InvertedPendulum (inverted_pendulum_v4.py, inverted_pendulum_v5.py)

InvertedPendulum::InvertedPendulum(int version, EnvOptions& options)
    : MujocoEnv("InvertedPendulum", version, "inverted_pendulum.xml",
                frame_skip_option(options, version, 2), 1000) {
  if (version == 5) reset_noise_scale_ = options.get_double("reset_noise_scale", 0.01);
  set_obs_dim(model_->nq + model_->nv);
  set_term_names({"reward_survive"});
}

StepResult InvertedPendulum::do_step(const std::vector<double>& action) {
  do_simulation(action);
  write_obs();
  // A non-finite observation already raised an error in do_simulation.
  const bool terminated = std::fabs(data_->qpos[1]) > 0.2;
  // v4 pays 1 on every step, the terminating one included; v5 pays 0 there.
  const double reward = version() == 4 || !terminated ? 1.0 : 0.0;
  terms()[0].second = reward;
  return {reward, terminated, false};
}

void InvertedPendulum::reset_model() {
  add_uniform(data_->qpos, model_->nq, -reset_noise_scale_, reset_noise_scale_);
  add_uniform(data_->qvel, model_->nv, -reset_noise_scale_, reset_noise_scale_);
}

void InvertedPendulum::write_obs() {
  ObsWriter w(obs_);
  w.put(data_->qpos, model_->nq);
  w.put(data_->qvel, model_->nv);
}

// ---------------------------------------------------------------------------------------------
// InvertedDoublePendulum (inverted_double_pendulum_v4.py, inverted_double_pendulum_v5.py)

InvertedDoublePendulum::InvertedDoublePendulum(int version, EnvOptions& options)
    : MujocoEnv("InvertedDoublePendulum", version, "inverted_double_pendulum.xml",
                frame_skip_option(options, version, 5), 1000) {
  if (version == 5) {
    healthy_reward_ = options.get_double("healthy_reward", 10.0);
    reset_noise_scale_ = options.get_double("reset_noise_scale", 0.1);
  }
  tip_ = site_id("tip");
  // x, sin and cos of the 2 hinges, 3 clipped velocities, clipped constraint forces (v4: all 3
  // dofs; v5: the slider only, the hinges' being always zero).
  set_obs_dim(version == 4 ? 11 : 9);
  set_term_names({"reward_survive", "distance_penalty", "velocity_penalty"});
}

StepResult InvertedDoublePendulum::do_step(const std::vector<double>& action) {
  do_simulation(action);
  // The tip site's position from the last sub-step's kinematics.
  const double x = data_->site_xpos[3 * tip_];
  const double y = data_->site_xpos[3 * tip_ + 2];
  write_obs();
  const bool terminated = y <= 1.0;
  const double v1 = data_->qvel[1], v2 = data_->qvel[2];
  const double dist_penalty = 0.01 * x * x + (y - 2.0) * (y - 2.0);
  const double vel_penalty = 1e-3 * v1 * v1 + 5e-3 * v2 * v2;
  // v4 pays the alive bonus on every step, the terminating one included.
  const double alive_bonus = version() == 4 || !terminated ? healthy_reward_ : 0.0;
  RewardTerms& t = terms();
  t[0].second = alive_bonus;
  t[1].second = -dist_penalty;
  t[2].second = -vel_penalty;
  return {alive_bonus - dist_penalty - vel_penalty, terminated, false};
}

void InvertedDoublePendulum::reset_model() {
  add_uniform(data_->qpos, model_->nq, -reset_noise_scale_, reset_noise_scale_);
  add_normal(data_->qvel, model_->nv, reset_noise_scale_);
}

void InvertedDoublePendulum::write_obs() {
  const double* qpos = data_->qpos;
  ObsWriter w(obs_);
  w.put(qpos[0]);
  w.put(std::sin(qpos[1]));
  w.put(std::sin(qpos[2]));
  w.put(std::cos(qpos[1]));
  w.put(std::cos(qpos[2]));
  w.put_clipped(data_->qvel, model_->nv, -10.0, 10.0);
  w.put_clipped(data_->qfrc_constraint, version() == 4 ? model_->nv : 1, -10.0, 10.0);
}

}  // namespace ddpg
