// Box2dEnv: the base of Gymnasium's Box2D envs (LunarLanderContinuous-v3, BipedalWalker-v3 and its
// hardcore variant), on Debian's Box2D 2.4.1.
//
// Exact resume by replay. Box2D has no state snapshot (contacts, warm-starting impulses and the
// broad-phase tree all shape the next step), so the state saved is what the episode was built
// from: the env's RNG state at reset and the actions stepped since. Loading rebuilds the world from
// that RNG state and steps the same actions again; Box2D is deterministic for the same sequence of
// calls, so the rebuilt world is the one that was saved, bit for bit (the observation is checked
// against the saved one, and a mismatch is an error rather than a silently different run). The cost
// is one episode's worth of steps at load time (at most a few ms).
//
// So that a replay starts from the state the original episode started from, every reset builds a
// fresh b2World (Gymnasium's LunarLander v3 does too; its BipedalWalker keeps one world and
// destroys and recreates the bodies, which leaves the broad-phase's internal ids to earlier
// episodes: the same physics, not the same bits).
//
// Subclasses build the world in build_episode() (drawing from rng_, and taking the reset's own
// physics step when Gymnasium's reset does) and step it in advance(); they never override
// do_reset/do_step/save_physics/load_physics.
#pragma once

#include <box2d/box2d.h>

#include <memory>
#include <vector>

#include "ddpg/env.h"

namespace ddpg {

class Box2dEnv : public Env {
 public:
  // Both envs step Box2D at 50 Hz with Gymnasium's iteration counts: Step(1/FPS, 6·30, 2·30).
  static constexpr float kTimeStep = 1.0f / 50.0f;
  static constexpr int kVelocityIterations = 6 * 30, kPositionIterations = 2 * 30;

  // Actions stepped since the last reset (what a checkpoint stores).
  int64_t episode_actions() const { return static_cast<int64_t>(actions_.size()) / spec_.act_dim; }
  // The physics of one env step alone: the action applied to the bodies (actuate) and one
  // b2World::Step, with no observation, lidar or reward. `ddpg bench env` sets the env's rate
  // beside this raw rate (valid after reset; actuate checks nothing).
  void step_world(const std::vector<double>& action) {
    actuate(action);
    world_->Step(kTimeStep, kVelocityIterations, kPositionIterations);
  }

 protected:
  // A fresh world (gravity (0, gravity_y)), then the episode's bodies from rng_; writes obs_.
  virtual void build_episode() = 0;
  // One env step with `action` (env units, unclipped): actuate, Step, then writes obs_ and terms_.
  virtual StepResult advance(const std::vector<double>& action) = 0;
  // Applies `action` to the bodies (motors, engine impulses) before a Step.
  virtual void actuate(const std::vector<double>& action) = 0;

  std::unique_ptr<b2World> world_;

  // A revolute joint in world_ from body a's local point anchor_a to body b's anchor_b, with a
  // motor (speed, at most max_torque) and limits [lower, upper], its angle measured from the
  // bodies' relative angle now (pybox2d's default, which Gymnasium relies on): the legs of both
  // envs hang on these.
  b2RevoluteJoint* add_motor_joint(b2Body* a, b2Vec2 anchor_a, b2Body* b, b2Vec2 anchor_b,
                                   double max_torque, double speed, double lower, double upper);

 private:
  void do_reset() final;
  StepResult do_step(const std::vector<double>& action) final;
  void save_physics(ArchiveWriter& out) const final;
  void load_physics(ArchiveReader& in) final;

  bool started_ = false;         // an episode has been reset
  Rng::State episode_rng_{};     // rng_ just before build_episode()
  std::vector<double> actions_;  // act_dim per step since the reset
};

}  // namespace ddpg
