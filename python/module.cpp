// ddpg._core: the native half of the Python module (python/ddpg/__init__.py is the other). It
// exposes the C++ envs one at a time (EnvCore) and as a batch stepped on C++ threads (VecCore),
// and deployed policies (PolicyCore). The Gymnasium-shaped API (spaces, info dicts, autoreset
// bookkeeping in Python's terms) is built on these in __init__.py.
#include <omp.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cmath>
#include <exception>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ddpg/agent.h"
#include "ddpg/config.h"
#include "ddpg/env.h"
#include "ddpg/io.h"
#include "ddpg/trainer.h"

namespace py = pybind11;

namespace ddpg {
namespace {

std::string family_of(const std::string& id) {
  for (const EnvInfo& e : env_registry()) {
    if (e.id == id) return e.family;
  }
  return "";
}

// Observations as Gymnasium gives them: float64 for the MuJoCo family, float32 otherwise.
bool obs_is_float64(const std::string& id) { return family_of(id) == "mujoco"; }

py::dict spec_dict(const EnvSpec& s) {
  py::dict d;
  d["id"] = s.id;
  d["obs_dim"] = s.obs_dim;
  d["act_dim"] = s.act_dim;
  d["obs_low"] = s.obs_low;
  d["obs_high"] = s.obs_high;
  d["act_low"] = s.act_low;
  d["act_high"] = s.act_high;
  d["max_episode_steps"] = s.max_episode_steps;
  d["family"] = family_of(s.id);
  d["obs_float64"] = obs_is_float64(s.id);
  return d;
}

// Writes n doubles into a float32 or float64 row.
void put_row(const std::vector<double>& v, bool f64, void* row) {
  if (f64) {
    std::copy(v.begin(), v.end(), static_cast<double*>(row));
  } else {
    float* r = static_cast<float*>(row);
    for (size_t i = 0; i < v.size(); ++i) r[i] = static_cast<float>(v[i]);
  }
}

py::array obs_array(const std::vector<double>& v, bool f64) {
  const std::vector<py::ssize_t> shape{static_cast<py::ssize_t>(v.size())};
  py::array a =
      f64 ? py::array(py::dtype::of<double>(), shape) : py::array(py::dtype::of<float>(), shape);
  put_row(v, f64, a.mutable_data());
  return a;
}

std::map<std::string, std::string> option_text(const py::dict& options) {
  std::map<std::string, std::string> out;
  for (auto item : options) {
    const std::string key = py::str(item.first);
    py::handle v = item.second;
    if (py::isinstance<py::bool_>(v)) {
      out[key] = v.cast<bool>() ? "true" : "false";
    } else if (py::isinstance<py::int_>(v) || py::isinstance<py::float_>(v)) {
      out[key] = format_double(v.cast<double>());
    } else {
      out[key] = py::str(v);
    }
  }
  return out;
}

// Converts an action (any array-like of act_dim numbers) to doubles, checking its shape.
std::vector<double> action_of(const py::handle& action, int act_dim, const std::string& id) {
  py::array_t<double, py::array::c_style | py::array::forcecast> a =
      py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(action);
  if (!a)
    throw Error(id + ": the action must be an array of " + std::to_string(act_dim) + " numbers");
  if (a.size() != act_dim || a.ndim() > 1) {
    throw Error(id + ": the action must have shape (" + std::to_string(act_dim) + ",), got " +
                std::to_string(a.size()) + " numbers in " + std::to_string(a.ndim()) +
                " dimensions");
  }
  return std::vector<double>(a.data(), a.data() + act_dim);
}

py::dict terms_dict(const RewardTerms& terms) {
  py::dict d;
  for (const auto& [name, value] : terms) d[name.c_str()] = value;
  return d;
}

// One env.
class EnvCore {
 public:
  EnvCore(const std::string& id, const py::dict& options, std::optional<int> max_episode_steps)
      : env_(make_env(id, option_text(options))), f64_(obs_is_float64(id)) {
    if (max_episode_steps) env_->set_max_episode_steps(*max_episode_steps);
  }
  py::dict spec() const { return spec_dict(env_->spec()); }
  py::array reset(std::optional<uint64_t> seed) { return obs_array(env_->reset(seed), f64_); }
  py::tuple step(const py::handle& action) {
    const std::vector<double> a = action_of(action, env_->spec().act_dim, env_->spec().id);
    StepResult r;
    {
      py::gil_scoped_release release;
      r = env_->step(a);
    }
    return py::make_tuple(obs_array(env_->obs(), f64_), r.reward, r.terminated, r.truncated,
                          terms_dict(env_->reward_terms()));
  }

