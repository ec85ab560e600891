// MountainCarContinuous-v0 with Gymnasium's exact semantics
// (gymnasium/envs/classic_control/continuous_mountain_car.py): force = clip(a, -1, 1), the state is
// stored as float32 after each step, +100 on reaching x >= 0.45 with v >= goal_velocity
// (terminated), minus 0.1 a^2 on the unclipped action, 999-step limit. Option: `goal_velocity` (0).
#pragma once

#include "ddpg/env.h"

namespace ddpg {

class MountainCarContinuous : public Env {
 public:
  static constexpr double kMinPosition = -1.2;
  static constexpr double kMaxPosition = 0.6;
  static constexpr double kMaxSpeed = 0.07;
  static constexpr double kGoalPosition = 0.45;
  static constexpr double kPower = 0.0015;

  explicit MountainCarContinuous(EnvOptions& options);

  double position() const { return x_; }
  double velocity() const { return v_; }
  void set_state(double x, double v);
  // Gymnasium's picture: the hill, the car on it and the goal flag (classic_draw.cpp).
  void draw(Scene& scene) const override;

 protected:
  void do_reset() override;
  StepResult do_step(const std::vector<double>& action) override;
  void save_physics(ArchiveWriter& out) const override;
  void load_physics(ArchiveReader& in) override;

 private:
  void write_obs();
  double goal_velocity_ = 0.0;
  double x_ = 0.0, v_ = 0.0;
};

}  // namespace ddpg
