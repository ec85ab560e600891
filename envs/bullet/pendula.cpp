// The pybullet_envs pendula (gym_pendulum_envs.py, robot_pendula.py): InvertedPendulum, its
// Swingup variant and InvertedDoublePendulum, in SingleRobotEmptyScene (gravity 9.8, one
// 0.0165 s step per env step, no floor). A force on the slider drives the cart; the hinges are
// passive. Observations are float64 and carry raw joint velocities (current_position, not
// current_relative_position).
#include <algorithm>
#include <cmath>

#include "envs/bullet/bullet_env.h"

namespace ddpg {
namespace {

constexpr double kGravity = 9.8;
constexpr double kTimestep = 0.0165;

enum class Kind { kBalance, kSwingup, kDouble };

class PendulumBulletEnv : public BulletEnv {
 public:
  PendulumBulletEnv(const std::string& id, Kind kind)
      : BulletEnv(kGravity, kTimestep, 1), kind_(kind) {
    const bool dbl = kind == Kind::kDouble;
    world_.load_mjcf(dbl ? "inverted_double_pendulum.xml" : "inverted_pendulum.xml");
    slider_ = joint("slider");
    hinge_ = joint("hinge");
    if (dbl) {
      hinge2_ = joint("hinge2");
      pole2_ = part("pole2");
    }
    spec_.id = id;
    spec_.obs_dim = dbl ? 9 : 5;
    spec_.act_dim = 1;
    spec_.obs_low.assign(spec_.obs_dim, -INFINITY);
    spec_.obs_high.assign(spec_.obs_dim, INFINITY);
    spec_.act_low = {-1.0};
    spec_.act_high = {1.0};
    spec_.max_episode_steps = 1000;
    obs_.assign(spec_.obs_dim, 0.0);
    if (kind == Kind::kBalance) set_term_names({"alive"});
    if (kind == Kind::kSwingup) set_term_names({"upright"});
    if (dbl) set_term_names({"alive_bonus", "distance_penalty", "velocity_penalty"});
  }

 protected:
  void do_reset() override {
    world_.restore_initial_state();
    if (kind_ == Kind::kDouble) {
      const double u0 = rng_.uniform(-0.1, 0.1);
      const double u1 = rng_.uniform(-0.1, 0.1);
      hinge_.reset(u0, 0.0);
      hinge2_.reset(u1, 0.0);
    } else {
      const double u = rng_.uniform(-0.1, 0.1);
      hinge_.reset(kind_ == Kind::kSwingup ? 3.1415 + u : u, 0.0);
    }
    world_.refresh_kinematics();
    calc_state();
  }

  StepResult do_step(const std::vector<double>& action) override {
    const double force = kind_ == Kind::kDouble ? 200.0 : 100.0;
    slider_.add_torque(force * std::clamp(action[0], -1.0, 1.0));
    world_.step();
    calc_state();
    StepResult r;
    RewardTerms& t = terms();
    if (kind_ == Kind::kBalance) {
      t[0].second = 1.0;
      r.terminated = std::abs(hinge_.q()) > 0.2;
    } else if (kind_ == Kind::kSwingup) {
      t[0].second = std::cos(hinge_.q());
    } else {
      // pole2's centre of mass: (pos_x, _, pos_y) in pybullet_envs' names
      const double dist_penalty =
          0.01 * pos_x_ * pos_x_ + (pos_y_ + 0.3 - 2.0) * (pos_y_ + 0.3 - 2.0);
      t[0].second = 10.0;
      t[1].second = -dist_penalty;
      t[2].second = 0.0;  // the velocity penalty is commented out in pybullet_envs
      r.terminated = pos_y_ + 0.3 <= 1.0;
    }
    for (const auto& term : t) r.reward += term.second;
    return r;
  }

  void save_task(ArchiveWriter& /*out*/) const override {}
  void load_task(ArchiveReader& /*in*/) override { calc_state(); }

 private:
  void calc_state() {
    const double theta = hinge_.q();
    double* o = obs_.data();
    o[0] = slider_.q();
    o[1] = slider_.qdot();
    if (kind_ != Kind::kDouble) {
      o[2] = std::cos(theta);
      o[3] = std::sin(theta);
      o[4] = hinge_.qdot();
      return;
    }
    const btVector3 p = pole2_.com_frame().getOrigin();
    pos_x_ = p.x();
    pos_y_ = p.z();
    const double gamma = hinge2_.q();
    o[2] = pos_x_;
    o[3] = std::cos(theta);
    o[4] = std::sin(theta);
    o[5] = hinge_.qdot();
    o[6] = std::cos(gamma);
    o[7] = std::sin(gamma);
    o[8] = hinge2_.qdot();
  }

  Kind kind_;
  BulletJoint slider_, hinge_, hinge2_;
  BulletPart pole2_;
  double pos_x_ = 0.0, pos_y_ = 0.0;
};

}  // namespace

std::unique_ptr<Env> make_bullet_pendulum(const std::string& id, EnvOptions& /*options*/) {
  if (id == "InvertedPendulumBulletEnv-v0") {
    return std::make_unique<PendulumBulletEnv>(id, Kind::kBalance);
  }
  if (id == "InvertedPendulumSwingupBulletEnv-v0") {
    return std::make_unique<PendulumBulletEnv>(id, Kind::kSwingup);
  }
  if (id == "InvertedDoublePendulumBulletEnv-v0") {
    return std::make_unique<PendulumBulletEnv>(id, Kind::kDouble);
  }
  throw Error("no Bullet pendulum '" + id + "'");
}

}  // namespace ddpg
