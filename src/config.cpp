// Config: fields table, YAML and --set parsing, validation, presets, resolution.
#include "ddpg/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>
#include <sstream>

#include "ddpg/embedded.h"
#include "ddpg/env.h"
#include "ddpg/io.h"
#include "src/yaml_doc.h"

namespace ddpg {
namespace {

const double kInf = 1e300;

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

std::string join(const std::vector<std::string>& v, const std::string& sep) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? sep : "") + v[i];
  return s;
}

bool parse_double(const std::string& text, double& out) {
  const std::string t = trim(text);
  if (t.empty()) return false;
  char* end = nullptr;
  out = std::strtod(t.c_str(), &end);
  return end == t.c_str() + t.size() && std::isfinite(out);
}

bool parse_int64(const std::string& text, int64_t& out) {
  double d;
  if (!parse_double(text, d)) return false;  // accepts 1e6 and 1000000
  if (d != std::floor(d) || std::fabs(d) > 9.0e18) return false;
  out = static_cast<int64_t>(d);
  return true;
}

std::string describe_range(const FieldRef& f) {
  std::ostringstream s;
  if (f.min > -kInf && f.max < kInf) {
    s << "[" << format_double(f.min) << ", " << format_double(f.max) << "]";
  } else if (f.min > -kInf) {
    s << ">= " << format_double(f.min);
  } else if (f.max < kInf) {
    s << "<= " << format_double(f.max);
  }
  return s.str();
}

// Parses `text` into the field; adds an error naming the key and the expected form on failure.
void set_field(FieldRef& f, const std::string& text, const std::string& origin,
               ConfigErrors& errors) {
  const std::string where = origin.empty() ? "" : " (" + origin + ")";
  auto bad = [&](const std::string& expected) {
    errors.add(f.name() + ": '" + text + "' is not " + expected + where);
  };
  std::visit(
      [&](auto* p) {
        using T = std::remove_pointer_t<decltype(p)>;
        if constexpr (std::is_same_v<T, double>) {
          double v;
          if (!parse_double(text, v)) return bad("a number");
          *p = v;
        } else if constexpr (std::is_same_v<T, bool>) {
          const std::string t = trim(text);
          if (t == "true" || t == "1" || t == "yes" || t == "on") {
            *p = true;
          } else if (t == "false" || t == "0" || t == "no" || t == "off") {
            *p = false;
          } else {
            return bad("true or false");
          }
        } else if constexpr (std::is_same_v<T, std::string>) {
          *p = trim(text);
        } else if constexpr (std::is_same_v<T, std::vector<int>>) {
          std::string t = trim(text);
          if (!t.empty() && t.front() == '[') t = t.substr(1);
          if (!t.empty() && t.back() == ']') t.pop_back();
          std::vector<int> v;
          std::stringstream ss(t);
          std::string item;
          while (std::getline(ss, item, ',')) {
            int64_t n;
            if (!parse_int64(item, n)) return bad("a list of integers like 400,300");
            v.push_back(static_cast<int>(n));
          }
          *p = v;
        } else {
          int64_t v;
          if (!parse_int64(text, v)) return bad("an integer");
          if constexpr (std::is_same_v<T, uint64_t>) {
            if (v < 0) return bad("a non-negative integer");
          }
          *p = static_cast<T>(v);
        }
      },
      f.ptr);
}

FieldRef* find_field(std::vector<FieldRef>& fields, const std::string& section,
                     const std::string& key) {
  for (auto& f : fields) {
    if (f.section == section && f.key == key) return &f;
  }
  return nullptr;
}

std::vector<std::string> keys_of(std::vector<FieldRef>& fields, const std::string& section) {
  std::vector<std::string> keys;
  for (auto& f : fields) {
    if (f.section == section) keys.push_back(f.key);
  }
  return keys;
}

const std::vector<std::string> kSections = {"agent", "noise", "trainer", "env"};

