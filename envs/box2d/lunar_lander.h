// LunarLanderContinuous-v3 with Gymnasium's semantics (gymnasium/envs/box2d/lunar_lander.py,
// `LunarLander(continuous=True)`; ../shared/reference/ENVIRONMENTS.md §4): a lander dropped from
// the top of a 20 × 13.3 world with a random push must come to rest on the pad between the flags.
//
// Action (2, clipped to [-1, 1] in double as Gymnasium does): main engine off for
// a0 ≤ 0, else throttle (a0 + 1)/2 ∈ [0.5, 1]; side engines off for |a1| ≤ 0.5, else throttle
// |a1| towards sign(a1). The engines' impulses act at points jittered by two U(-1, 1)/SCALE draws
// per step (drawn whether or not an engine fires). Observation (8, float32): position relative to
// the pad, velocity, angle, angular velocity (scaled as Gymnasium scales them), leg contacts.
// Reward: the change of shaping = −100‖pos‖ − 100‖vel‖ − 100|angle| + 10 per leg on the ground,
// minus 0.3 × main throttle and 0.03 × side throttle; a crash (the body touches the ground) or
// |x| ≥ 1 ends the episode with −100 instead, coming to rest (the body falls asleep) with +100.
// Reset takes one physics step with the engines off (its reward is dropped), as Gymnasium's does.
// Time limit 1000 steps. Options (Gymnasium's keywords): gravity (−10, in (−12, 0)),
// enable_wind (false), wind_power (15), turbulence_power (1.5).
//
// Not identical to Gymnasium, and why:
// - Box2D 2.4.1 instead of the 2.3.2 inside pybox2d: revolute limits are predictive, not stateful
//   (the legs' limits), so trajectories are the same physics but not the same bits.
// - The env's RNG is the project's, not NumPy's PCG64: the terrain, the push, the dispersion and
//   the wind offsets have Gymnasium's distributions, not its streams.
// - Arithmetic on Box2D's float32 values is done in double, and handed back to Box2D as float32,
//   as pybox2d does.
// - Coming to rest: Box2D 2.4.1's SetAwake(true) restarts an awake body's 0.5 s sleep timer too
//   (2.3 restarts only a sleeping body's), and a contact calls it whenever its touching state
//   changes. A leg that bounces on and off the ground near rest therefore delays the +100 by up to
//   25 steps more than in Gymnasium; the timer has no API to restore it.
#pragma once

#include <array>

#include "envs/box2d/box2d_env.h"

namespace ddpg {

class LunarLander : public Box2dEnv {
 public:
  static constexpr double kFps = 50.0;
  static constexpr double kScale = 30.0;
  static constexpr double kMainEnginePower = 13.0;
  static constexpr double kSideEnginePower = 0.6;
  static constexpr double kInitialRandom = 1000.0;
  static constexpr double kLegAway = 20.0, kLegDown = 18.0, kLegW = 2.0, kLegH = 8.0;
  static constexpr double kLegSpringTorque = 40.0;
  static constexpr double kSideEngineHeight = 14.0, kSideEngineAway = 12.0;
  static constexpr double kMainEngineY = 4.0;
  static constexpr double kW = 600.0 / kScale, kH = 400.0 / kScale;  // the world's extent
  static constexpr int kChunks = 11;

  explicit LunarLander(EnvOptions& options);
  ~LunarLander() override;
  // (not copyable or movable: the contact listener points back at this env)
  LunarLander(const LunarLander&) = delete;
  LunarLander& operator=(const LunarLander&) = delete;

  // State for tests (valid after reset).
  const b2Body* lander() const { return lander_; }
  const b2Body* leg(int i) const { return legs_[i]; }
  bool game_over() const { return game_over_; }
  bool leg_contact(int i) const { return leg_contact_[i]; }
  double helipad_y() const { return helipad_y_; }
  const std::array<double, kChunks>& terrain_y() const { return smooth_y_; }
  // Places the lander (and moves its legs with it) with the given velocity, for hand-set states.
  void set_lander_state(double x, double y, double angle, double vx, double vy, double omega);
  // Gymnasium's picture: black sky over the moon, the lander and its legs, the pad's flags; a
  // flame for the main engine stands in for Gymnasium's exhaust particles (box2d_draw.cpp).
  void draw(Scene& scene) const override;

 protected:
  void build_episode() override;
  StepResult advance(const std::vector<double>& action) override;

 private:
  class Contacts;
  // One physics step with the action applied; writes obs_ and state_, returns the reward terms'
  // inputs: the main and side engine throttles.
  void physics_step(const std::vector<double>& action, double& m_power, double& s_power);
  // −100‖pos‖ − 100‖vel‖ − 100|angle| + 10 per leg contact, from state_.
  double shaping() const;
  // Wind and engines (sets m_power_, s_power_); then, after the Step, state_ and obs_.
  void actuate(const std::vector<double>& action) override;
  void observe();

  double gravity_ = -10.0;
  bool enable_wind_ = false;
  double wind_power_ = 15.0, turbulence_power_ = 1.5;
  int64_t wind_idx_ = 0, torque_idx_ = 0;

  std::unique_ptr<Contacts> contacts_;
  b2Body* moon_ = nullptr;
  b2Body* lander_ = nullptr;
  std::array<b2Body*, 2> legs_{};
  std::array<bool, 2> leg_contact_{};
  bool game_over_ = false;
  double helipad_y_ = 0.0;
  std::array<double, kChunks> smooth_y_{};
  std::array<double, 8> state_{};  // the observation in double, before rounding to float32
  double prev_shaping_ = 0.0;
  double m_power_ = 0.0, s_power_ = 0.0;  // the last actuate's engine throttles
};

}  // namespace ddpg
