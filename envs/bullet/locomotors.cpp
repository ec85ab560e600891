// The pybullet_envs walkers (robot_locomotors.py WalkerBase + gym_locomotion_envs.py
// WalkerBaseBulletEnv): Hopper, Walker2D, HalfCheetah, Ant, Humanoid. One class, a table of
// per-robot figures. See ENVIRONMENTS.md §2 for the semantics reproduced, including the quirks:
//
// - Feet contact flags are refreshed after calc_state, so the observation and HalfCheetah's alive
//   test use the previous step's flags.
// - The x/y position is the mean over every part (every link the robot's joints have as child,
//   massless joint links included, plus a floating base) and, from the first reset on, the
//   stadium floor at (0, 0, 0) (robot.addToScene(ground) adds it to the parts after the first
//   reset's calc_state). The first episode's initial potential is therefore computed without it.
// - HalfCheetah never terminates.
//
// Deviation: pybullet's restoreState keeps the last episode's contact points for warm-starting;
// here a reset clears them, so that reset(seed) determines the episode.
#include <algorithm>
#include <cmath>

#include "envs/bullet/bullet_env.h"

namespace ddpg {
namespace {

constexpr double kGravity = 9.8;
constexpr double kTimestep = 0.0165 / 4;  // stadium scene: 4 sub-steps per env step
constexpr int kFrameSkip = 4;
constexpr double kWalkTargetX = 1000.0, kWalkTargetY = 0.0;
constexpr double kElectricityCost = -2.0;    // per mean |a · joint_speed|
constexpr double kStallTorqueCost = -0.1;    // per mean a²
constexpr double kJointsAtLimitCost = -0.1;  // per joint with |relative position| > 0.99
constexpr double kFloorFriction = 0.8, kFloorRestitution = 0.5;

enum class Alive { kUpright, kCheetah, kAnt, kHumanoid };

struct WalkerSpec {
  const char* id;
  const char* asset;
  const char* body;  // robot_body: the torso
  std::vector<const char*> feet;
  double power;
  std::vector<std::pair<const char*, double>> power_coef;  // overrides of the default 100
  Alive alive;
  double cost_scale;  // Humanoid scales both action costs by 4.25
  int obs_dim;
  bool fixed_initial_z;  // Humanoid: initial_z = 0.8
};

const std::vector<WalkerSpec>& walker_specs() {
  static const std::vector<WalkerSpec> specs = {
      {"HopperBulletEnv-v0",
       "hopper.xml",
       "torso",
       {"foot"},
       0.75,
       {},
       Alive::kUpright,
       1.0,
       15,
       false},
      {"Walker2DBulletEnv-v0",
       "walker2d.xml",
       "torso",
       {"foot", "foot_left"},
       0.40,
       {{"foot_joint", 30.0}, {"foot_left_joint", 30.0}},
       Alive::kUpright,
       1.0,
       22,
       false},
      {"HalfCheetahBulletEnv-v0",
       "half_cheetah.xml",
       "torso",
       {"ffoot", "fshin", "fthigh", "bfoot", "bshin", "bthigh"},
       0.90,
       {{"bthigh", 120.0},
        {"bshin", 90.0},
        {"bfoot", 60.0},
        {"fthigh", 140.0},
        {"fshin", 60.0},
        {"ffoot", 30.0}},
       Alive::kCheetah,
       1.0,
       26,
       false},
      {"AntBulletEnv-v0",
       "ant.xml",
       "torso",
       {"front_left_foot", "front_right_foot", "left_back_foot", "right_back_foot"},
       2.5,
       {},
       Alive::kAnt,
       1.0,
       28,
       false},
      {"HumanoidBulletEnv-v0",
       "humanoid_symmetric.xml",
       "torso",
       {"right_foot", "left_foot"},
       0.41,
       {{"abdomen_z", 100.0},
        {"abdomen_y", 100.0},
        {"abdomen_x", 100.0},
        {"right_hip_x", 100.0},
        {"right_hip_z", 100.0},
        {"right_hip_y", 300.0},
        {"right_knee", 200.0},
        {"left_hip_x", 100.0},
        {"left_hip_z", 100.0},
        {"left_hip_y", 300.0},
        {"left_knee", 200.0},
        {"right_shoulder1", 75.0},
        {"right_shoulder2", 75.0},
        {"right_elbow", 75.0},
        {"left_shoulder1", 75.0},
        {"left_shoulder2", 75.0},
        {"left_elbow", 75.0}},
       Alive::kHumanoid,
       4.25,
       44,
       true},
  };
  return specs;
}

class WalkerBulletEnv : public BulletEnv {
 public:
  explicit WalkerBulletEnv(const WalkerSpec& s)
      : BulletEnv(kGravity, kTimestep, kFrameSkip), s_(s) {
    world_.add_ground_plane(kFloorFriction, kFloorRestitution);
    const int robot = world_.load_mjcf(s.asset);
    const mjcf::Model& m = world_.model(robot);
    // ordered_joints: every moving joint but the planar root's "ignore*" ones, in link order
    for (size_t l = 1; l < m.links.size(); ++l) {
      const mjcf::Link& link = m.links[l];
      if (link.joint == mjcf::JointType::kFixed || link.joint_name.rfind("ignore", 0) == 0)
        continue;
      joints_.push_back(joint(link.joint_name));
      double coef = 100.0;
      for (const auto& [name, c] : s.power_coef) {
        if (link.joint_name == name) coef = c;
      }
      torque_scale_.push_back(s.power * coef);
    }
    // parts: the child link of every joint, and the base when it floats
    btMultiBody* mb = world_.body(robot);
    if (!m.fixed_base()) parts_.push_back(BulletPart{mb, -1});
    for (int l = 0; l < mb->getNumLinks(); ++l) parts_.push_back(BulletPart{mb, l});
    torso_ = part(s.body);
    for (const char* f : s.feet) {
      const BulletPart p = part(f);
      feet_.push_back(world_.collider(robot, p.link + 1));
    }
    feet_contact_.assign(feet_.size(), 0.0);
    joint_speeds_.assign(joints_.size(), 0.0);
    link_omega_.resize(mb->getNumLinks() + 1);
    link_vel_.resize(mb->getNumLinks() + 1);

    const int n = static_cast<int>(joints_.size());
    spec_.id = s.id;
    spec_.obs_dim = 8 + 2 * n + static_cast<int>(feet_.size());
    spec_.act_dim = n;
    if (spec_.obs_dim != s.obs_dim) {
      throw Error(std::string(s.id) + ": the model gives " + std::to_string(spec_.obs_dim) +
                  " observations, pybullet_envs has " + std::to_string(s.obs_dim));
    }
    spec_.obs_low.assign(spec_.obs_dim, -INFINITY);
    spec_.obs_high.assign(spec_.obs_dim, INFINITY);
    spec_.act_low.assign(n, -1.0);
    spec_.act_high.assign(n, 1.0);
    spec_.max_episode_steps = 1000;
    obs_.assign(spec_.obs_dim, 0.0);
    set_term_names(
        {"alive", "progress", "electricity_cost", "joints_at_limit_cost", "feet_collision_cost"});
  }