// Sets one `section.key` (already split) from text; env options go to the env's map.
void set_key(Config& c, const std::string& section, const std::string& key,
             const std::string& value, const std::string& origin, ConfigErrors& errors) {
  if (std::find(kSections.begin(), kSections.end(), section) == kSections.end()) {
    errors.add("unknown config section '" + section + "' in '" + section + "." + key +
               "' (sections: " + join(kSections, ", ") + ")" +
               (origin.empty() ? "" : " (" + origin + ")"));
    return;
  }
  if (section == "env" && key != "id") {
    c.env.options[key] = trim(value);  // checked by the env itself in validate()
    return;
  }
  auto fields = config_fields(c);
  FieldRef* f = find_field(fields, section, key);
  if (!f) {
    errors.add("unknown config key '" + section + "." + key + "'" +
               (origin.empty() ? "" : " (" + origin + ")") + "; keys of '" + section +
               "': " + join(keys_of(fields, section), ", "));
    return;
  }
  set_field(*f, value, origin, errors);
}

std::string yaml_scalar_text(const YAML::Node& n) {
  if (n.IsScalar()) return n.Scalar();
  if (n.IsSequence()) {
    std::vector<std::string> items;
    for (const auto& item : n) items.push_back(item.IsScalar() ? item.Scalar() : "?");
    return join(items, ",");
  }
  return "";
}

void apply_section_map(Config& c, const YAML::Node& root, const std::string& origin,
                       ConfigErrors& errors) {
  for (const auto& sec : root) {
    if (!sec.first.IsScalar()) continue;  // reported by check_duplicate_keys
    const std::string section = sec.first.Scalar();
    if (section == "per_env") continue;
    if (!sec.second.IsMap()) {
      errors.add(origin + ": '" + section + "' must be a mapping of keys to values (e.g. " +
                 "'agent: {gamma: 0.98}')");
      continue;
    }
    for (const auto& kv : sec.second) {
      if (!kv.first.IsScalar()) continue;  // reported by check_duplicate_keys
      const std::string key = kv.first.Scalar();
      if (kv.second.IsMap() || kv.second.IsNull()) {
        errors.add(section + "." + key + " (" + origin + "): needs a value");
        continue;
      }
      set_key(c, section, key, yaml_scalar_text(kv.second), origin, errors);
    }
  }
}

}  // namespace

double scheduled_sigma(const NoiseConfig& cfg, int64_t step) {
  if (cfg.schedule == "constant") return cfg.sigma;
  const double f = std::min(1.0, static_cast<double>(step) / cfg.schedule_steps);
  if (cfg.schedule == "linear") return cfg.sigma + f * (cfg.sigma_final - cfg.sigma);
  // exponential: geometric interpolation, σ0 (σ1/σ0)^f
  return cfg.sigma * std::pow(cfg.sigma_final / cfg.sigma, f);
}

