// Pendulum-v1 with Gymnasium's exact semantics (gymnasium/envs/classic_control/pendulum.py):
// torque-limited swing-up, semi-implicit Euler at dt = 0.05, cost on the pre-step state, float32
// observations [cos th, sin th, thdot], 200-step limit, never terminates. Option: `g` (10.0).
#pragma once

#include "ddpg/env.h"

namespace ddpg {

class Pendulum : public Env {
 public:
  static constexpr double kMaxSpeed = 8.0;
  static constexpr double kMaxTorque = 2.0;
  static constexpr double kDt = 0.05;
  static constexpr double kMass = 1.0;
  static constexpr double kLength = 1.0;

  explicit Pendulum(EnvOptions& options);

  // Direct access to the state, for tests and scripted starts.
  double theta() const { return th_; }
  double theta_dot() const { return thdot_; }
  void set_state(double th, double thdot);
  // Gymnasium's picture: the rod from the axle, seen face on (classic_draw.cpp).
  void draw(Scene& scene) const override;

 protected:
  void do_reset() override;
  StepResult do_step(const std::vector<double>& action) override;
  void save_physics(ArchiveWriter& out) const override;
  void load_physics(ArchiveReader& in) override;

 private:
  void write_obs();
  double g_ = 10.0;
  double th_ = 0.0, thdot_ = 0.0;  // float64, as Gymnasium keeps it
};

}  // namespace ddpg
