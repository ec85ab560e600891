// HalfCheetah, Hopper, Walker2d, Ant and Swimmer, v4 and v5: see mujoco_envs.h, and
// ENVIRONMENTS.md section 1 for the Gymnasium sources each line follows.
#include <cmath>

#include "envs/mujoco/mujoco_envs.h"

namespace ddpg {

// ---------------------------------------------------------------------------------------------
// HalfCheetah (half_cheetah_v4.py, half_cheetah_v5.py: the physics is the same in both)

ForwardRunner::ForwardRunner(const std::string& task, int version, const std::string& xml,
                             int frame_skip, EnvOptions& options, double ctrl_cost_weight, int skip)
    : MujocoEnv(task, version, xml, frame_skip_option(options, version, frame_skip), 1000) {
  forward_reward_weight_ = options.get_double("forward_reward_weight", 1.0);
  ctrl_cost_weight_ = options.get_double("ctrl_cost_weight", ctrl_cost_weight);
  reset_noise_scale_ = options.get_double("reset_noise_scale", 0.1);
  skip_ = options.get_bool("exclude_current_positions_from_observation", true) ? skip : 0;
  set_obs_dim(model_->nq - skip_ + model_->nv);
  set_term_names({"reward_forward", "reward_ctrl"});
}

StepResult ForwardRunner::do_step(const std::vector<double>& action) {
  const double x_before = data_->qpos[0];
  do_simulation(action);
  const double x_velocity = (data_->qpos[0] - x_before) / dt();
  const double forward_reward = forward_reward_weight_ * x_velocity;
  const double ctrl_cost = ctrl_cost_weight_ * sum_squares(action.data(), model_->nu);
  write_obs();
  RewardTerms& t = terms();
  t[0].second = forward_reward;
  t[1].second = -ctrl_cost;
  return {forward_reward - ctrl_cost, false, false};
}

void ForwardRunner::write_obs() {
  ObsWriter w(obs_);
  w.put(data_->qpos + skip_, model_->nq - skip_);
  w.put(data_->qvel, model_->nv);
}

HalfCheetah::HalfCheetah(int version, EnvOptions& options)
    : ForwardRunner("HalfCheetah", version, "half_cheetah.xml", 5, options, 0.1, 1) {}

void HalfCheetah::reset_model() {
  add_uniform(data_->qpos, model_->nq, -reset_noise_scale_, reset_noise_scale_);
  add_normal(data_->qvel, model_->nv, reset_noise_scale_);
}

// ---------------------------------------------------------------------------------------------
// Hopper and Walker2d (hopper_v4/v5.py, walker2d_v4/v5.py)

PlanarRunner::PlanarRunner(const Defaults& defaults, int version, EnvOptions& options)
    : MujocoEnv(defaults.task, version, version == 4 ? defaults.xml_v4 : defaults.xml_v5,
                frame_skip_option(options, version, 4), 1000) {
  forward_reward_weight_ = options.get_double("forward_reward_weight", 1.0);
  ctrl_cost_weight_ = options.get_double("ctrl_cost_weight", 1e-3);
  healthy_reward_ = options.get_double("healthy_reward", 1.0);
  terminate_when_unhealthy_ = options.get_bool("terminate_when_unhealthy", true);
  healthy_z_range_ = range_option(options, "healthy_z_range", defaults.healthy_z_range);
  healthy_angle_range_ = range_option(options, "healthy_angle_range", defaults.healthy_angle_range);
  reset_noise_scale_ = options.get_double("reset_noise_scale", 5e-3);
  exclude_current_positions_ = options.get_bool("exclude_current_positions_from_observation", true);
  set_obs_dim(model_->nq - (exclude_current_positions_ ? 1 : 0) + model_->nv);
  set_term_names({"reward_forward", "reward_ctrl", "reward_survive"});
}

StepResult PlanarRunner::do_step(const std::vector<double>& action) {
  const double x_before = data_->qpos[0];
  do_simulation(action);
  const double x_velocity = (data_->qpos[0] - x_before) / dt();
  const bool healthy = is_healthy();
  const double forward_reward = forward_reward_weight_ * x_velocity;
  const double survive = healthy_reward(healthy, terminate_when_unhealthy_, healthy_reward_);
  const double ctrl_cost = ctrl_cost_weight_ * sum_squares(action.data(), model_->nu);
  write_obs();
  RewardTerms& t = terms();
  t[0].second = forward_reward;
  t[1].second = -ctrl_cost;
  t[2].second = survive;
  return {forward_reward + survive - ctrl_cost, !healthy && terminate_when_unhealthy_, false};
}

void PlanarRunner::reset_model() {
  add_uniform(data_->qpos, model_->nq, -reset_noise_scale_, reset_noise_scale_);
  add_uniform(data_->qvel, model_->nv, -reset_noise_scale_, reset_noise_scale_);
}

void PlanarRunner::write_obs() {
  ObsWriter w(obs_);
  const int skip = exclude_current_positions_ ? 1 : 0;
  w.put(data_->qpos + skip, model_->nq - skip);
  w.put_clipped(data_->qvel, model_->nv, -10.0, 10.0);
}

namespace {

bool strictly_inside(double x, const std::pair<double, double>& range) {
  return range.first < x && x < range.second;
}

}  // namespace

Hopper::Hopper(int version, EnvOptions& options)
    : PlanarRunner({"Hopper", "hopper.xml", "hopper.xml", {0.7, INFINITY}, {-0.2, 0.2}}, version,
                   options) {
  healthy_state_range_ = range_option(options, "healthy_state_range", {-100.0, 100.0});
}

bool Hopper::is_healthy() const {
  // state_vector()[2:] is qpos[2:] followed by all of qvel.
  for (int i = 2; i < model_->nq; ++i) {
    if (!strictly_inside(data_->qpos[i], healthy_state_range_)) return false;
  }
  for (int i = 0; i < model_->nv; ++i) {
    if (!strictly_inside(data_->qvel[i], healthy_state_range_)) return false;
  }
  return strictly_inside(data_->qpos[1], healthy_z_range_) &&
         strictly_inside(data_->qpos[2], healthy_angle_range_);
}

Walker2d::Walker2d(int version, EnvOptions& options)
    // v5 uses walker2d_v5.xml: the right foot's friction 0.9 → 1.9.
    : PlanarRunner({"Walker2d", "walker2d.xml", "walker2d_v5.xml", {0.8, 2.0}, {-1.0, 1.0}},
                   version, options) {}

bool Walker2d::is_healthy() const {
  return strictly_inside(data_->qpos[1], healthy_z_range_) &&
         strictly_inside(data_->qpos[2], healthy_angle_range_);
}

// ---------------------------------------------------------------------------------------------
// Ant (ant_v4.py, ant_v5.py)

Ant::Ant(int version, EnvOptions& options)
    : MujocoEnv("Ant", version, "ant.xml", frame_skip_option(options, version, 5), 1000) {
  if (version == 5) forward_reward_weight_ = options.get_double("forward_reward_weight", 1.0);
  ctrl_cost_weight_ = options.get_double("ctrl_cost_weight", 0.5);
  contact_cost_weight_ = options.get_double("contact_cost_weight", 5e-4);
  healthy_reward_ = options.get_double("healthy_reward", 1.0);
  terminate_when_unhealthy_ = options.get_bool("terminate_when_unhealthy", true);
  healthy_z_range_ = range_option(options, "healthy_z_range", {0.2, 1.0});
  contact_force_range_ = range_option(options, "contact_force_range", {-1.0, 1.0});
  reset_noise_scale_ = options.get_double("reset_noise_scale", 0.1);
  exclude_current_positions_ = options.get_bool("exclude_current_positions_from_observation", true);
  if (version == 4) {
    // v4 observes and charges contact forces only on request, and then of all 14 bodies.
    use_contact_cost_ = options.get_bool("use_contact_forces", false);
    cfrc_obs_first_body_ = use_contact_cost_ ? 0 : -1;
    main_body_ = body_id("torso");
  } else {
    // v5 always charges them and observes bodies 1.. (the world body's row is always zero).
    use_contact_cost_ = true;
    cfrc_obs_first_body_ = options.get_bool("include_cfrc_ext_in_observation", true) ? 1 : -1;
    const std::string main_body = options.get_string("main_body", "1");
    const bool numeric = main_body.find_first_not_of("0123456789") == std::string::npos;
    main_body_ = numeric ? std::stoi(main_body) : body_id(main_body.c_str());
    if (main_body_ < 0 || main_body_ >= model_->nbody) {
      throw Error("Ant-v5: env option 'main_body' must be a body name or id in [0, " +
                  std::to_string(model_->nbody) + "), got '" + main_body + "'");
    }
  }
  const int cfrc_values = cfrc_obs_first_body_ < 0 ? 0 : 6 * (model_->nbody - cfrc_obs_first_body_);
  set_obs_dim(model_->nq - (exclude_current_positions_ ? 2 : 0) + model_->nv + cfrc_values);
  set_term_names({"reward_forward", "reward_ctrl", "reward_contact", "reward_survive"});
}

bool Ant::is_healthy() const {
  for (int i = 0; i < model_->nq; ++i) {
    if (!std::isfinite(data_->qpos[i])) return false;
  }
  for (int i = 0; i < model_->nv; ++i) {
    if (!std::isfinite(data_->qvel[i])) return false;
  }
  // Inclusive bounds, unlike the other tasks.
  const double z = data_->qpos[2];
  return healthy_z_range_.first <= z && z <= healthy_z_range_.second;
}

double Ant::contact_cost() const {
  double s = 0.0;
  for (int i = 0; i < 6 * model_->nbody; ++i) {
    const double f =
        clip(data_->cfrc_ext[i], contact_force_range_.first, contact_force_range_.second);
    s += f * f;
  }
  return contact_cost_weight_ * s;
}

StepResult Ant::do_step(const std::vector<double>& action) {
  // The torso's xpos, not qpos: the kinematics of the last sub-step (see mujoco_env.h).
  const double x_before = data_->xpos[3 * main_body_];
  do_simulation(action);
  const double x_velocity = (data_->xpos[3 * main_body_] - x_before) / dt();
  const bool healthy = is_healthy();
  const double forward_reward = forward_reward_weight_ * x_velocity;
  const double survive = healthy_reward(healthy, terminate_when_unhealthy_, healthy_reward_);
  const double ctrl_cost = ctrl_cost_weight_ * sum_squares(action.data(), model_->nu);
  const double contact = use_contact_cost_ ? contact_cost() : 0.0;
  write_obs();
  RewardTerms& t = terms();
  t[0].second = forward_reward;
  t[1].second = -ctrl_cost;
  t[2].second = -contact;
  t[3].second = survive;
  return {(forward_reward + survive) - (ctrl_cost + contact), !healthy && terminate_when_unhealthy_,
          false};
}

void Ant::reset_model() {
  // The noise also perturbs the free joint's quaternion, un-normalised, as Gymnasium does.
  add_uniform(data_->qpos, model_->nq, -reset_noise_scale_, reset_noise_scale_);
  add_normal(data_->qvel, model_->nv, reset_noise_scale_);
}

void Ant::write_obs() {
  ObsWriter w(obs_);
  const int skip = exclude_current_positions_ ? 2 : 0;
  w.put(data_->qpos + skip, model_->nq - skip);
  w.put(data_->qvel, model_->nv);
  if (cfrc_obs_first_body_ >= 0) {
    w.put_clipped(data_->cfrc_ext + 6 * cfrc_obs_first_body_,
                  6 * (model_->nbody - cfrc_obs_first_body_), contact_force_range_.first,
                  contact_force_range_.second);
  }
}

// ---------------------------------------------------------------------------------------------
// Swimmer (swimmer_v4.py, swimmer_v5.py)

Swimmer::Swimmer(int version, EnvOptions& options)
    : ForwardRunner("Swimmer", version, "swimmer.xml", 4, options, 1e-4, 2) {}

void Swimmer::reset_model() {
  add_uniform(data_->qpos, model_->nq, -reset_noise_scale_, reset_noise_scale_);
  add_uniform(data_->qvel, model_->nv, -reset_noise_scale_, reset_noise_scale_);
}

}  // namespace ddpg
