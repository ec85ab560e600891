// Config: every setting of a run, one struct per concern, defaults in the structs only.
//
// A run's config is resolved in layers: these defaults, then a preset (`configs/presets/NAME.yaml`,
// or `configs/zoo/ENV.yaml` for `--preset zoo`), then the user's YAML files (deltas only), then
// `--set section.key=value` overrides. Every field is reachable by `section.key`; `env.KEY` other
// than `env.id` are the env's own Gymnasium-style options. `validate` reports every problem at
// once, naming the key and the allowed values. A run writes its fully resolved config (`to_yaml`)
// into its folder; reading that file back gives the same config.
//
// Where a default differs from the DDPG paper (Lillicrap et al. 2015), the field's comment gives
// the paper's value; the `paper` preset sets them all.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace ddpg {

struct AgentConfig {
  std::vector<int> hidden{400, 300};  // hidden layer sizes of actor and critic (paper 400-300)
  std::string activation = "relu";    // hidden activation: relu, tanh, elu, leaky_relu
  double gamma = 0.99;                // discount factor γ
  double tau = 0.005;    // Polyak rate: target ← τ·online + (1−τ)·target (paper 0.001)
  int batch_size = 256;  // transitions per update (paper 64)
  int64_t buffer_size = 1000000;     // replay capacity, oldest overwritten first
  double actor_lr = 1e-3;            // Adam step size of the actor (paper 1e-4)
  double critic_lr = 1e-3;           // Adam step size of the critic (paper 1e-3)
  double critic_weight_decay = 0.0;  // L2 on critic weights inside Adam (paper 1e-2)
  double grad_clip = 0.0;            // max gradient norm per network per update; 0: off
  int critic_action_layer = 0;  // hidden layer where the action joins: 0 input, 1 second (paper)
  double final_init = 0.0;      // output layers ~ U(±final_init); 0: LibTorch's (paper 3e-3)
  // The critic's action input is this × the action in [-1, 1]. 1: the normalised action (SB3,
  // CleanRL); the TD3 authors' code (OurDDPG, TD3) feeds max_action · tanh(·), the env's units for
  // symmetric bounds: 3 on InvertedPendulum, 0.4 on Humanoid. Only the critic's input changes: the
  // actor, the replay buffer and every noise (noise.sigma, target_noise) stay in [-1, 1] units.
  double critic_action_scale = 1.0;
  std::string layer_norm = "none";  // LayerNorm after each hidden layer: none, actor, critic, both
  // TD3's components (Fujimoto et al. 2018), off in DDPG:
  int n_critics = 1;               // critics; the target takes the min over them (TD3 2)
  int policy_delay = 1;            // critic updates per actor and target update (TD3 2)
  double target_noise = 0.0;       // std of Gaussian noise on target actions (TD3 0.2)
  double target_noise_clip = 0.5;  // that noise is clipped to ±target_noise_clip (TD3 0.5)
  std::string target_noise_draw = "per_sample";  // per_sample (TD3), or shared: one ε per batch
  double target_weight_noise = 0.0;  // σ of Gaussian noise on the target actor's weights; 0 off
  std::string target_weight_noise_draw =
      "all";  // all: one σ for every matrix; per_matrix: σ·rms(W)
  // Further switches:
  int n_step = 1;         // n-step returns: r_t + ... + γ^{n−1} r_{t+n−1} + γ^n Q'(s_{t+n})
  bool obs_norm = false;  // normalise observations by running mean/std (Baselines: on)
  double obs_norm_clip = 5.0;  // normalised observations are clipped to ±this
  // What a time-limit truncation does to the Bellman target. "bootstrap": nothing, only
  // `terminated` stops the bootstrap (Gymnasium's semantics; SB3 >= 1.1, CleanRL, the TD3 authors'
  // code). "terminal": the last transition of a truncated episode is stored as terminal too, as SB3
  // before 1.1 (July 2021) stored every episode end; rl-zoo's published PyBullet agents were
  // trained so, with the time feature in the observation. Only for reproducing such results.
  std::string truncation = "bootstrap";
  // How an update is computed (not what it computes): the batch is split into this many shards,
  // each shard's gradient is computed on its own core with single-threaded matrix multiplies, and
  // the shard gradients are summed in a fixed order. Results depend on it, never on the thread
  // count (trainer.threads only decides how many shards run at once).
  int batch_shards = 2;
};

struct NoiseConfig {
  std::string type = "gaussian";  // exploration noise: none, gaussian, ou, param (paper: ou)
  double sigma = 0.1;   // std of Gaussian noise / OU σ, in [-1, 1] action units (paper 0.2)
  double theta = 0.15;  // OU mean reversion θ
  double dt = 1e-2;     // OU time step: x += θ(μ−x)dt + σ√dt·N (SB3 1e-2; rllab/paper 1)
  double mu = 0.0;      // OU long-run mean μ
  // Adaptive parameter-space noise (Plappert et al. 2018), type `param`: the actor's weights get
  // N(0, σ_w²); σ_w adapts so that the RMS action change tracks `sigma` (the desired action std).
  double param_initial_sigma = 0.2;  // initial σ_w (Baselines adaptive-param_0.2)
  double param_alpha = 1.01;         // σ_w ×α when the distance is below `sigma`, ÷α above
  int param_adapt_every = 50;        // updates between adaptations (Baselines 50)
  // Schedules of `sigma` over env steps: constant, linear or exponential from `sigma` to
  // `sigma_final` over `schedule_steps` steps, then constant.
  std::string schedule = "constant";
  double sigma_final = 0.0;
  int64_t schedule_steps = 100000;
};

// σ at env step `step` under the config's schedule.
double scheduled_sigma(const NoiseConfig& cfg, int64_t step);