std::vector<FieldRef> config_fields(Config& c) {
  auto& a = c.agent;
  auto& n = c.noise;
  auto& t = c.trainer;
  const std::vector<std::string> activations = {"relu", "tanh", "elu", "leaky_relu"};
  std::vector<FieldRef> f = {
      {"agent", "hidden", "hidden layer sizes of actor and critic", &a.hidden, 1, 65536},
      {"agent", "activation", "hidden activation", &a.activation, -kInf, kInf, activations},
      {"agent", "gamma", "discount factor", &a.gamma, 0, 1},
      {"agent", "tau", "Polyak rate of the target networks", &a.tau, 0, 1},
      {"agent", "batch_size", "transitions per update", &a.batch_size, 1, 1 << 20},
      {"agent", "buffer_size", "replay capacity", &a.buffer_size, 1, 1e10},
      {"agent", "actor_lr", "Adam step size of the actor", &a.actor_lr, 0, 10},
      {"agent", "critic_lr", "Adam step size of the critic", &a.critic_lr, 0, 10},
      {"agent", "critic_weight_decay", "L2 on critic weights", &a.critic_weight_decay, 0, 10},
      {"agent", "grad_clip", "max gradient norm per network; 0 off", &a.grad_clip, 0, kInf},
      {"agent", "critic_action_layer", "layer where the action joins the critic (0 input)",
       &a.critic_action_layer, 0, 64},
      {"agent", "final_init", "output layers ~ U(+-final_init); 0 LibTorch default", &a.final_init,
       0, 10},
      {"agent", "critic_action_scale",
       "the critic sees this x the action in [-1, 1] (TD3 authors' code: max_action)",
       &a.critic_action_scale, 1e-3, 1000},
      {"agent",
       "layer_norm",
       "LayerNorm after hidden layers",
       &a.layer_norm,
       -kInf,
       kInf,
       {"none", "actor", "critic", "both"}},
      {"agent", "n_critics", "critics; target uses their min (TD3 2)", &a.n_critics, 1, 16},
      {"agent", "policy_delay", "critic updates per actor/target update (TD3 2)", &a.policy_delay,
       1, 1e6},
      {"agent", "target_noise", "std of noise on target actions (TD3 0.2)", &a.target_noise, 0, 10},
      {"agent", "target_noise_clip", "clip of the target-action noise", &a.target_noise_clip, 0,
       10},
      {"agent",
       "target_noise_draw",
       "target noise: per_sample or one shared draw per batch",
       &a.target_noise_draw,
       -kInf,
       kInf,
       {"per_sample", "shared"}},
      {"agent", "target_weight_noise", "sigma of noise on target actor weights; 0 off",
       &a.target_weight_noise, 0, 10},
      {"agent",
       "target_weight_noise_draw",
       "weight noise scale: all (one sigma) or per_matrix",
       &a.target_weight_noise_draw,
       -kInf,
       kInf,
       {"all", "per_matrix"}},
      {"agent", "n_step", "n-step returns", &a.n_step, 1, 1000},
      {"agent", "obs_norm", "normalise observations (running mean/std)", &a.obs_norm},
      {"agent", "obs_norm_clip", "clip of normalised observations", &a.obs_norm_clip, 0.1, 1e6},
      {"agent",
       "truncation",
       "time-limit truncation: bootstrap (Gymnasium), or terminal (SB3 < 1.1)",
       &a.truncation,
       -kInf,
       kInf,
       {"bootstrap", "terminal"}},
      {"agent", "batch_shards", "batch shards whose gradients are summed (one core each)",
       &a.batch_shards, 1, 64},
      {"noise",
       "type",
       "exploration noise",
       &n.type,
       -kInf,
       kInf,
       {"none", "gaussian", "ou", "param"}},
      {"noise", "sigma", "noise std (Gaussian) or OU sigma, action units", &n.sigma, 0, 100},
      {"noise", "theta", "OU mean reversion", &n.theta, 0, 1e6},
      {"noise", "dt", "OU time step", &n.dt, 1e-9, 1e6},
      {"noise", "mu", "OU long-run mean", &n.mu, -1, 1},
      {"noise", "param_initial_sigma", "initial weight sigma of parameter noise",
       &n.param_initial_sigma, 1e-9, 100},
      {"noise", "param_alpha", "parameter-noise adaptation factor", &n.param_alpha, 1, 10},
      {"noise", "param_adapt_every", "updates between parameter-noise adaptations",
       &n.param_adapt_every, 1, 1e9},
      {"noise",
       "schedule",
       "sigma schedule",
       &n.schedule,
       -kInf,
       kInf,
       {"constant", "linear", "exponential"}},
      {"noise", "sigma_final", "sigma at the end of the schedule", &n.sigma_final, 0, 100},
      {"noise", "schedule_steps", "env steps of the schedule", &n.schedule_steps, 1, 1e12},
      {"trainer", "seed", "run seed", &t.seed, 0, kInf},
      {"trainer", "total_steps", "env steps of the whole run", &t.total_steps, 1, 1e12},
      {"trainer", "learning_starts", "random-action steps (and steps before updates)",
       &t.learning_starts, 0, 1e12},
      {"trainer", "update_every", "env steps (or episodes) between update phases", &t.update_every,
       1, 1e9},
      {"trainer",
       "update_unit",
       "what update_every counts",
       &t.update_unit,
       -kInf,
       kInf,
       {"step", "episode"}},
      {"trainer", "gradient_steps", "updates per update phase; -1 one per env step since the last",
       &t.gradient_steps, -1, 1e9},
      {"trainer", "update_after", "env steps before update phases run; -1 learning_starts",
       &t.update_after, -1, 1e12},
      {"trainer", "eval_every", "env steps between evaluations; 0 only at end", &t.eval_every, 0,
       1e12},
      {"trainer", "eval_episodes", "episodes per evaluation", &t.eval_episodes, 1, 1e6},
      {"trainer", "checkpoint_every", "env steps between checkpoints", &t.checkpoint_every, 1,
       1e12},
      {"trainer", "threads", "cores for updates and env stepping; 0 all cores", &t.threads, 0,
       1024},
      {"trainer", "num_envs", "envs stepped together (thread pool)", &t.num_envs, 1, 1024},
      {"trainer", "async_collect", "step envs while the previous step's updates run",
       &t.async_collect},
      {"trainer", "tensorboard", "write TensorBoard event files in the run folder", &t.tensorboard},
      {"trainer",
       "distributed",
       "actors: one learner and K-1 actor ranks under mpirun -np K",
       &t.distributed,
       -kInf,
       kInf,
       {"none", "actors"}},
      {"trainer", "actor_batch", "env steps per actor message (distributed)", &t.actor_batch, 1,
       1e6},
      {"trainer", "refresh_every", "updates between actor parameter refreshes (distributed)",
       &t.refresh_every, 1, 1e9},
      {"env", "id", "env id (see 'ddpg envs')", &c.env.id},
  };
  return f;
}

