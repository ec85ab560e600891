// Env: the environment interface, with Gymnasium's semantics.
//
// An env has a spec (id, observation and action sizes and bounds, time limit), `reset(seed)` and
// `step(action)`. `step` reports `terminated` (the MDP ended: no bootstrapping past it) apart from
// `truncated` (the time limit cut the episode: the next state still has a value). Envs never set
// `truncated` themselves: the base class does, at `max_episode_steps`, exactly as Gymnasium's
// TimeLimit wrapper. Actions arrive in the env's own units (the agent's [-1, 1] is rescaled at the
// edge, see `rescale_action`), and the env checks their size; observations are checked for NaN.
//
// Options are Gymnasium's keyword arguments (e.g. `g` for Pendulum-v1, `ctrl_cost_weight` for
// MuJoCo), given as text and parsed by each env through EnvOptions, which rejects unknown keys.
// Two options are accepted by every env and handled by make_env: `max_episode_steps` (as in
// gymnasium.make) and `time_feature` (sb3-contrib's TimeFeatureWrapper, see with_time_feature).
//
// For exact resume, an env saves and restores its whole state (physics, RNG, step counter) through
// save_state / load_state.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ddpg/io.h"
#include "ddpg/rng.h"

namespace ddpg {

struct Scene;  // scene.h

struct EnvSpec {
  std::string id;
  int obs_dim = 0;
  int act_dim = 0;
  std::vector<double> obs_low, obs_high;  // may be +-inf
  std::vector<double> act_low, act_high;  // finite
  int max_episode_steps = 0;              // 0: no time limit
};

struct StepResult {
  double reward = 0.0;
  bool terminated = false;  // the task ended: do not bootstrap
  bool truncated = false;   // the time limit ended the episode: bootstrap
};

// Named reward terms of the last step (e.g. "reward_ctrl"), in a fixed order per env.
using RewardTerms = std::vector<std::pair<std::string, double>>;

// Gymnasium-style keyword options, given as text. Each env reads the ones it knows; whatever is
// left unread is an error naming the key and the known ones.
class EnvOptions {
 public:
  EnvOptions() = default;
  explicit EnvOptions(std::map<std::string, std::string> values) : values_(std::move(values)) {}

  double get_double(const std::string& key, double fallback);
  int get_int(const std::string& key, int fallback);
  bool get_bool(const std::string& key, bool fallback);
  std::string get_string(const std::string& key, const std::string& fallback);
  // Throws Error listing unknown keys together with the keys this env accepts.
  void check_all_used(const std::string& env_id) const;

  const std::map<std::string, std::string>& values() const { return values_; }

 private:
  std::map<std::string, std::string> values_;
  std::vector<std::string> known_;
};

class Env {
 public:
  virtual ~Env() = default;

  const EnvSpec& spec() const { return spec_; }

  // Starts an episode. With a seed, the env's RNG is reseeded first (Gymnasium's reset(seed=...));
  // without one, it continues. Returns the first observation.
  const std::vector<double>& reset(std::optional<uint64_t> seed = std::nullopt);
  // Applies `action` (env units, size act_dim; not clipped by the env) and advances one step.
  // The new observation is obs(). Throws Error on a wrong action size or a non-finite observation.
  StepResult step(const std::vector<double>& action);

  const std::vector<double>& obs() const { return obs_; }
  const RewardTerms& reward_terms() const { return terms_; }
  int elapsed_steps() const { return elapsed_; }
  // Overrides the time limit (gymnasium.make's max_episode_steps); 0 removes it.
  void set_max_episode_steps(int n) { spec_.max_episode_steps = n; }

  // Whole state (RNG, counters, observation, physics) for exact resume.
  void save_state(ArchiveWriter& out) const;
  void load_state(ArchiveReader& in);

  // What `ddpg render` shows of the current state (scene.h): the env fills `scene` (cleared by
  // the caller). Called between steps, never by step(). Envs without a picture leave it empty.
  virtual void draw(Scene& scene) const { (void)scene; }

 protected:
  // Derived envs set spec_ in their constructor, and implement these. `do_reset` writes the
  // first observation into obs_ using rng_; `do_step` writes obs_ and terms_.
  virtual void do_reset() = 0;
  virtual StepResult do_step(const std::vector<double>& action) = 0;
  virtual void save_physics(ArchiveWriter& out) const = 0;
  virtual void load_physics(ArchiveReader& in) = 0;

  // Fixed reward-term names (Gymnasium's info keys), for envs that update values in place: terms()
  // rebuilds the list once after reset cleared it, then only values change (no allocation).
  void set_term_names(std::vector<std::string> names);
  RewardTerms& terms();

  // The seed given to the reset in progress (nullopt: none), for envs that forward it.
  const std::optional<uint64_t>& reset_seed() const { return reset_seed_; }

  EnvSpec spec_;
  Rng rng_;
  std::vector<double> obs_;
  RewardTerms terms_;

 private:
  void check_obs(const char* where) const;
  std::vector<std::string> term_names_;
  std::optional<uint64_t> reset_seed_;
  int elapsed_ = 0;
};

// x rounded to the nearest float32, as NumPy's float32 arrays store it. Written through a volatile:
// GCC 12 at -O2 folded a plain double→float→double round trip away in
// MountainCarContinuous::do_step (the stored state kept its float64 value; seen with Debian's
// g++ 12.2).
inline double round_to_float32(double x) {
  volatile float f = static_cast<float>(x);
  return f;
}

// sb3-contrib's TimeFeatureWrapper (rl-baselines3-zoo's `env_wrapper` for the PyBullet tasks):
// `env` with one more observation, the remaining time 1 - t/T in [0, 1], where t is the episode's
// step count and T its time limit (1 after reset, 0 at the step that truncates). Everything else
// (actions, rewards, terms, termination, seeding, state) is `env`'s: the same seed gives the same
// inner trajectory. The wrapper owns the time limit (set_max_episode_steps on it changes T).
// Throws Error when `env` has no time limit. sb3-contrib's `test_mode` (a constant 1) is not
// offered.
std::unique_ptr<Env> with_time_feature(std::unique_ptr<Env> env);

// Maps an agent action in [-1, 1] to the env's bounds, per dimension: low + (a + 1)/2 (high - low).
void rescale_action(const float* action, const EnvSpec& spec, std::vector<double>& env_action);

using EnvFactory = std::function<std::unique_ptr<Env>(EnvOptions&)>;

struct EnvInfo {
  std::string id;
  std::string family;       // "classic", "mujoco", ...
  std::string description;  // one line
  EnvFactory factory;
};

// All registered envs, in a stable order (registration order).
const std::vector<EnvInfo>& env_registry();
// Creates an env; throws Error for an unknown id (listing near matches) or bad options.
std::unique_ptr<Env> make_env(const std::string& id,
                              const std::map<std::string, std::string>& options = {});
bool env_exists(const std::string& id);
// Envs defined at run time outside the project (the Python module's): make_env and env_exists
// find them after the built-in ones; registering an id again replaces its factory. Thread-safe.
void register_external_env(const EnvInfo& info);
// The MJCF text a MuJoCo env's model is built from; throws Error for an env without one.
std::string env_model_xml(const std::string& id);

}  // namespace ddpg