 private:
  std::unique_ptr<Env> env_;
  bool f64_;
};

// N envs stepped together on C++ threads, with Gymnasium 1.x's next-step autoreset: an env whose
// episode ended on one step() is reset on the next one (its action ignored; reward 0, terminated
// and truncated false), so every observation returned belongs to the episode its step reported.
class VecCore {
 public:
  VecCore(const std::string& id, int num_envs, const py::dict& options,
          std::optional<int> max_episode_steps, int threads)
      : f64_(obs_is_float64(id)), threads_(threads > 0 ? threads : omp_get_max_threads()) {
    if (num_envs < 1) throw Error("num_envs must be at least 1, got " + std::to_string(num_envs));
    const auto opts = option_text(options);
    for (int i = 0; i < num_envs; ++i) {
      envs_.push_back(make_env(id, opts));
      if (max_episode_steps) envs_.back()->set_max_episode_steps(*max_episode_steps);
    }
    const EnvSpec& s = envs_[0]->spec();
    obs_dim_ = s.obs_dim;
    act_dim_ = s.act_dim;
    ended_.assign(static_cast<size_t>(num_envs), 0);
    actions_.assign(static_cast<size_t>(num_envs),
                    std::vector<double>(static_cast<size_t>(act_dim_)));
    errors_.resize(static_cast<size_t>(num_envs));
    terms_.resize(static_cast<size_t>(num_envs));
  }

  py::dict spec() const { return spec_dict(envs_[0]->spec()); }
  int num_envs() const { return static_cast<int>(envs_.size()); }
  int threads() const { return threads_; }

  // seeds: one per env (None: that env's RNG continues).
  py::array reset(const std::vector<std::optional<uint64_t>>& seeds) {
    const int n = num_envs();
    if (!seeds.empty() && static_cast<int>(seeds.size()) != n) {
      throw Error("reset: " + std::to_string(seeds.size()) + " seeds for " + std::to_string(n) +
                  " envs");
    }
    py::array obs = batch(n);
    char* out = static_cast<char*>(obs.mutable_data());
    const size_t row = row_bytes();
    {
      py::gil_scoped_release release;
      parallel([&](int i) {
        const auto& o = envs_[i]->reset(seeds.empty() ? std::nullopt : seeds[i]);
        put_row(o, f64_, out + i * row);
        ended_[i] = 0;
      });
    }
    return obs;
  }

  // actions: (num_envs, act_dim). Returns obs, rewards, terminated, truncated, reset mask (the envs
  // this call reset instead of stepping), and the reward terms per env.
  py::tuple step(const py::handle& actions) {
    const int n = num_envs();
    auto a = py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(actions);
    if (!a || a.ndim() != 2 || a.shape(0) != n || a.shape(1) != act_dim_) {
      throw Error("step: the actions must have shape (" + std::to_string(n) + ", " +
                  std::to_string(act_dim_) + ")");
    }
    py::array obs = batch(n);
    py::array_t<double> rewards(n);
    py::array_t<bool> terminated(n), truncated(n), reset_mask(n);
    char* out = static_cast<char*>(obs.mutable_data());
    double* rw = rewards.mutable_data();
    bool* te = terminated.mutable_data();
    bool* tr = truncated.mutable_data();
    bool* rs = reset_mask.mutable_data();
    const double* in = a.data();
    const size_t row = row_bytes();
    {
      py::gil_scoped_release release;
      parallel([&](int i) {
        Env& env = *envs_[i];
        rs[i] = ended_[i] != 0;
        if (ended_[i]) {  // next-step autoreset
          put_row(env.reset(std::nullopt), f64_, out + i * row);
          rw[i] = 0.0;
          te[i] = tr[i] = false;
          ended_[i] = 0;
          terms_[i].clear();
          return;
        }
        std::copy(in + i * act_dim_, in + (i + 1) * act_dim_, actions_[i].begin());
        const StepResult r = env.step(actions_[i]);
        put_row(env.obs(), f64_, out + i * row);
        rw[i] = r.reward;
        te[i] = r.terminated;
        tr[i] = r.truncated;
        ended_[i] = r.terminated || r.truncated;
        terms_[i] = env.reward_terms();
      });
    }
    py::list terms;
    for (const RewardTerms& t : terms_) terms.append(terms_dict(t));
    return py::make_tuple(obs, rewards, terminated, truncated, reset_mask, terms);
  }

