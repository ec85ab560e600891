// BipedalWalker-v3 and BipedalWalkerHardcore-v3 with Gymnasium's semantics
// (gymnasium/envs/box2d/bipedal_walker.py; ../shared/reference/ENVIRONMENTS.md §4): a hull on two
// two-segment legs must walk 190 terrain steps (88.7 m) to the right over rough ground, or, in the
// hardcore variant, over stumps, stairs and pits as well.
//
// Action (4, in [-1, 1]): per joint (left hip, left knee, right hip, right knee) the motor runs at
// SPEED·sign(a) with at most 80·clip(|a|, 0, 1) of torque. Observation (24, float32): hull angle,
// 2ω/FPS, 0.3·v·(viewport/SCALE)/FPS for x and y, then per leg hip angle, hip speed/4, knee angle
// + 1, knee speed/6, lower-leg contact, then 10 lidar fractions (closest terrain hit along rays at
// 1.5·i/10 rad from straight down, range 160/SCALE; 1 when nothing is in range).
// Reward: the change of shaping = 130·x/SCALE − 5|hull angle|, minus 0.028·clip(|a_i|, 0, 1) per
// joint; the hull touching the ground (game over) or x < 0 ends the episode with −100 instead,
// and x > 190·TERRAIN_STEP ends it with the normal reward. Reset pushes the hull with
// (U(−5, 5), 0) and takes one physics step with the motors off (its reward dropped), as
// Gymnasium's reset does. Time limits 1600 (BipedalWalker-v3) and 2000 (BipedalWalkerHardcore-v3).
//
// Reward terms (in order, summing to the reward): reward_forward (the change of 130·x/SCALE),
// reward_angle (the change of −5|angle|), reward_ctrl (the torque cost, ≤ 0), reward_fall (−100 on
// game over or x < 0, when the other three are 0; else 0).
//
// Option (Gymnasium's keyword): hardcore (false for BipedalWalker-v3, true for the Hardcore id).
// As with gym.make("BipedalWalker-v3", hardcore=True), the option changes the terrain only: the id
// and its time limit (1600 or 2000) stay those of the id the env was created as.
//
// Not identical to Gymnasium, and why:
// - Box2D 2.4.1 instead of the 2.3.2 inside pybox2d. Revolute limits are predictive, not stateful
//   (the knees start at angle 0, outside their −1.6..−0.1 limits, and every step leans on the
//   limits), so trajectories are the same physics but not the same bits. 2.3's motor setters woke
//   the walker every step; 2.4's wake it only when the setting changes, so we wake its bodies each
//   step as 2.3 did, but 2.4's wake also restarts the sleep timer, which 2.3's did not for an
//   awake body: a walker at rest under changing actions falls asleep later (only at rest).
// - The env's RNG is the project's, not NumPy's PCG64: the terrain and the push have Gymnasium's
//   distributions (U(−1, 1)/SCALE roughness, grass runs of integers(5, 10), obstacle kinds
//   integers(1, 4), stumps 1–2 steps, stairs ±1 high, 4 wide, 3–4 steps, pits 3–4 wide), not its
//   streams. The clouds (rendering only) are not generated, so they take no draws.
// - A fresh b2World each reset (Box2dEnv's exact resume replays from it; Gymnasium keeps one world
//   and recreates the bodies in it): the same physics, not the same broad-phase ids.
// - The reward is the sum of its terms in the order above; Gymnasium's shaping − prev_shaping −
//   Σ cost groups the same numbers differently (a rounding difference, below 1e-13).
// - Gymnasium's designed terrains (reset options "metadata") are not supported; a non-finite action
//   is an Error (Gymnasium would step with NaN torques).
#pragma once

#include <array>
#include <memory>
#include <vector>

#include "envs/box2d/box2d_env.h"

namespace ddpg {

class BipedalWalker : public Box2dEnv {
 public:
  static constexpr double kFps = 50.0;
  static constexpr double kScale = 30.0;
  static constexpr double kMotorsTorque = 80.0;
  static constexpr double kSpeedHip = 4.0, kSpeedKnee = 6.0;
  static constexpr double kLidarRange = 160.0 / kScale;
  static constexpr int kLidarRays = 10;
  static constexpr double kInitialRandom = 5.0;
  static constexpr double kLegDown = -8.0 / kScale;
  static constexpr double kLegW = 8.0 / kScale, kLegH = 34.0 / kScale;
  static constexpr double kViewportW = 600.0, kViewportH = 400.0;
  static constexpr double kTerrainStep = 14.0 / kScale;
  static constexpr int kTerrainLength = 200;  // terrain points
  static constexpr double kTerrainHeight = kViewportH / kScale / 4;
  static constexpr int kTerrainGrass = 10;     // grass runs are integers(5, 10) steps
  static constexpr int kTerrainStartpad = 20;  // flat steps before the first roughness
  static constexpr double kFriction = 2.5;
  static constexpr int kObsDim = 24, kActDim = 4;