void ConfigErrors::throw_if_any(const std::string& context) const {
  if (errors_.empty()) return;
  std::string msg = context + ": " + std::to_string(errors_.size()) + " problem" +
                    (errors_.size() > 1 ? "s" : "") + ":";
  for (const auto& e : errors_) msg += "\n  - " + e;
  throw Error(msg);
}

void apply_set(Config& c, const std::string& assignment, ConfigErrors& errors) {
  const auto eq = assignment.find('=');
  const auto dot = assignment.find('.');
  if (eq == std::string::npos || dot == std::string::npos || dot > eq) {
    errors.add("--set '" + assignment +
               "' must look like section.key=value (e.g. agent.gamma=0.98)");
    return;
  }
  const std::string section = trim(assignment.substr(0, dot));
  const std::string key = trim(assignment.substr(dot + 1, eq - dot - 1));
  set_key(c, section, key, assignment.substr(eq + 1), "--set", errors);
}

namespace {

// A mapping that names a key twice (YAML keeps one of them without a word).
void check_duplicate_keys(const YAML::Node& node, const std::string& origin, ConfigErrors& errors) {
  if (node.IsMap()) {
    std::vector<std::string> seen;
    for (const auto& kv : node) {
      if (!kv.first.IsScalar()) {
        errors.add(origin + ": line " + std::to_string(kv.first.Mark().line + 1) +
                   " has a key that is not a plain name (a list or mapping as a key)");
        continue;
      }
      const std::string key = kv.first.Scalar();
      if (std::find(seen.begin(), seen.end(), key) != seen.end()) {
        errors.add(origin + ": key '" + key + "' appears twice (line " +
                   std::to_string(kv.first.Mark().line + 1) + "); keep one");
      }
      seen.push_back(key);
      check_duplicate_keys(kv.second, origin, errors);
    }
  } else if (node.IsSequence()) {
    for (const auto& item : node) check_duplicate_keys(item, origin, errors);
  }
}

}  // namespace

void apply_yaml(Config& c, const std::string& yaml_text, const std::string& origin,
                ConfigErrors& errors) {
  YAML::Node root;
  try {
    root = load_single_document(yaml_text, origin);
  } catch (const Error& e) {
    errors.add(e.what());
    return;
  }
  check_duplicate_keys(root, origin, errors);
  if (root.IsNull()) return;  // an empty file is a valid empty delta
  if (!root.IsMap()) {
    errors.add(origin +
               ": a config file must be a mapping of sections (agent, noise, trainer, env)");
    return;
  }
  apply_section_map(c, root, origin, errors);
  // Per-env blocks apply after the file's own keys, once env.id is known.
  if (const YAML::Node per_env = root["per_env"]) {
    if (!per_env.IsMap()) {
      errors.add(origin + ": 'per_env' must map env ids to config deltas");
      return;
    }
    if (const YAML::Node block = per_env[c.env.id]) {
      if (block.IsMap()) apply_section_map(c, block, origin + " per_env." + c.env.id, errors);
    }
  }
}