 private:
  py::array batch(int n) const {
    const std::vector<py::ssize_t> shape{n, obs_dim_};
    return f64_ ? py::array(py::dtype::of<double>(), shape)
                : py::array(py::dtype::of<float>(), shape);
  }
  size_t row_bytes() const { return static_cast<size_t>(obs_dim_) * (f64_ ? 8 : 4); }

  // f(i) for every env on the pool's threads, each env on one thread (fixed blocks); the first
  // error, lowest env first, is rethrown here.
  template <class F>
  void parallel(F&& f) {
    const int n = num_envs();
#pragma omp parallel for num_threads(threads_) schedule(static)
    for (int i = 0; i < n; ++i) {
      try {
        f(i);
      } catch (...) {
        errors_[i] = std::current_exception();
      }
    }
    for (auto& e : errors_) {
      if (e) {
        std::exception_ptr err = e;
        for (auto& x : errors_) x = nullptr;
        std::rethrow_exception(err);
      }
    }
  }

  std::vector<std::unique_ptr<Env>> envs_;
  bool f64_;
  int threads_;
  int obs_dim_ = 0, act_dim_ = 0;
  std::vector<char> ended_;
  std::vector<std::vector<double>> actions_;
  std::vector<std::exception_ptr> errors_;
  std::vector<RewardTerms> terms_;
};

// A policy file: π(obs) in the agent's [-1, 1], for one observation or a batch (rows).
class PolicyCore {
 public:
  explicit PolicyCore(const std::string& path) : policy_(load_policy(path)) {}
  int obs_dim() const { return policy_.obs_dim(); }
  int act_dim() const { return policy_.act_dim(); }
  py::array_t<float> act(const py::handle& obs) {
    auto o = py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(obs);
    const int od = obs_dim();
    if (!o || (o.ndim() != 1 && o.ndim() != 2) || o.shape(o.ndim() - 1) != od) {
      throw Error("the policy takes observations of shape (" + std::to_string(od) + ",) or (n, " +
                  std::to_string(od) + ")");
    }
    const py::ssize_t n = o.ndim() == 1 ? 1 : o.shape(0);
    py::array_t<float> out = o.ndim() == 1
                                 ? py::array_t<float>(act_dim())
                                 : py::array_t<float>({n, static_cast<py::ssize_t>(act_dim())});
    float* a = out.mutable_data();
    const double* in = o.data();
    {
      py::gil_scoped_release release;
      std::vector<double> row(static_cast<size_t>(od));
      for (py::ssize_t k = 0; k < n; ++k) {
        std::copy(in + k * od, in + (k + 1) * od, row.begin());
        policy_.act(row, a + k * act_dim());
      }
    }
    return out;
  }

