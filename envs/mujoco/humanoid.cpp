// Humanoid and HumanoidStandup, v4 and v5 (humanoid_v4/v5.py, humanoidstandup_v4/v5.py): see
// mujoco_envs.h and ENVIRONMENTS.md section 1.
#include <cmath>

#include "envs/mujoco/mujoco_envs.h"

namespace ddpg {

HumanoidBase::HumanoidBase(const char* task, const char* xml, int version, bool takes_options,
                           EnvOptions& options)
    : MujocoEnv(task, version, xml, frame_skip_option(options, version, 5), 1000) {
  reset_noise_scale_ = takes_options ? options.get_double("reset_noise_scale", 1e-2) : 1e-2;
  exclude_current_positions_ =
      !takes_options || options.get_bool("exclude_current_positions_from_observation", true);
  if (version == 5) {
    include_cinert_ = options.get_bool("include_cinert_in_observation", true);
    include_cvel_ = options.get_bool("include_cvel_in_observation", true);
    include_qfrc_actuator_ = options.get_bool("include_qfrc_actuator_in_observation", true);
    include_cfrc_ext_ = options.get_bool("include_cfrc_ext_in_observation", true);
  }
  // v5 drops the world body's rows and the free joint's 6 dofs, which are always zero.
  const int bodies = model_->nbody - (version == 5 ? 1 : 0);
  const int actuated_dofs = model_->nv - (version == 5 ? 6 : 0);
  set_obs_dim(model_->nq - (exclude_current_positions_ ? 2 : 0) + model_->nv +
              (include_cinert_ ? 10 * bodies : 0) + (include_cvel_ ? 6 * bodies : 0) +
              (include_qfrc_actuator_ ? actuated_dofs : 0) + (include_cfrc_ext_ ? 6 * bodies : 0));
}

void HumanoidBase::write_obs() {
  const int first_body = version() == 5 ? 1 : 0;
  const int first_dof = version() == 5 ? 6 : 0;
  const int bodies = model_->nbody - first_body;
  ObsWriter w(obs_);
  const int skip = exclude_current_positions_ ? 2 : 0;
  w.put(data_->qpos + skip, model_->nq - skip);
  w.put(data_->qvel, model_->nv);
  if (include_cinert_) w.put(data_->cinert + 10 * first_body, 10 * bodies);
  if (include_cvel_) w.put(data_->cvel + 6 * first_body, 6 * bodies);
  if (include_qfrc_actuator_) {
    w.put(data_->qfrc_actuator + first_dof, model_->nv - first_dof);
  }
  if (include_cfrc_ext_) w.put(data_->cfrc_ext + 6 * first_body, 6 * bodies);
}

void HumanoidBase::reset_model() {
  add_uniform(data_->qpos, model_->nq, -reset_noise_scale_, reset_noise_scale_);
  add_uniform(data_->qvel, model_->nv, -reset_noise_scale_, reset_noise_scale_);
}

// ---------------------------------------------------------------------------------------------
// Humanoid

Humanoid::Humanoid(int version, EnvOptions& options)
    : HumanoidBase("Humanoid", "humanoid.xml", version, true, options) {
  forward_reward_weight_ = options.get_double("forward_reward_weight", 1.25);
  ctrl_cost_weight_ = options.get_double("ctrl_cost_weight", 0.1);
  healthy_reward_ = options.get_double("healthy_reward", 5.0);
  terminate_when_unhealthy_ = options.get_bool("terminate_when_unhealthy", true);
  healthy_z_range_ = range_option(options, "healthy_z_range", {1.0, 2.0});
  if (version == 5) {
    // Restored in v5 from v3; v4 has no contact cost.
    contact_cost_weight_ = options.get_double("contact_cost_weight", 5e-7);
    contact_cost_range_ = range_option(options, "contact_cost_range", {-INFINITY, 10.0});
  }
  set_term_names({"reward_forward", "reward_ctrl", "reward_contact", "reward_survive"});
}

bool Humanoid::is_healthy() const {
  const double z = data_->qpos[2];
  return healthy_z_range_.first < z && z < healthy_z_range_.second;
}

std::pair<double, double> Humanoid::mass_center() const {
  double mass = 0.0, x = 0.0, y = 0.0;
  for (int b = 0; b < model_->nbody; ++b) {
    const double m = model_->body_mass[b];
    mass += m;
    x += m * data_->xipos[3 * b];
    y += m * data_->xipos[3 * b + 1];
  }
  return {x / mass, y / mass};
}

StepResult Humanoid::do_step(const std::vector<double>& action) {
  const double x_before = mass_center().first;
  do_simulation(action);
  const double x_velocity = (mass_center().first - x_before) / dt();
  write_obs();
  const bool healthy = is_healthy();
  const double forward_reward = forward_reward_weight_ * x_velocity;
  const double survive = healthy_reward(healthy, terminate_when_unhealthy_, healthy_reward_);
  // data.ctrl, i.e. the raw action (ctrl is never clipped in mjData).
  const double ctrl_cost = ctrl_cost_weight_ * sum_squares(data_->ctrl, model_->nu);
  const double contact_cost =
      version() == 5 ? clip(contact_cost_weight_ * sum_squares(data_->cfrc_ext, 6 * model_->nbody),
                            contact_cost_range_.first, contact_cost_range_.second)
                     : 0.0;
  RewardTerms& t = terms();
  t[0].second = forward_reward;
  t[1].second = -ctrl_cost;
  t[2].second = -contact_cost;
  t[3].second = survive;
  return {(forward_reward + survive) - (ctrl_cost + contact_cost),
          !healthy && terminate_when_unhealthy_, false};
}

// ---------------------------------------------------------------------------------------------
// HumanoidStandup

HumanoidStandup::HumanoidStandup(int version, EnvOptions& options)
    // HumanoidStandup-v4 takes no keyword options at all.
    : HumanoidBase("HumanoidStandup", "humanoidstandup.xml", version, version == 5, options) {
  if (version == 5) {
    // Gymnasium v5 stores uph_cost_weight but never uses it; accepted for compatibility.
    options.get_double("uph_cost_weight", 1.0);
    ctrl_cost_weight_ = options.get_double("ctrl_cost_weight", 0.1);
    impact_cost_weight_ = options.get_double("impact_cost_weight", 0.5e-6);
    impact_cost_range_ = range_option(options, "impact_cost_range", {-INFINITY, 10.0});
  }
  // reward_alive is the constant +1, which Gymnasium's info leaves out.
  set_term_names({"reward_linup", "reward_quadctrl", "reward_impact", "reward_alive"});
}

StepResult HumanoidStandup::do_step(const std::vector<double>& action) {
  do_simulation(action);
  // Divided by the MuJoCo timestep (0.003), not by dt, as in Gymnasium.
  const double uph_cost = data_->qpos[2] / model_->opt.timestep;
  const double ctrl_cost = ctrl_cost_weight_ * sum_squares(data_->ctrl, model_->nu);
  const double impact_cost =
      clip(impact_cost_weight_ * sum_squares(data_->cfrc_ext, 6 * model_->nbody),
           impact_cost_range_.first, impact_cost_range_.second);
  write_obs();
  RewardTerms& t = terms();
  t[0].second = uph_cost;
  t[1].second = -ctrl_cost;
  t[2].second = -impact_cost;
  t[3].second = 1.0;
  return {uph_cost - ctrl_cost - impact_cost + 1.0, false, false};
}

}  // namespace ddpg
