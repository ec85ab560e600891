// ReacherBulletEnv-v0 (gym_manipulator_envs.py, robot_manipulators.py): a two-link planar arm
// without gravity (one 0.0165 s step per env step) reaches a target placed by two slides. Torque
// 0.05 a per joint. The angles come from current_relative_position, including pybullet_envs'
// quirk for the unlimited central joint (reported range 1/0): theta = 1 - 2 q, theta_dot = 0.1 q̇.
// Reward: change of -100 ‖fingertip - target‖ (3-D), an action cost, and -0.1 when the elbow
// sits at |gamma| = 1 (its limit). Never terminates; 150-step limit.
#include <algorithm>
#include <cmath>

#include "envs/bullet/bullet_env.h"

namespace ddpg {
namespace {

constexpr double kTargetLimit = 0.27;

class ReacherBulletEnv : public BulletEnv {
 public:
  ReacherBulletEnv() : BulletEnv(/*gravity=*/0.0, 0.0165, 1) {
    world_.load_mjcf("reacher.xml");
    central_ = joint("joint0");
    elbow_ = joint("joint1");
    target_x_ = joint("target_x");
    target_y_ = joint("target_y");
    fingertip_ = part("fingertip");
    target_ = part("target");
    spec_.id = "ReacherBulletEnv-v0";
    spec_.obs_dim = 9;
    spec_.act_dim = 2;
    spec_.obs_low.assign(9, -INFINITY);
    spec_.obs_high.assign(9, INFINITY);
    spec_.act_low = {-1.0, -1.0};
    spec_.act_high = {1.0, 1.0};
    spec_.max_episode_steps = 150;
    obs_.assign(9, 0.0);
    set_term_names({"progress", "electricity_cost", "stuck_joint_cost"});
  }

 protected:
  void do_reset() override {
    world_.restore_initial_state();
    target_x_.reset(rng_.uniform(-kTargetLimit, kTargetLimit), 0.0);
    target_y_.reset(rng_.uniform(-kTargetLimit, kTargetLimit), 0.0);
    central_.reset(rng_.uniform(-3.14, 3.14), 0.0);
    elbow_.reset(rng_.uniform(-3.14, 3.14), 0.0);
    world_.refresh_kinematics();
    calc_state();
    potential_ = calc_potential();
  }

  StepResult do_step(const std::vector<double>& action) override {
    central_.add_torque(0.05 * std::clamp(action[0], -1.0, 1.0));
    elbow_.add_torque(0.05 * std::clamp(action[1], -1.0, 1.0));
    world_.step();
    calc_state();
    const double potential_old = potential_;
    potential_ = calc_potential();
    const double a0 = action[0], a1 = action[1];
    const double electricity = -0.10 * (std::abs(a0 * theta_dot_) + std::abs(a1 * gamma_dot_)) -
                               0.01 * (std::abs(a0) + std::abs(a1));
    const double stuck = std::abs(std::abs(gamma_) - 1.0) < 0.01 ? -0.1 : 0.0;
    RewardTerms& t = terms();
    t[0].second = potential_ - potential_old;
    t[1].second = electricity;
    t[2].second = stuck;
    StepResult r;
    r.reward = t[0].second + electricity + stuck;
    return r;
  }

  void save_task(ArchiveWriter& out) const override { out.f64(potential_); }
  void load_task(ArchiveReader& in) override {
    potential_ = in.f64();
    calc_state();
  }

 private:
  void calc_state() {
    const double theta = central_.rel_pos();
    theta_dot_ = central_.rel_vel();
    gamma_ = elbow_.rel_pos();
    gamma_dot_ = elbow_.rel_vel();
    to_target_ = fingertip_.com_frame().getOrigin() - target_.com_frame().getOrigin();
    double* o = obs_.data();
    o[0] = target_x_.q();
    o[1] = target_y_.q();
    o[2] = to_target_.x();
    o[3] = to_target_.y();
    o[4] = std::cos(theta);
    o[5] = std::sin(theta);
    o[6] = theta_dot_;
    o[7] = gamma_;
    o[8] = gamma_dot_;
  }
  double calc_potential() const { return -100.0 * to_target_.length(); }

  BulletJoint central_, elbow_, target_x_, target_y_;
  BulletPart fingertip_, target_;
  double theta_dot_ = 0.0, gamma_ = 0.0, gamma_dot_ = 0.0, potential_ = 0.0;
  btVector3 to_target_{0, 0, 0};
};

}  // namespace

std::unique_ptr<Env> make_bullet_reacher(EnvOptions& /*options*/) {
  return std::make_unique<ReacherBulletEnv>();
}

}  // namespace ddpg