 private:
  DeployedPolicy policy_;
};

std::vector<double> doubles_of(const py::handle& x, size_t n, const std::string& what) {
  auto a = py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(x);
  if (!a || static_cast<size_t>(a.size()) != n) {
    throw Error(what + " must hold " + std::to_string(n) + " numbers");
  }
  return std::vector<double>(a.data(), a.data() + n);
}

// An env written in Python (any object with Gymnasium's reset/step and Box spaces), for the
// trainer: every call goes to Python with the GIL held. Its episodes are seeded from this env's
// RNG: each reset passes the Python env a seed drawn from it, so a run is as deterministic as the
// Python env is for its seed. Its state is not ours: a checkpoint saves none of it, and a resumed
// run starts the Python env on a new episode.
class PyEnv : public Env {
 public:
  PyEnv(const std::string& id, py::object env) : env_(std::move(env)) {
    py::gil_scoped_acquire gil;
    spec_.id = id;
    const py::object obs_space = env_.attr("observation_space");
    const py::object act_space = env_.attr("action_space");
    const py::tuple obs_shape = obs_space.attr("shape"), act_shape = act_space.attr("shape");
    if (obs_shape.size() != 1 || act_shape.size() != 1) {
      throw Error(id + ": the observation and action spaces must be one-dimensional Boxes");
    }
    spec_.obs_dim = obs_shape[0].cast<int>();
    spec_.act_dim = act_shape[0].cast<int>();
    spec_.obs_low = doubles_of(obs_space.attr("low"), spec_.obs_dim, "observation_space.low");
    spec_.obs_high = doubles_of(obs_space.attr("high"), spec_.obs_dim, "observation_space.high");
    spec_.act_low = doubles_of(act_space.attr("low"), spec_.act_dim, "action_space.low");
    spec_.act_high = doubles_of(act_space.attr("high"), spec_.act_dim, "action_space.high");
    for (int i = 0; i < spec_.act_dim; ++i) {
      if (!std::isfinite(spec_.act_low[i]) || !std::isfinite(spec_.act_high[i])) {
        throw Error(id + ": the action space must be bounded (the actor's tanh is rescaled to it)");
      }
    }
    act_dtype_ = act_space.attr("dtype");
    const py::object spec = py::getattr(env_, "spec", py::none());
    if (!spec.is_none()) {
      const py::object steps = py::getattr(spec, "max_episode_steps", py::none());
      if (!steps.is_none()) spec_.max_episode_steps = steps.cast<int>();
    }
  }
  ~PyEnv() override {
    py::gil_scoped_acquire gil;
    env_ = py::object();
    act_dtype_ = py::object();
  }

 protected:
  void do_reset() override {
    py::gil_scoped_acquire gil;
    const uint64_t seed = rng_.next_u64() >> 33;
    const py::tuple r = env_.attr("reset")(py::arg("seed") = seed);
    obs_ = doubles_of(r[0], spec_.obs_dim, spec_.id + ": reset's observation");
  }
  StepResult do_step(const std::vector<double>& action) override {
    py::gil_scoped_acquire gil;
    py::array a = py::array_t<double>(static_cast<py::ssize_t>(action.size()), action.data())
                      .attr("astype")(act_dtype_);
    const py::tuple r = env_.attr("step")(a);
    if (r.size() != 5) {
      throw Error(spec_.id + ": step must return (obs, reward, terminated, truncated, info)");
    }
    obs_ = doubles_of(r[0], spec_.obs_dim, spec_.id + ": step's observation");
    StepResult s;
    s.reward = r[1].cast<double>();
    s.terminated = r[2].cast<bool>();
    s.truncated = r[3].cast<bool>();
    return s;
  }
  void save_physics(ArchiveWriter& out) const override { out.tag("python-env"); }
  void load_physics(ArchiveReader& in) override {
    in.expect_tag("python-env");
    do_reset();  // (its episode in progress was not saved: a new one)
  }

