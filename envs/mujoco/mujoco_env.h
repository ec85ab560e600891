// MujocoEnv: the base of the Gymnasium MuJoCo envs (v4 and v5), with the mechanics of Gymnasium's
// mujoco_env.py reproduced exactly (see /work/shared/reference/ENVIRONMENTS.md, section 0):
//
// - The model is compiled from the MJCF text embedded in the binary (envs/mujoco/assets/*.xml),
//   through MuJoCo's virtual file system, so nothing is read from disk at run time.
// - Actions are never clipped: `ctrl` keeps the raw value (MuJoCo clamps it internally, every
//   actuator being ctrllimited) and costs use the raw action.
// - A step is `frame_skip` × mj_step, then one mj_rnePostConstraint (which fills cfrc_ext, cacc,
//   cfrc_int). Kinematics (xpos, xipos, site_xpos) are read as the last mj_step left them, one
//   sub-step behind qpos, and never refreshed by another mj_forward.
// - Reset is mj_resetData → the task's noise on qpos/qvel → mj_forward. mj_forward does not run
//   mj_rnePostConstraint, so cfrc_ext in a reset observation is zero, as in Gymnasium.
// - A diverged simulation (non-finite qpos/qvel/qacc, MuJoCo's bad-qacc warning, after which MuJoCo
//   silently resets the state) or a full contact/constraint buffer (the physics is then wrong)
//   raises ddpg::Error naming the env, the step and the warning, rather than feeding the agent a
//   state that is not the simulation's.
//
// The state saved for exact resume is what the next mj_step reads (qpos, qvel, act, ctrl, time,
// qacc_warmstart) plus the kinematics that a task reads *before* stepping (xpos, xipos, site_xpos:
// the stale values from the last sub-step, which mj_forward would not reproduce).
#pragma once

#include <mujoco/mujoco.h>

#include <cassert>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ddpg/env.h"

namespace ddpg {

class MujocoEnv : public Env {
 public:
  ~MujocoEnv() override;
  MujocoEnv(const MujocoEnv&) = delete;
  MujocoEnv& operator=(const MujocoEnv&) = delete;

  const mjModel* model() const { return model_; }
  mjData* data() { return data_; }
  const mjData* data() const { return data_; }
  int frame_skip() const { return frame_skip_; }
  // Seconds per env step: timestep × frame_skip.
  double dt() const { return model_->opt.timestep * frame_skip_; }
  int version() const { return version_; }
  // Asset file name, e.g. "hopper.xml".
  const std::string& model_name() const { return model_name_; }
  // qpos and qvel right after MjData creation (qpos0 and zeros): the centre of the reset noise.
  const std::vector<double>& init_qpos() const { return init_qpos_; }
  const std::vector<double>& init_qvel() const { return init_qvel_; }

  // The MJCF text of an embedded asset ("hopper.xml"); throws Error for an unknown name.
  static const std::string& model_xml(const std::string& name);
  // Every embedded asset name, sorted.
  static std::vector<std::string> model_names();

  // Sets qpos/qvel (sizes nq, nv) as Gymnasium's set_state does (then mj_forward) and rewrites the
  // observation. For tests and scripted starts.
  void set_state(const std::vector<double>& qpos, const std::vector<double>& qvel);

  // The model and data for MuJoCo's renderer, with a camera that follows the torso of the
  // locomotion tasks (mujoco_draw.cpp).
  void draw(Scene& scene) const override;

 protected:
  // Loads `xml_name`, fills the action part of spec_ from actuator_ctrlrange, and the id and time
  // limit. `version` is 4 or 5. The derived env then calls set_obs_dim.
  MujocoEnv(const std::string& task, int version, const std::string& xml_name, int frame_skip,
            int max_episode_steps);

  // v5's `frame_skip` option (v4 has none); checks it is at least 1.
  static int frame_skip_option(EnvOptions& options, int version, int fallback);
  // A (low, high) option such as healthy_z_range, written "0.2,1" or "(0.2, 1)"; "inf" allowed.
  static std::pair<double, double> range_option(EnvOptions& options, const std::string& key,
                                                std::pair<double, double> fallback);

  void set_obs_dim(int n);

  // ctrl = action (unclipped), frame_skip × mj_step, one mj_rnePostConstraint; then the checks.
  void do_simulation(const std::vector<double>& action);

  // Task hooks. reset_model adds the task's noise to qpos/qvel, which hold init_qpos/init_qvel
  // (mj_resetData) when it is called; write_obs fills obs_ from data_.
  virtual void reset_model() = 0;
  virtual void write_obs() = 0;
  // Task state beyond mjData, saved after the physics. None of the Gymnasium tasks has any
  // (Reacher's and Pusher's goals live in qpos), but a task that keeps one must save it here.
  virtual void save_task(ArchiveWriter& /*out*/) const {}
  virtual void load_task(ArchiveReader& /*in*/) {}

  void do_reset() final;
  void save_physics(ArchiveWriter& out) const final;
  void load_physics(ArchiveReader& in) final;

  // Adds U(lo, hi) to each of x[0..n), drawn in order from rng_.
  void add_uniform(double* x, int n, double lo, double hi);
  // Adds scale × N(0, 1) to each of x[0..n).
  void add_normal(double* x, int n, double scale);

  int body_id(const char* name) const;
  int site_id(const char* name) const;

  // Gymnasium's healthy reward: v4 pays `w` whenever `healthy or terminate_when_unhealthy` (so also
  // on the terminating step), v5 only while healthy (the v5 bug fix).
  double healthy_reward(bool healthy, bool terminate_when_unhealthy, double w) const {
    const bool paid = version_ == 4 ? (healthy || terminate_when_unhealthy) : healthy;
    return paid ? w : 0.0;
  }

  mjModel* model_ = nullptr;
  mjData* data_ = nullptr;

 private:
  // Throws Error when the simulation diverged or a buffer overflowed; `where` is "reset"/"step".
  void check_simulation(const char* where) const;

  int version_ = 4;
  int frame_skip_ = 1;
  std::string model_name_;
  std::vector<double> init_qpos_, init_qvel_;
};

// Appends the 22 Gymnasium MuJoCo ids (11 tasks × v4, v5), family "mujoco", to `registry`.
void register_mujoco_envs(std::vector<EnvInfo>& registry);

// Small numeric helpers shared by the tasks.
inline double sum_squares(const double* x, int n) {
  double s = 0.0;
  for (int i = 0; i < n; ++i) s += x[i] * x[i];
  return s;
}
inline double clip(double x, double lo, double hi) { return x < lo ? lo : (x > hi ? hi : x); }

// Writes an observation piece by piece into a preallocated vector. Debug builds check that the
// pieces fill it exactly (a layout that disagrees with obs_dim).
class ObsWriter {
 public:
  explicit ObsWriter(std::vector<double>& obs) : out_(obs.data()), end_(obs.data() + obs.size()) {}
  ~ObsWriter() { assert(out_ == end_ && "observation layout does not match obs_dim"); }
  ObsWriter(const ObsWriter&) = delete;
  ObsWriter& operator=(const ObsWriter&) = delete;

  void put(double v) { *out_++ = v; }
  void put(const double* x, int n) {
    for (int i = 0; i < n; ++i) *out_++ = x[i];
  }
  void put_clipped(const double* x, int n, double lo, double hi) {
    for (int i = 0; i < n; ++i) *out_++ = clip(x[i], lo, hi);
  }

 private:
  double* out_;
  double* end_;
};

}  // namespace ddpg