  // One hardcore obstacle, as generated (Gymnasium's states STUMP = 1, STAIRS = 2, PIT = 3).
  enum class ObstacleKind { kStump = 1, kStairs = 2, kPit = 3 };
  struct Obstacle {
    ObstacleKind kind;
    int index = 0;  // terrain point where it starts
    int size = 0;  // stump: side in steps (1–2); stairs: steps (3–4); pit: width in steps (3–4)
    int rise = 0;  // stairs: +1 up, −1 down; else 0
  };

  // `hardcore` picks the id (BipedalWalkerHardcore-v3) and its time limit; the option of the same
  // name may still change the terrain (see above).
  BipedalWalker(EnvOptions& options, bool hardcore);
  BipedalWalker(const BipedalWalker&) = delete;  // the contact listener refers to this env
  BipedalWalker& operator=(const BipedalWalker&) = delete;
  ~BipedalWalker() override;

  // State for tests (valid after reset). Legs: 0 left upper, 1 left lower, 2 right upper, 3 right
  // lower; joints: 0 left hip, 1 left knee, 2 right hip, 3 right knee.
  bool hardcore() const { return hardcore_; }
  const b2World* world() const { return world_.get(); }
  const b2Body* hull() const { return hull_; }
  const b2Body* leg(int i) const { return legs_[i]; }
  const b2RevoluteJoint* joint(int i) const { return joints_[i]; }
  // Gymnasium's ground_contact of lower leg 1 or 3 (set on BeginContact, cleared on EndContact).
  bool ground_contact(int leg) const { return ground_contact_[leg]; }
  bool game_over() const { return game_over_; }
  double lidar_fraction(int i) const { return lidar_fraction_[i]; }
  const std::vector<double>& terrain_x() const { return terrain_x_; }
  const std::vector<double>& terrain_y() const { return terrain_y_; }
  const std::vector<Obstacle>& obstacles() const { return obstacles_; }
  // x beyond which the episode ends: (TERRAIN_LENGTH − TERRAIN_GRASS)·TERRAIN_STEP.
  static double end_x() { return (kTerrainLength - kTerrainGrass) * kTerrainStep; }

  // Moves the whole walker rigidly so that the hull is at (x, y, angle), keeping the legs' poses
  // relative to it, with the hull's velocity (vx, vy, omega) given to the whole walker. For
  // hand-set test states: the observation is updated by the next step, and checkpoints (which
  // replay actions) do not record it.
  void place_walker(double x, double y, double angle, double vx, double vy, double omega);
  // Gymnasium's picture: sky, striped terrain, obstacles, the walker and the start flag, scrolled
  // with the hull (box2d_draw.cpp).
  void draw(Scene& scene) const override;

 protected:
  void build_episode() override;
  StepResult advance(const std::vector<double>& action) override;
  void actuate(const std::vector<double>& action) override;

 private:
  class Contacts;
  class Lidar;
  // Gymnasium's _generate_terrain: fills terrain_x_/terrain_y_ and obstacles_, creating the
  // obstacles' polygons as it goes and the ground edges at the end.
  void generate_terrain();
  void add_terrain_polygon(const std::array<b2Vec2, 4>& vertices);
  // The hull and the legs, with the reset push on the hull.
  void create_walker();

  bool hardcore_ = false;
  std::unique_ptr<Contacts> contacts_;
  std::unique_ptr<Lidar> lidar_;
  b2Body* hull_ = nullptr;
  std::array<b2Body*, 4> legs_{};
  std::array<b2RevoluteJoint*, 4> joints_{};
  std::array<bool, 4> ground_contact_{};  // only the lower legs (1, 3) are tracked
  bool game_over_ = false;
  std::array<double, kLidarRays> lidar_fraction_{};
  std::vector<double> terrain_x_, terrain_y_;  // kTerrainLength points
  std::vector<Obstacle> obstacles_;
  bool has_prev_shaping_ = false;  // Gymnasium's prev_shaping is None until the reset step
  double prev_forward_ = 0.0;      // 130·x/SCALE at the previous step
  double prev_angle_ = 0.0;        // −5|angle| at the previous step
  std::vector<double> zero_action_ = std::vector<double>(kActDim, 0.0);
};

}  // namespace ddpg