namespace {

// What is wrong with an env id and its options ("" if nothing): building the env is the check.
// Remembered per (id, options), since a sweep validates the same env for every variant and seed and
// a MuJoCo model takes milliseconds to compile.
std::string env_problem(const std::string& id, const std::map<std::string, std::string>& options) {
  static std::mutex mutex;
  static std::map<std::pair<std::string, std::map<std::string, std::string>>, std::string> known;
  auto key = std::make_pair(id, options);
  {
    const std::lock_guard<std::mutex> lock(mutex);
    if (auto it = known.find(key); it != known.end()) return it->second;
  }
  std::string problem;
  try {
    if (!env_exists(id)) {
      make_env(id, {});  // throws the unknown-id message with its suggestions
    } else {
      make_env(id, options);
    }
  } catch (const Error& e) {
    problem = std::string(env_exists(id) ? "env: " : "env.id: ") + e.what();
  }
  const std::lock_guard<std::mutex> lock(mutex);
  if (known.size() >= 256) known.clear();  // bounded, whatever the inputs
  known.emplace(std::move(key), problem);
  return problem;
}

}  // namespace

void validate(const Config& cfg, ConfigErrors& errors) {
  Config c = cfg;  // config_fields needs non-const pointers; nothing is written.
  for (auto& f : config_fields(c)) {
    std::visit(
        [&](auto* p) {
          using T = std::remove_pointer_t<decltype(p)>;
          if constexpr (std::is_same_v<T, std::string>) {
            if (!f.choices.empty() &&
                std::find(f.choices.begin(), f.choices.end(), *p) == f.choices.end()) {
              errors.add(f.name() + " = '" + *p +
                         "' is not allowed (choose one of: " + join(f.choices, ", ") + ")");
            }
          } else if constexpr (std::is_same_v<T, bool>) {
            // any value is valid
          } else if constexpr (std::is_same_v<T, std::vector<int>>) {
            if (p->empty()) errors.add(f.name() + " must list at least one layer size");
            for (int v : *p) {
              if (v < f.min || v > f.max) {
                errors.add(f.name() + " has layer size " + std::to_string(v) + ", allowed " +
                           describe_range(f));
              }
            }
          } else {
            const double v = static_cast<double>(*p);
            if (v < f.min || v > f.max) {
              errors.add(f.name() + " = " + format_double(v) + " is out of range (allowed " +
                         describe_range(f) + ")");
            }
          }
        },
        f.ptr);
  }
  if (c.agent.critic_action_layer > static_cast<int>(c.agent.hidden.size()) - 1 &&
      !c.agent.hidden.empty()) {
    errors.add("agent.critic_action_layer = " + std::to_string(c.agent.critic_action_layer) +
               " needs at least " + std::to_string(c.agent.critic_action_layer + 1) +
               " hidden layers (agent.hidden has " + std::to_string(c.agent.hidden.size()) + ")");
  }
  if (c.noise.schedule == "exponential" && (c.noise.sigma <= 0 || c.noise.sigma_final <= 0)) {
    errors.add(
        "noise.schedule = exponential needs noise.sigma > 0 and noise.sigma_final > 0 "
        "(use linear to decay to 0)");
  }
  if (c.trainer.gradient_steps == 0) {
    errors.add(
        "trainer.gradient_steps = 0 would never update the agent (use a count >= 1, or -1 for one "
        "update per env step since the previous update phase)");
  }
  if (c.trainer.distributed == "actors") {
    if (c.noise.type == "param") {
      errors.add(
          "noise.type = param is not supported with trainer.distributed = actors (the adaptive "
          "scale needs the learner's batches on the actors); use gaussian or ou noise");
    }
    if (c.trainer.async_collect) {
      errors.add(
          "trainer.async_collect does not apply with trainer.distributed = actors (the actors "
          "always step beside the learner's updates); set it to false");
    }
  }
  if (c.agent.batch_size > c.agent.buffer_size) {
    errors.add("agent.batch_size (" + std::to_string(c.agent.batch_size) +
               ") is larger than agent.buffer_size (" + std::to_string(c.agent.buffer_size) + ")");
  }
  if (const std::string problem = env_problem(c.env.id, c.env.options); !problem.empty()) {
    errors.add(problem);
  }
}

