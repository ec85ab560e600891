// MujocoEnv: model loading from embedded MJCF, Gymnasium's step/reset protocol, divergence checks,
// exact save/restore; and the registration of the 22 MuJoCo ids. See mujoco_env.h.
#include "envs/mujoco/mujoco_env.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "ddpg/embedded.h"
#include "envs/mujoco/mujoco_envs.h"

namespace ddpg {
namespace {

const char kAssetDir[] = "envs/mujoco/assets/";

// MuJoCo's default warning handler prints and appends to MUJOCO_LOG.TXT in the working directory.
// Envs report warnings themselves (check_simulation), so the text is only kept for the message.
thread_local std::string last_warning;
void record_warning(const char* msg) { last_warning = msg; }

void install_warning_handler() {
  // A handler installed by the program (or a test) is left alone.
  static const bool installed = [] {
    if (mju_user_warning == nullptr) mju_user_warning = record_warning;
    return true;
  }();
  (void)installed;
}

mjModel* load_model(const std::string& name) {
  const std::string& xml = MujocoEnv::model_xml(name);
  // mjVFS holds 2000 file names of 1000 bytes: too large for the stack.
  auto vfs = std::make_unique<mjVFS>();
  mj_defaultVFS(vfs.get());
  if (mj_makeEmptyFileVFS(vfs.get(), name.c_str(), static_cast<int>(xml.size())) != 0) {
    throw Error("MuJoCo: cannot create the in-memory file for " + name);
  }
  const int index = mj_findFileVFS(vfs.get(), name.c_str());
  std::memcpy(vfs->filedata[index], xml.data(), xml.size());
  char err[1024] = "";
  mjModel* m = mj_loadXML(name.c_str(), vfs.get(), err, sizeof err);
  mj_deleteVFS(vfs.get());
  if (m == nullptr) throw Error("MuJoCo could not load " + name + ": " + err);
  if (err[0] != '\0') {
    // The Gymnasium assets compile without a warning on 2.2.2; one now means a changed asset.
    mj_deleteModel(m);
    throw Error("MuJoCo warned while loading " + name + ": " + err);
  }
  return m;
}

struct FatalWarning {
  int index;
  const char* name;
  const char* meaning;
};

// The warnings after which the state is no longer the simulation's. For the bad-number ones,
// MuJoCo 2.2.2 has already reset mjData to qpos0, so continuing would hide the divergence.
constexpr FatalWarning kFatalWarnings[] = {
    {mjWARN_BADQACC, "mjWARN_BADQACC",
     "NaN, Inf or huge acceleration: the simulation diverged (MuJoCo reset the state)"},
    {mjWARN_BADQPOS, "mjWARN_BADQPOS", "NaN, Inf or huge position: the simulation diverged"},
    {mjWARN_BADQVEL, "mjWARN_BADQVEL", "NaN, Inf or huge velocity: the simulation diverged"},
    {mjWARN_BADCTRL, "mjWARN_BADCTRL", "NaN, Inf or huge control"},
    {mjWARN_CONTACTFULL, "mjWARN_CONTACTFULL",
     "contact buffer full (nconmax): contacts were dropped, the physics is wrong"},
    {mjWARN_CNSTRFULL, "mjWARN_CNSTRFULL",
     "constraint buffer full (njmax): constraints were dropped, the physics is wrong"},
};

template <class E>
std::unique_ptr<Env> make_task(int version, EnvOptions& options) {
  return std::make_unique<E>(version, options);
}

// Arrays of a model-dependent size that may be empty (act when na = 0, site_xpos when nsite = 0),
// in which case MuJoCo's pointer may be null: nothing is copied then.
void save_array(ArchiveWriter& out, const double* p, int n) {
  if (n > 0) {
    out.doubles(p, n);
  } else {
    out.u64(0);
  }
}

void load_array(ArchiveReader& in, double* p, int n, const char* field) {
  if (n > 0) {
    in.doubles(p, n, field);
  } else if (in.u64() != 0) {
    throw Error(in.what() + ": MuJoCo field " + field + " has values, the model has none");
  }
}

bool all_finite(const double* x, int n) {
  for (int i = 0; i < n; ++i) {
    if (!std::isfinite(x[i])) return false;
  }
  return true;
}

}  // namespace

MujocoEnv::MujocoEnv(const std::string& task, int version, const std::string& xml_name,
                     int frame_skip, int max_episode_steps)
    : version_(version), frame_skip_(frame_skip), model_name_(xml_name) {
  if (version != 4 && version != 5) throw Error(task + ": version must be 4 or 5");
  install_warning_handler();
  model_ = load_model(xml_name);
  data_ = mj_makeData(model_);
  if (data_ == nullptr) {
    mj_deleteModel(model_);
    throw Error("MuJoCo could not allocate mjData for " + xml_name);
  }
  init_qpos_.assign(data_->qpos, data_->qpos + model_->nq);
  init_qvel_.assign(data_->qvel, data_->qvel + model_->nv);

  spec_.id = task + "-v" + std::to_string(version);
  spec_.act_dim = model_->nu;
  for (int i = 0; i < model_->nu; ++i) {
    spec_.act_low.push_back(model_->actuator_ctrlrange[2 * i]);
    spec_.act_high.push_back(model_->actuator_ctrlrange[2 * i + 1]);
  }
  spec_.max_episode_steps = max_episode_steps;
}

MujocoEnv::~MujocoEnv() {
  if (data_ != nullptr) mj_deleteData(data_);
  if (model_ != nullptr) mj_deleteModel(model_);
}

std::string env_model_xml(const std::string& id) {
  const auto env = make_env(id);
  const auto* mj = dynamic_cast<const MujocoEnv*>(env.get());
  if (!mj) throw Error(id + " is not a MuJoCo env: it has no MJCF model");
  return MujocoEnv::model_xml(mj->model_name());
}

const std::string& MujocoEnv::model_xml(const std::string& name) {
  const std::string* text = embedded_file(kAssetDir + name);
  if (text == nullptr) {
    std::string known;
    for (const auto& n : model_names()) known += (known.empty() ? "" : ", ") + n;
    throw Error("no embedded MuJoCo model '" + name + "' (known: " + known + ")");
  }
  return *text;
}

std::vector<std::string> MujocoEnv::model_names() {
  std::vector<std::string> names;
  const std::string prefix = kAssetDir;
  for (const auto& [path, text] : embedded_files()) {
    if (path.compare(0, prefix.size(), prefix) == 0) names.push_back(path.substr(prefix.size()));
  }
  return names;  // std::map keys: already sorted
}

int MujocoEnv::frame_skip_option(EnvOptions& options, int version, int fallback) {
  if (version != 5) return fallback;
  const int n = options.get_int("frame_skip", fallback);
  if (n < 1) throw Error("env option 'frame_skip' must be >= 1, got " + std::to_string(n));
  return n;
}

std::pair<double, double> MujocoEnv::range_option(EnvOptions& options, const std::string& key,
                                                  std::pair<double, double> fallback) {
  const std::string text = options.get_string(key, "");
  if (text.empty()) return fallback;
  std::string t;
  for (char c : text) {
    if (c != '(' && c != ')' && c != '[' && c != ']' && c != ' ') t += c;
  }
  const size_t comma = t.find(',');
  try {
    if (comma == std::string::npos) throw std::invalid_argument("no comma");
    size_t used_lo = 0, used_hi = 0;
    const std::string lo_text = t.substr(0, comma), hi_text = t.substr(comma + 1);
    const double lo = std::stod(lo_text, &used_lo);
    const double hi = std::stod(hi_text, &used_hi);
    if (used_lo != lo_text.size() || used_hi != hi_text.size()) throw std::invalid_argument("");
    if (!(lo <= hi)) throw std::invalid_argument("order");
    return {lo, hi};
  } catch (const std::exception&) {
    throw Error("env option '" + key + "' must be a range 'low,high' with low <= high, got '" +
                text + "'");
  }
}

void MujocoEnv::set_obs_dim(int n) {
  spec_.obs_dim = n;
  spec_.obs_low.assign(n, -INFINITY);
  spec_.obs_high.assign(n, INFINITY);
  obs_.assign(n, 0.0);
}

int MujocoEnv::body_id(const char* name) const {
  const int id = mj_name2id(model_, mjOBJ_BODY, name);
  if (id < 0) throw Error(spec_.id + ": model " + model_name_ + " has no body '" + name + "'");
  return id;
}

int MujocoEnv::site_id(const char* name) const {
  const int id = mj_name2id(model_, mjOBJ_SITE, name);
  if (id < 0) throw Error(spec_.id + ": model " + model_name_ + " has no site '" + name + "'");
  return id;
}

void MujocoEnv::add_uniform(double* x, int n, double lo, double hi) {
  for (int i = 0; i < n; ++i) x[i] += rng_.uniform(lo, hi);
}

void MujocoEnv::add_normal(double* x, int n, double scale) {
  for (int i = 0; i < n; ++i) x[i] += scale * rng_.normal();
}

void MujocoEnv::do_simulation(const std::vector<double>& action) {
  const int nu = model_->nu;
  for (int i = 0; i < nu; ++i) {
    if (!std::isfinite(action[i])) {
      throw Error(spec_.id + ": action[" + std::to_string(i) + "] is not finite at episode step " +
                  std::to_string(elapsed_steps() + 1));
    }
    data_->ctrl[i] = action[i];
  }
  // mj_step in 2.2.2 has no nstep argument: Gymnasium's mj_step(nstep=frame_skip) is this loop.
  for (int k = 0; k < frame_skip_; ++k) mj_step(model_, data_);
  // Gymnasium calls this once, after the sub-steps, so that cfrc_ext is filled for the obs/costs.
  mj_rnePostConstraint(model_, data_);
  check_simulation("step");
}

void MujocoEnv::check_simulation(const char* where) const {
  // Messages are built only on failure: this runs every step.
  auto location = [&] {
    std::string at = std::string(" at ") + where;
    if (std::strcmp(where, "step") == 0) {
      at += " (episode step " + std::to_string(elapsed_steps() + 1) + ")";
    }
    return at;
  };
  for (const FatalWarning& w : kFatalWarnings) {
    const mjWarningStat& stat = data_->warning[w.index];
    if (stat.number > 0) {
      std::string msg = spec_.id + ": MuJoCo " + w.name + location() + ": " + w.meaning +
                        " (index " + std::to_string(stat.lastinfo) + ")";
      if (!last_warning.empty()) msg += "; MuJoCo said: " + last_warning;
      throw Error(msg + ". Reset the env.");
    }
  }
  const bool finite = all_finite(data_->qpos, model_->nq) && all_finite(data_->qvel, model_->nv) &&
                      all_finite(data_->qacc, model_->nv);
  if (!finite) {
    throw Error(spec_.id + ": non-finite qpos/qvel/qacc" + location() +
                ": the simulation diverged. Reset the env.");
  }
}

void MujocoEnv::do_reset() {
  mj_resetData(model_, data_);
  reset_model();
  mj_forward(model_, data_);
  check_simulation("reset");
  write_obs();
  terms();
}

void MujocoEnv::set_state(const std::vector<double>& qpos, const std::vector<double>& qvel) {
  if (static_cast<int>(qpos.size()) != model_->nq || static_cast<int>(qvel.size()) != model_->nv) {
    throw Error(spec_.id + ": set_state expects qpos of " + std::to_string(model_->nq) +
                " and qvel of " + std::to_string(model_->nv) + " values");
  }
  std::copy(qpos.begin(), qpos.end(), data_->qpos);
  std::copy(qvel.begin(), qvel.end(), data_->qvel);
  mj_forward(model_, data_);
  check_simulation("set_state");
  write_obs();
}

void MujocoEnv::save_physics(ArchiveWriter& out) const {
  const mjModel* m = model_;
  const mjData* d = data_;
  out.tag("mujoco:" + model_name_);
  out.f64(d->time);
  save_array(out, d->qpos, m->nq);
  save_array(out, d->qvel, m->nv);
  save_array(out, d->act, m->na);
  save_array(out, d->ctrl, m->nu);
  save_array(out, d->qacc_warmstart, m->nv);
  save_array(out, d->xpos, 3 * m->nbody);
  save_array(out, d->xipos, 3 * m->nbody);
  save_array(out, d->site_xpos, 3 * m->nsite);
  save_task(out);
}

void MujocoEnv::load_physics(ArchiveReader& in) {
  const mjModel* m = model_;
  mjData* d = data_;
  in.expect_tag("mujoco:" + model_name_);
  // Clears everything else (warnings included); mj_step recomputes all it needs from the fields
  // restored below, so no mj_forward here (it would overwrite the stale kinematics).
  mj_resetData(m, d);
  d->time = in.f64();
  load_array(in, d->qpos, m->nq, "qpos");
  load_array(in, d->qvel, m->nv, "qvel");
  load_array(in, d->act, m->na, "act");
  load_array(in, d->ctrl, m->nu, "ctrl");
  load_array(in, d->qacc_warmstart, m->nv, "qacc_warmstart");
  load_array(in, d->xpos, 3 * m->nbody, "xpos");
  load_array(in, d->xipos, 3 * m->nbody, "xipos");
  load_array(in, d->site_xpos, 3 * m->nsite, "site_xpos");
  load_task(in);
  terms();
}

void register_mujoco_envs(std::vector<EnvInfo>& registry) {
  struct Task {
    const char* name;
    const char* description;
    std::unique_ptr<Env> (*make)(int version, EnvOptions& options);
  };
  const Task tasks[] = {
      {"HalfCheetah", "planar cheetah runs forward (MuJoCo, Gymnasium)", &make_task<HalfCheetah>},
      {"Hopper", "planar one-legged hopper hops forward without falling (MuJoCo, Gymnasium)",
       &make_task<Hopper>},
      {"Walker2d", "planar biped walks forward without falling (MuJoCo, Gymnasium)",
       &make_task<Walker2d>},
      {"Ant", "four-legged ant walks forward in 3D (MuJoCo, Gymnasium)", &make_task<Ant>},
      {"Humanoid", "3D humanoid walks forward without falling (MuJoCo, Gymnasium)",
       &make_task<Humanoid>},
      {"HumanoidStandup", "3D humanoid stands up from lying on the ground (MuJoCo, Gymnasium)",
       &make_task<HumanoidStandup>},
      {"Swimmer", "three-link swimmer swims forward in a viscous fluid (MuJoCo, Gymnasium)",
       &make_task<Swimmer>},
      {"Reacher", "two-link arm reaches a random target (MuJoCo, Gymnasium)", &make_task<Reacher>},
      {"Pusher", "seven-joint arm pushes a cylinder to a goal (MuJoCo, Gymnasium)",
       &make_task<Pusher>},
      {"InvertedPendulum", "cart balances a pole (MuJoCo, Gymnasium)",
       &make_task<InvertedPendulum>},
      {"InvertedDoublePendulum", "cart balances a two-link pole (MuJoCo, Gymnasium)",
       &make_task<InvertedDoublePendulum>},
  };
  for (const Task& t : tasks) {
    for (int version : {4, 5}) {
      auto make = t.make;
      registry.push_back({std::string(t.name) + "-v" + std::to_string(version), "mujoco",
                          t.description,
                          [make, version](EnvOptions& options) { return make(version, options); }});
    }
  }
}

}  // namespace ddpg