struct TrainerConfig {
  uint64_t seed = 0;                // seeds networks, env resets, replay sampling and noise
  int64_t total_steps = 1000000;    // env steps of the whole run
  int64_t learning_starts = 10000;  // uniform-random actions and no updates before this step
  int update_every = 1;  // env steps (or episodes) between update phases (SB3 train_freq)
  // What update_every counts: "step" (env steps) or "episode" (finished episodes of all envs, SB3's
  // train_freq=(n, "episode"); the 2018 TD3/OurDDPG code trained at each episode end).
  std::string update_unit = "step";
  // Updates per update phase; -1: as many as env steps since the previous phase (SB3's -1; with
  // update_unit episode, the finished episodes' lengths, as the 2018 TD3 code did).
  int gradient_steps = 1;
  // The first env step after which update phases run; -1: learning_starts (SB3, CleanRL). Spinning
  // Up's update_after; the 2018 TD3 code updated from its first episode on (0), during the random
  // steps.
  int64_t update_after = -1;
  int64_t eval_every = 5000;         // env steps between deterministic evaluations; 0: only at end
  int eval_episodes = 10;            // episodes per evaluation
  int64_t checkpoint_every = 50000;  // env steps between checkpoints (one is always written at end)
  int threads = 0;                   // cores for updates and env stepping; 0: all cores
  // Envs stepped together (a thread pool; their observations go through the actor as one batch).
  // Each env has its own noise process and reset seed; `total_steps`, `learning_starts`,
  // `update_every`, `eval_every` and `checkpoint_every` count env steps of all envs together, so
  // updates per env step stay gradient_steps / update_every for any num_envs.
  int num_envs = 1;
  // Asynchronous collection: the envs step (on one thread) while the updates owed by the previous
  // step run, so actions come from parameters one update phase behind the synchronous loop (a
  // bounded lag of update_every env steps, gradient_steps updates). Deterministic, and resumable.
  bool async_collect = false;
  // Distributed training (docs/distributed.md): "actors" under `mpirun -np K`: rank 0 is the
  // learner (replay, updates, evaluation, logs, checkpoints), ranks 1..K-1 are actors that step
  // their own trainer.num_envs envs and stream transitions to it; "none": one process.
  std::string distributed = "none";
  // TensorBoard event files in the run folder (returns, losses, Q, steps/s, noise sigma,
  // evaluations).
  bool tensorboard = false;
  int actor_batch = 50;    // env steps an actor sends per message
  int refresh_every = 50;  // learner updates between an actor's parameter refreshes
};

struct EnvConfig {
  std::string id = "Pendulum-v1";              // env id, see `ddpg envs`
  std::map<std::string, std::string> options;  // Gymnasium keyword options, e.g. g: 9.81
};

struct Config {
  AgentConfig agent;
  NoiseConfig noise;
  TrainerConfig trainer;
  EnvConfig env;
};

// One settable field: its key, its comment, where it lives and what values it allows.
struct FieldRef {
  using Ptr =
      std::variant<double*, int64_t*, int*, uint64_t*, bool*, std::string*, std::vector<int>*>;
  FieldRef(std::string section_, std::string key_, std::string doc_, Ptr ptr_, double min_ = -1e300,
           double max_ = 1e300, std::vector<std::string> choices_ = {})
      : section(std::move(section_)),
        key(std::move(key_)),
        doc(std::move(doc_)),
        ptr(ptr_),
        min(min_),
        max(max_),
        choices(std::move(choices_)) {}
  std::string section, key, doc;
  Ptr ptr;
  double min, max;                   // inclusive bounds for numbers (and list elements)
  std::vector<std::string> choices;  // allowed strings; empty: any
  std::string name() const { return section + "." + key; }
};

// Every field of `c` (env options excluded), in the order they are documented.
std::vector<FieldRef> config_fields(Config& c);

// Errors found while building or checking a config; all are collected, then thrown together.
class ConfigErrors {
 public:
  void add(const std::string& msg) { errors_.push_back(msg); }
  bool empty() const { return errors_.empty(); }
  // Throws ddpg::Error listing every problem, one per line.
  void throw_if_any(const std::string& context) const;

 private:
  std::vector<std::string> errors_;
};

// Sets `section.key` from text (numbers, true/false, lists as "400,300" or "[400, 300]").
void apply_set(Config& c, const std::string& assignment, ConfigErrors& errors);
// Applies a YAML delta text; `origin` names it in messages. Keys unknown to any section are
// errors. A top-level `per_env: {ENV_ID: {...}}` block applies only when env.id matches.
void apply_yaml(Config& c, const std::string& yaml_text, const std::string& origin,
                ConfigErrors& errors);
// Checks ranges, choices and relations between fields.
void validate(const Config& c, ConfigErrors& errors);
// The fully resolved config as YAML, one commented line per field.
std::string to_yaml(const Config& c);

// The text of a preset: `zoo` depends on the env id. Throws Error for unknown presets, naming the
// available ones.
std::string preset_text(const std::string& name, const std::string& env_id);
std::vector<std::string> preset_names();

// Command-line inputs to resolve into one config.
struct ConfigSources {
  std::string preset;                  // "" for none
  std::vector<std::string> files;      // YAML delta files, applied in order
  std::vector<std::string> sets;       // "section.key=value"
  std::string env_id;                  // --env, "" for unset
  std::optional<uint64_t> seed;        // --seed
  std::optional<int64_t> total_steps;  // --steps
};
// Resolves defaults → preset → files → sets → shortcuts, validates, and returns the config or
// throws Error listing every problem.
Config resolve_config(const ConfigSources& sources);

}  // namespace ddpg
