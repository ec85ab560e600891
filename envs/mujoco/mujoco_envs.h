// The eleven Gymnasium MuJoCo tasks, each one class for both v4 and v5 (`version` 4 or 5), with
// Gymnasium's observations, rewards, terminations, reset noise, time limits and keyword options
// (the constructor's EnvOptions; defaults as Gymnasium's). The exact semantics, and the v4 → v5
// differences, are in /work/shared/reference/ENVIRONMENTS.md section 1; the task files say which
// line of it each choice follows.
//
// Reward terms are named after Gymnasium's info keys, with the v5 names for both versions (v4's
// "reward_run", "reward_fwd", "reward_linvel", ... are the same quantities), and always sum to the
// reward. Where Gymnasium's info does not decompose the reward (HumanoidStandup's constant +1,
// InvertedPendulum's survival reward in v4), the missing term gets a name here.
//
// Files: locomotion.cpp (HalfCheetah, Hopper, Walker2d, Ant, Swimmer), humanoid.cpp (Humanoid,
// HumanoidStandup), manipulation.cpp (Reacher, Pusher, InvertedPendulum, InvertedDoublePendulum).
#pragma once

#include <cmath>
#include <utility>
#include <vector>

#include "envs/mujoco/mujoco_env.h"

namespace ddpg {

// Forward runners that never terminate (HalfCheetah, Swimmer): reward
// forward_reward_weight·vx − ctrl_cost_weight·Σa², with vx from qpos[0]; observation
// qpos[skip:] + qvel, where `skip` root positions are left out unless
// exclude_current_positions_from_observation is false.
class ForwardRunner : public MujocoEnv {
 protected:
  ForwardRunner(const std::string& task, int version, const std::string& xml, int frame_skip,
                EnvOptions& options, double ctrl_cost_weight, int skip);
  StepResult do_step(const std::vector<double>& action) override;
  void write_obs() override;

  double forward_reward_weight_, ctrl_cost_weight_, reset_noise_scale_;
  int skip_;  // root positions left out of the observation
};

// HalfCheetah: ctrl_cost_weight 0.1, x left out; reset qpos + U(±s), qvel + s·N.
class HalfCheetah : public ForwardRunner {
 public:
  HalfCheetah(int version, EnvOptions& options);

 protected:
  void reset_model() override;
};

// Hopper and Walker2d: planar runners rewarded vx + healthy − ctrl, terminating when unhealthy;
// observation qpos[1:] + clip(qvel, ±10). They differ in the health test and the defaults.
class PlanarRunner : public MujocoEnv {
 protected:
  struct Defaults {
    const char* task;
    const char* xml_v4;
    const char* xml_v5;
    std::pair<double, double> healthy_z_range, healthy_angle_range;
  };
  PlanarRunner(const Defaults& defaults, int version, EnvOptions& options);

  StepResult do_step(const std::vector<double>& action) override;
  void reset_model() override;
  void write_obs() override;
  virtual bool is_healthy() const = 0;

  double forward_reward_weight_, ctrl_cost_weight_, healthy_reward_, reset_noise_scale_;
  bool terminate_when_unhealthy_, exclude_current_positions_;
  std::pair<double, double> healthy_z_range_, healthy_angle_range_;
};

class Hopper : public PlanarRunner {
 public:
  Hopper(int version, EnvOptions& options);
  // Strict bounds on z = qpos[1], angle = qpos[2] and every entry of (qpos[2:], qvel).
  bool is_healthy() const override;

 private:
  std::pair<double, double> healthy_state_range_;
};

class Walker2d : public PlanarRunner {
 public:
  Walker2d(int version, EnvOptions& options);
  // Strict bounds on z = qpos[1] and angle = qpos[2] only.
  bool is_healthy() const override;
};

// Ant: torso-xpos forward velocity, healthy reward, ctrl and contact costs; v5 observes clipped
// cfrc_ext of bodies 1.. (105), v4 only with use_contact_forces (all bodies, 111).
class Ant : public MujocoEnv {
 public:
  Ant(int version, EnvOptions& options);
  bool is_healthy() const;

 protected:
  StepResult do_step(const std::vector<double>& action) override;
  void reset_model() override;
  void write_obs() override;

 private:
  double contact_cost() const;