  // For tests: the figures behind the last step's reward.
  const std::vector<double>& joint_speeds() const { return joint_speeds_; }
  int joints_at_limit() const { return joints_at_limit_; }
  const std::vector<double>& feet_contact() const { return feet_contact_; }

 protected:
  void do_reset() override {
    world_.restore_initial_state();
    for (const BulletJoint& j : joints_) j.reset(rng_.uniform(-0.1, 0.1), 0.0);
    world_.refresh_kinematics();
    std::fill(feet_contact_.begin(), feet_contact_.end(), 0.0);
    have_initial_z_ = s_.fixed_initial_z;
    initial_z_ = s_.fixed_initial_z ? 0.8 : 0.0;
    calc_state();
    potential_ = -walk_target_dist_ / world_.dt();
    floor_in_parts_ = true;  // robot.addToScene(ground) after the first reset's calc_state
  }

  StepResult do_step(const std::vector<double>& action) override {
    for (size_t i = 0; i < joints_.size(); ++i) {
      joints_[i].add_torque(torque_scale_[i] * std::clamp(action[i], -1.0, 1.0));
    }
    world_.step();
    calc_state();
    const double alive = alive_bonus(obs_[0] + initial_z_, pitch_);
    StepResult r;
    r.terminated = s_.alive != Alive::kCheetah && alive < 0;
    const double potential_old = potential_;
    potential_ = -walk_target_dist_ / world_.dt();
    const double progress = potential_ - potential_old;
    update_feet_contact();
    // a is the raw action; joint speeds are the observation's (float32, 0.1 qdot)
    double speed_cost = 0.0, square = 0.0;
    for (size_t i = 0; i < joints_.size(); ++i) {
      speed_cost += std::abs(action[i] * joint_speeds_[i]);
      square += action[i] * action[i];
    }
    const double n = static_cast<double>(joints_.size());
    const double electricity = s_.cost_scale * kElectricityCost * (speed_cost / n) +
                               s_.cost_scale * kStallTorqueCost * (square / n);
    const double at_limit = kJointsAtLimitCost * joints_at_limit_;
    RewardTerms& t = terms();
    t[0].second = alive;
    t[1].second = progress;
    t[2].second = electricity;
    t[3].second = at_limit;
    t[4].second = 0.0;  // feet_collision_cost: commented out in pybullet_envs
    r.reward = alive + progress + electricity + at_limit;
    return r;
  }

  void save_task(ArchiveWriter& out) const override {
    out.boolean(have_initial_z_);
    out.f64(initial_z_);
    out.f64(potential_);
    out.boolean(floor_in_parts_);
    out.doubles(feet_contact_);
  }

  void load_task(ArchiveReader& in) override {
    have_initial_z_ = in.boolean();
    initial_z_ = in.f64();
    potential_ = in.f64();
    floor_in_parts_ = in.boolean();
    in.doubles(feet_contact_.data(), feet_contact_.size(), "feet contact flags");
    calc_state();  // joint speeds, limits and the target distance of the saved step
  }