 private:
  py::object env_;
  py::object act_dtype_;
};

// Registers a Python env factory under `id` (a callable returning a new env per call).
void register_python_env(const std::string& id, py::object factory) {
  // (kept for the life of the process: the registry is a static, destroyed after Python has
  // finalised, when a Python object can no longer be released)
  auto* holder = new py::object(std::move(factory));
  register_external_env(
      {id, "python", "an env written in Python", [id, holder](EnvOptions&) -> std::unique_ptr<Env> {
         py::object env;
         {
           py::gil_scoped_acquire gil;
           env = (*holder)();
         }
         return std::make_unique<PyEnv>(id, std::move(env));
       }});
}

// `ddpg train` from Python: resolves the config as the command line does, trains into `out` with
// the GIL released (Python envs take it back for their calls), returns the summary.
py::dict train(const std::string& env_id, const std::string& preset,
               const std::vector<std::string>& sets, std::optional<int64_t> steps,
               std::optional<uint64_t> seed, const std::string& out, bool quiet) {
  ConfigSources src;
  src.env_id = env_id;
  if (preset.empty()) {  // as the command line: the zoo's preset where the env has one
    try {
      preset_text("zoo", env_id);
      src.preset = "zoo";
    } catch (const Error&) {
    }
  } else if (preset != "none") {
    src.preset = preset;
  }
  src.sets = sets;
  src.total_steps = steps;
  src.seed = seed;
  const Config cfg = resolve_config(src);
  TrainOptions opts;
  opts.quiet = quiet;
  opts.show_progress = !quiet;
  TrainSummary s;
  {
    py::gil_scoped_release release;
    s = train_new(cfg, out, opts);
  }
  py::dict d;
  d["run_dir"] = s.run_dir;
  d["steps"] = s.steps;
  d["final_eval_mean"] = s.final_eval_mean;
  d["final_eval_std"] = s.final_eval_std;
  d["best_eval_mean"] = s.has_best ? py::object(py::float_(s.best_eval_mean)) : py::none();
  d["seconds"] = s.seconds;
  return d;
}

}  // namespace
}  // namespace ddpg

PYBIND11_MODULE(_core, m) {
  using namespace ddpg;
  m.doc() = "ddpg's native envs and policies (see the ddpg package)";
  py::register_exception<Error>(m, "Error", PyExc_ValueError);
  // (a stopped run: Ctrl-C during train, after its checkpoint was written)
  py::register_exception<Interrupted>(m, "Interrupted", PyExc_KeyboardInterrupt);
  m.def("register_python_env", &register_python_env, py::arg("id"), py::arg("factory"));
  m.def("train", &train, py::arg("env_id"), py::arg("preset"), py::arg("sets"), py::arg("steps"),
        py::arg("seed"), py::arg("out"), py::arg("quiet"));
  m.def(
      "run_env",
      [](const std::string& run_dir) {
        const Config cfg = load_run_config(run_dir);
        return py::make_tuple(cfg.env.id, cfg.env.options);
      },
      py::arg("run_dir"));
  m.def("env_ids", [] {
    std::vector<std::string> ids;
    for (const EnvInfo& e : env_registry()) ids.push_back(e.id);
    return ids;
  });
  py::class_<EnvCore>(m, "EnvCore")
      .def(py::init<const std::string&, const py::dict&, std::optional<int>>(), py::arg("id"),
           py::arg("options"), py::arg("max_episode_steps") = py::none())
      .def("spec", &EnvCore::spec)
      .def("reset", &EnvCore::reset, py::arg("seed") = py::none())
      .def("step", &EnvCore::step, py::arg("action"));
  py::class_<VecCore>(m, "VecCore")
      .def(py::init<const std::string&, int, const py::dict&, std::optional<int>, int>(),
           py::arg("id"), py::arg("num_envs"), py::arg("options"),
           py::arg("max_episode_steps") = py::none(), py::arg("threads") = 0)
      .def("spec", &VecCore::spec)
      .def_property_readonly("num_envs", &VecCore::num_envs)
      .def_property_readonly("threads", &VecCore::threads)
      .def("reset", &VecCore::reset, py::arg("seeds"))
      .def("step", &VecCore::step, py::arg("actions"));
  py::class_<PolicyCore>(m, "PolicyCore")
      .def(py::init<const std::string&>(), py::arg("path"))
      .def_property_readonly("obs_dim", &PolicyCore::obs_dim)
      .def_property_readonly("act_dim", &PolicyCore::act_dim)
      .def("act", &PolicyCore::act, py::arg("obs"));
}
