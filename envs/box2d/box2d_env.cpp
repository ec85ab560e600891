// Box2dEnv: see box2d_env.h.
#include "envs/box2d/box2d_env.h"

#include <algorithm>
#include <cstring>

namespace ddpg {

b2RevoluteJoint* Box2dEnv::add_motor_joint(b2Body* a, b2Vec2 anchor_a, b2Body* b, b2Vec2 anchor_b,
                                           double max_torque, double speed, double lower,
                                           double upper) {
  b2RevoluteJointDef def;
  def.bodyA = a;
  def.bodyB = b;
  def.localAnchorA = anchor_a;
  def.localAnchorB = anchor_b;
  def.enableMotor = true;
  def.enableLimit = true;
  def.maxMotorTorque = static_cast<float>(max_torque);
  def.motorSpeed = static_cast<float>(speed);
  def.lowerAngle = static_cast<float>(lower);
  def.upperAngle = static_cast<float>(upper);
  // pybox2d's b2RevoluteJointDef(bodyA=..., bodyB=...) sets referenceAngle to the bodies' angle
  // difference when none is given (Box2D_joints.i), and Gymnasium gives none: a joint's angle (and
  // so its limits and the walker's hip observation) is measured from the pose the bodies were
  // created in, not from zero. The C++ default of 0 would shift the lander's legs and the walker's
  // hips by their initial tilt of ±0.05 rad.
  def.referenceAngle = b->GetAngle() - a->GetAngle();
  return static_cast<b2RevoluteJoint*>(world_->CreateJoint(&def));
}

void Box2dEnv::do_reset() {
  episode_rng_ = rng_.state();
  actions_.clear();
  // (room for a whole episode, so that step() does not reallocate)
  actions_.reserve(static_cast<size_t>(std::max(spec_.max_episode_steps, 1000)) * spec_.act_dim);
  started_ = true;
  build_episode();
}

StepResult Box2dEnv::do_step(const std::vector<double>& action) {
  if (!started_) throw Error(spec_.id + ": step() before reset()");
  actions_.insert(actions_.end(), action.begin(), action.end());
  return advance(action);
}

void Box2dEnv::save_physics(ArchiveWriter& out) const {
  out.tag("box2d_replay");
  out.u64(started_ ? 1 : 0);
  for (uint64_t w : episode_rng_) out.u64(w);
  out.doubles(actions_);
}

void Box2dEnv::load_physics(ArchiveReader& in) {
  in.expect_tag("box2d_replay");
  const bool started = in.u64() != 0;
  Rng::State start;
  for (auto& w : start) w = in.u64();
  std::vector<double> actions = in.doubles_any();
  if (actions.size() % static_cast<size_t>(spec_.act_dim) != 0) {
    throw Error(spec_.id + ": the saved episode's actions do not divide into steps of " +
                std::to_string(spec_.act_dim) + " (a damaged or foreign checkpoint)");
  }
  // Env::load_state has set rng_, the step count and obs_ to the saved values; the replay changes
  // them as the original episode did, and must end where they are.
  const Rng::State saved_rng = rng_.state();
  const std::vector<double> saved_obs = obs_;
  started_ = started;
  actions_.clear();
  if (!started) {
    world_.reset();
    return;
  }
  rng_.set_state(start);
  do_reset();
  std::vector<double> a(spec_.act_dim);
  for (size_t i = 0; i < actions.size(); i += a.size()) {
    std::copy(actions.begin() + static_cast<std::ptrdiff_t>(i),
              actions.begin() + static_cast<std::ptrdiff_t>(i + a.size()), a.begin());
    do_step(a);
  }
  const bool same_obs =
      obs_.size() == saved_obs.size() &&
      std::memcmp(obs_.data(), saved_obs.data(), sizeof(double) * obs_.size()) == 0;
  if (rng_.state() != saved_rng || !same_obs) {
    throw Error(spec_.id + ": replaying the saved episode (" + std::to_string(episode_actions()) +
                " steps) did not reproduce the saved state; the checkpoint was written by a " +
                "different build or Box2D version. Start the run afresh, or resume it with the " +
                "build that wrote it");
  }
}

}  // namespace ddpg