 private:
  double alive_bonus(double z, double pitch) const {
    switch (s_.alive) {
      case Alive::kUpright:
        return z > 0.8 && std::abs(pitch) < 1.0 ? 1.0 : -1.0;
      case Alive::kCheetah:
        return std::abs(pitch) < 1.0 && feet_contact_[1] == 0 && feet_contact_[2] == 0 &&
                       feet_contact_[4] == 0 && feet_contact_[5] == 0
                   ? 1.0
                   : -1.0;
      case Alive::kAnt:
        return z > 0.26 ? 1.0 : -1.0;
      case Alive::kHumanoid:
        return z > 0.78 ? 2.0 : -1.0;
    }
    return -1.0;
  }

  // WalkerBase.calc_state: obs_ (float32, clipped to ±5) and the figures the reward reads.
  void calc_state() {
    double* o = obs_.data();
    const int n = static_cast<int>(joints_.size());
    joints_at_limit_ = 0;
    for (int i = 0; i < n; ++i) {
      const double pos = round_to_float32(joints_[i].rel_pos());
      const double vel = round_to_float32(joints_[i].rel_vel());
      o[8 + 2 * i] = pos;
      o[9 + 2 * i] = vel;
      joint_speeds_[i] = vel;
      if (std::abs(pos) > 0.99) ++joints_at_limit_;
    }
    double sx = 0.0, sy = 0.0;
    for (const BulletPart& p : parts_) {
      const btVector3 x = p.com_frame().getOrigin();
      sx += x.x();
      sy += x.y();
    }
    const double count = static_cast<double>(parts_.size()) + (floor_in_parts_ ? 1.0 : 0.0);
    const double mean_x = sx / count, mean_y = sy / count;  // the floor part sits at (0, 0, 0)
    const btTransform torso = torso_.com_frame();
    const double z = torso.getOrigin().z();
    if (!have_initial_z_) {
      initial_z_ = z;
      have_initial_z_ = true;
    }
    const btVector3 rpy = euler_from_quaternion(torso.getRotation());
    pitch_ = rpy.y();
    const double yaw = rpy.z();
    const double dx = kWalkTargetX - mean_x, dy = kWalkTargetY - mean_y;
    walk_target_dist_ = std::sqrt(dx * dx + dy * dy);
    const double angle_to_target = std::atan2(dy, dx) - yaw;
    const btVector3 v = torso_velocity();
    const double c = std::cos(-yaw), s = std::sin(-yaw);
    const double vx = c * v.x() - s * v.y(), vy = s * v.x() + c * v.y(), vz = v.z();
    o[0] = round_to_float32(z - initial_z_);
    o[1] = round_to_float32(std::sin(angle_to_target));
    o[2] = round_to_float32(std::cos(angle_to_target));
    o[3] = round_to_float32(0.3 * vx);
    o[4] = round_to_float32(0.3 * vy);
    o[5] = round_to_float32(0.3 * vz);
    o[6] = round_to_float32(rpy.x());
    o[7] = round_to_float32(rpy.y());
    for (size_t f = 0; f < feet_contact_.size(); ++f) o[8 + 2 * n + f] = feet_contact_[f];
    for (double& x : obs_) x = std::clamp(x, -5.0, 5.0);
  }

  // The torso's centre-of-mass velocity in the world frame (getLinkState's or getBaseVelocity's).
  btVector3 torso_velocity() {
    btMultiBody* mb = torso_.body;
    if (torso_.link < 0) return mb->getBaseVel();
    mb->compTreeLinkVelocities(link_omega_.data(), link_vel_.data());
    return mb->getLink(torso_.link).m_cachedWorldTransform.getBasis() * link_vel_[torso_.link + 1];
  }

  void update_feet_contact() {
    for (size_t f = 0; f < feet_.size(); ++f) {
      feet_contact_[f] = world_.touching(feet_[f], world_.ground()) ? 1.0 : 0.0;
    }
  }

  const WalkerSpec& s_;
  std::vector<BulletJoint> joints_;   // ordered_joints
  std::vector<double> torque_scale_;  // power × power_coef per ordered joint
  std::vector<BulletPart> parts_;
  BulletPart torso_;
  std::vector<const btCollisionObject*> feet_;
  std::vector<double> feet_contact_;
  std::vector<double> joint_speeds_;  // 0.1 qdot, float32
  std::vector<btVector3> link_omega_, link_vel_;
  int joints_at_limit_ = 0;
  double pitch_ = 0.0, walk_target_dist_ = 0.0;
  bool have_initial_z_ = false, floor_in_parts_ = false;
  double initial_z_ = 0.0, potential_ = 0.0;
};

}  // namespace

std::unique_ptr<Env> make_bullet_walker(const std::string& id, EnvOptions& /*options*/) {
  for (const WalkerSpec& s : walker_specs()) {
    if (id == s.id) return std::make_unique<WalkerBulletEnv>(s);
  }
  throw Error("no Bullet walker '" + id + "'");
}

}  // namespace ddpg