std::string to_yaml(const Config& cfg) {
  Config c = cfg;
  std::ostringstream out;
  out << "# Fully resolved config of this run (ddpg " << DDPG_VERSION << ").\n";
  std::string section;
  for (auto& f : config_fields(c)) {
    if (f.section != section) {
      section = f.section;
      out << section << ":\n";
    }
    std::string value;
    std::visit(
        [&](auto* p) {
          using T = std::remove_pointer_t<decltype(p)>;
          if constexpr (std::is_same_v<T, double>) {
            value = format_double(*p);
          } else if constexpr (std::is_same_v<T, bool>) {
            value = *p ? "true" : "false";
          } else if constexpr (std::is_same_v<T, std::string>) {
            value = "\"" + *p + "\"";
          } else if constexpr (std::is_same_v<T, std::vector<int>>) {
            std::vector<std::string> items;
            for (int v : *p) items.push_back(std::to_string(v));
            value = "[" + join(items, ", ") + "]";
          } else {
            value = std::to_string(*p);
          }
        },
        f.ptr);
    out << "  " << f.key << ": " << value << "  # " << f.doc << "\n";
  }
  for (const auto& [k, v] : c.env.options) out << "  " << k << ": \"" << v << "\"\n";
  return out.str();
}

std::vector<std::string> preset_names() {
  std::vector<std::string> names = {"zoo"};
  for (const auto& [path, text] : embedded_files()) {
    const std::string prefix = "configs/presets/";
    if (path.rfind(prefix, 0) == 0 && path.size() > prefix.size() + 5) {
      names.push_back(path.substr(prefix.size(), path.size() - prefix.size() - 5));
    }
  }
  return names;
}

std::string preset_text(const std::string& name, const std::string& env_id) {
  if (name == "zoo") {
    // A file for the env itself, else one for its family (e.g. configs/zoo/mujoco.yaml).
    if (const std::string* text = embedded_file("configs/zoo/" + env_id + ".yaml")) return *text;
    for (const auto& info : env_registry()) {
      if (info.id != env_id) continue;
      if (const std::string* text = embedded_file("configs/zoo/" + info.family + ".yaml")) {
        return *text;
      }
    }
    std::vector<std::string> have;
    for (const auto& [p, t] : embedded_files()) {
      if (p.rfind("configs/zoo/", 0) == 0) have.push_back(p.substr(12, p.size() - 17));
    }
    throw Error("no zoo preset for " + env_id + " (zoo presets exist for: " + join(have, ", ") +
                "); choose another --preset");
  }
  if (const std::string* text = embedded_file("configs/presets/" + name + ".yaml")) return *text;
  throw Error("unknown preset '" + name + "' (available: " + join(preset_names(), ", ") + ")");
}

Config resolve_config(const ConfigSources& src) {
  ConfigErrors errors;
  std::vector<std::pair<std::string, std::string>> files;  // (origin, text)
  for (const auto& path : src.files) {
    try {
      files.push_back({path, read_file(path, kTextFileLimit)});
    } catch (const Error& e) {
      errors.add(e.what());
    }
  }
  // The env id first: the zoo preset depends on it.
  auto layers = [&](Config& c, ConfigErrors& errs, bool with_preset) {
    if (with_preset && !src.preset.empty()) {
      try {
        apply_yaml(c, preset_text(src.preset, c.env.id), "preset " + src.preset, errs);
      } catch (const Error& e) {
        errs.add(e.what());
      }
    }
    for (const auto& [origin, text] : files) apply_yaml(c, text, origin, errs);
    for (const auto& s : src.sets) apply_set(c, s, errs);
    if (!src.env_id.empty()) c.env.id = src.env_id;
  };
  Config probe;
  ConfigErrors ignored;
  layers(probe, ignored, false);

  Config c;
  c.env.id = probe.env.id;
  layers(c, errors, true);
  c.env.id = probe.env.id;
  if (src.seed) c.trainer.seed = *src.seed;
  if (src.total_steps) c.trainer.total_steps = *src.total_steps;
  validate(c, errors);
  errors.throw_if_any("invalid configuration");
  return c;
}

}  // namespace ddpg