  double forward_reward_weight_ = 1.0, ctrl_cost_weight_, contact_cost_weight_, healthy_reward_,
         reset_noise_scale_;
  bool terminate_when_unhealthy_, exclude_current_positions_;
  bool use_contact_cost_;    // v4: use_contact_forces; v5: always
  int cfrc_obs_first_body_;  // first body whose cfrc_ext is observed; -1: none
  int main_body_;
  std::pair<double, double> healthy_z_range_, contact_force_range_;
};

// Humanoid and HumanoidStandup share the observation: qpos[2:], qvel, cinert, cvel, qfrc_actuator,
// cfrc_ext; v4 keeps the world body rows and the root dofs (376), v5 drops them (348) and can leave
// out each block.
class HumanoidBase : public MujocoEnv {
 protected:
  // `takes_options`: false for HumanoidStandup-v4, whose constructor has no keyword options.
  HumanoidBase(const char* task, const char* xml, int version, bool takes_options,
               EnvOptions& options);
  void write_obs() override;
  void reset_model() override;

  double reset_noise_scale_;
  bool exclude_current_positions_;
  bool include_cinert_ = true, include_cvel_ = true, include_qfrc_actuator_ = true,
       include_cfrc_ext_ = true;
};

// Humanoid: mass-centre forward velocity ×1.25, healthy reward 5, ctrl cost on data.ctrl, and (v5)
// a contact cost clipped to contact_cost_range.
class Humanoid : public HumanoidBase {
 public:
  Humanoid(int version, EnvOptions& options);
  bool is_healthy() const;
  // Σ body_mass·xipos / Σ body_mass, x and y.
  std::pair<double, double> mass_center() const;

 protected:
  StepResult do_step(const std::vector<double>& action) override;

 private:
  double forward_reward_weight_, ctrl_cost_weight_, contact_cost_weight_ = 0.0, healthy_reward_;
  bool terminate_when_unhealthy_;
  std::pair<double, double> healthy_z_range_, contact_cost_range_{-INFINITY, 10.0};
};

// HumanoidStandup: qpos[2] / timestep (not dt) − ctrl cost − clipped impact cost + 1; never ends.
class HumanoidStandup : public HumanoidBase {
 public:
  HumanoidStandup(int version, EnvOptions& options);

 protected:
  StepResult do_step(const std::vector<double>& action) override;

 private:
  double ctrl_cost_weight_ = 0.1, impact_cost_weight_ = 0.5e-6;
  std::pair<double, double> impact_cost_range_{-INFINITY, 10.0};
};

// Swimmer: ctrl_cost_weight 1e-4, x and y left out; reset qpos and qvel + U(±s).
class Swimmer : public ForwardRunner {
 public:
  Swimmer(int version, EnvOptions& options);

 protected:
  void reset_model() override;
};

// Reacher: −‖fingertip − target‖ − Σa², from the kinematics before the step (v4) or after (v5).
class Reacher : public MujocoEnv {
 public:
  Reacher(int version, EnvOptions& options);

 protected:
  StepResult do_step(const std::vector<double>& action) override;
  void reset_model() override;
  void write_obs() override;

 private:
  double distance() const;
  double reward_dist_weight_ = 1.0, reward_control_weight_ = 1.0;
  int fingertip_, target_;
};

// Pusher: −‖object − goal‖ − 0.1·Σa² − 0.5·‖object − tips_arm‖, before the step (v4) or after (v5).
class Pusher : public MujocoEnv {
 public:
  Pusher(int version, EnvOptions& options);

 protected:
  StepResult do_step(const std::vector<double>& action) override;
  void reset_model() override;
  void write_obs() override;

 private:
  // Writes the reward terms from the current kinematics and returns the reward.
  double reward(const std::vector<double>& action);
  double reward_near_weight_ = 0.5, reward_dist_weight_ = 1.0, reward_control_weight_ = 0.1;
  int tips_arm_, object_, goal_;
};

// InvertedPendulum: +1 per step (v5: 0 on the terminating step); terminates when |qpos[1]| > 0.2.
class InvertedPendulum : public MujocoEnv {
 public:
  InvertedPendulum(int version, EnvOptions& options);

 protected:
  StepResult do_step(const std::vector<double>& action) override;
  void reset_model() override;
  void write_obs() override;

 private:
  double reset_noise_scale_ = 0.01;
};

// InvertedDoublePendulum: alive − tip distance − joint velocity penalties; ends when tip z <= 1.
class InvertedDoublePendulum : public MujocoEnv {
 public:
  InvertedDoublePendulum(int version, EnvOptions& options);

 protected:
  StepResult do_step(const std::vector<double>& action) override;
  void reset_model() override;
  void write_obs() override;

 private:
  double healthy_reward_ = 10.0, reset_noise_scale_ = 0.1;
  int tip_;
};

}  // namespace ddpg
