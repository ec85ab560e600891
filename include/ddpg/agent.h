// Agent: the DDPG learner (Lillicrap et al. 2015) — actor, critic, their target copies, and Adam —
// with TD3's components (Fujimoto et al. 2018) as config values: several critics, a delayed actor,
// and smoothed target actions. With their defaults (1 critic, delay 1, no target noise) it is DDPG.
//
// The agent owns no environment and logs nothing: `act` maps one observation to the deterministic
// action π(s) in [-1, 1]; `update` performs one gradient step on a replay batch and returns its
// statistics. Everything it holds (networks, targets, optimiser moments, its RNG, step counters) is
// saved and restored whole, so that a resumed run continues bit for bit.
//
// update(), with y the Bellman target (terminated, never truncated, stops the bootstrap):
//   a'      = clip(π'(s') + clip(ε, −c, c), −1, 1),  ε ~ N(0, target_noise²)  (a' = π'(s') in DDPG)
//   y       = r + γ (1 − terminated) min_i Q'_i(s', a')                       no gradient
//   critics ← one Adam step on Σ_i mean (Q_i(s, a) − y)²
//   every policy_delay updates:
//     actor    ← Adam step on −mean Q_1(s, π(s))       critic weights get no gradient
//     Q'_i, π' ← τ·online + (1 − τ)·target             Polyak averaging
//
// The networks are flat float buffers (layouts: mlp.h; shapes: engine().actor_shape() and
// critic_shape()); update() and act() run on them through the float kernels of update_engine.h and
// mlp.h. The tests check those kernels against LibTorch autograd (tests/oracle.h).
#pragma once

#include <optional>
#include <vector>

#include "ddpg/aligned.h"
#include "ddpg/config.h"
#include "ddpg/io.h"
#include "ddpg/mlp.h"
#include "ddpg/obs_normalizer.h"
#include "ddpg/rng.h"
#include "ddpg/update_engine.h"

namespace ddpg {

// One sampled batch, preallocated once: the replay gathers straight into these rows.
struct Batch {
  Batch() = default;
  Batch(int batch_size, int obs_dim, int act_dim, double gamma);
  int size = 0, obs_dim = 0, act_dim = 0;
  std::vector<float> obs;         // size × obs_dim, raw (the agent normalises when configured)
  std::vector<float> action;      // size × act_dim, in [-1, 1]
  std::vector<float> reward;      // size, n-step discounted sum for n > 1
  std::vector<float> next_obs;    // size × obs_dim
  std::vector<float> terminated;  // size, 1 where the episode terminated
  std::vector<float> discount;    // size, γ^k of the bootstrap (γ for one-step transitions)
  BatchView view() const {
    return {obs.data(),      action.data(),     reward.data(),
            next_obs.data(), terminated.data(), discount.data()};
  }
};

struct UpdateStats {
  double critic_loss = 0.0;
  double actor_loss = 0.0;
  double mean_q = 0.0;  // mean Q(s, a) over the batch
};

// Adaptive parameter-space noise (Plappert et al. 2018) on the actor. The behaviour policy is a
// perturbed copy θ̃ = θ + N(0, σ_w²) of the actor's weights and biases (LayerNorm gains and biases
// are never perturbed), resampled at each episode start and fixed within it. Every `adapt_every`
// updates a separate copy is perturbed from the current actor and its RMS action distance to the
// actor on a replay batch, d = sqrt(mean((π(s) − π̃(s))²)), moves σ_w: ×α if d ≤ δ, ÷α otherwise,
// with δ the desired action std (noise.sigma, scheduled).
struct ParamNoiseState {
  double sigma = 0.0;     // current σ_w
  double distance = 0.0;  // last measured d (0 before the first adaptation)
  double target = 0.0;    // δ
};

// The random draws of the last update's target (for tests that replay them in a reference).
struct TargetDraws {
  const float* eps = nullptr;           // target-action noise, eps_rows × act_dim, clipped
  int eps_rows = 0;                     // 0 (none), 1 (shared) or the batch size
  const float* target_actor = nullptr;  // the weight-perturbed target actor (nullptr: none)
};

class Agent {
 public:
  // Networks are initialised (mlp_init) from an Rng seeded with `seed`.
  Agent(const AgentConfig& cfg, int obs_dim, int act_dim, uint64_t seed);

  // π(s) for one observation, written as act_dim floats in [-1, 1] (the training loop's act).
  void act(const std::vector<double>& obs, float* action);
  // The same π(s) for a policy that stays fixed over many calls (evaluation): on a transposed copy
  // of the actor (mlp_pack_act), made on the first call after the actor changed. Its sums run in
  // another order than act()'s, so the two differ in the last bits; which one a caller uses never
  // depends on history, so runs stay deterministic and resume exactly.
  void act_fixed(const std::vector<double>& obs, float* action);
  // π(s) for several observations in one pass of the float kernels; `actions` gets n × act_dim.
  void act_rows(const std::vector<const std::vector<double>*>& obs, std::vector<float>& actions);

  // Observation statistics: the trainer shows every observation of the training env.
  void observe(const std::vector<double>& obs);
  const ObsNormalizer* obs_normalizer() const { return cfg_.obs_norm ? &obs_norm_ : nullptr; }
  // Distributed training: the learner adds the statistics of the observations an actor saw; an
  // actor takes the learner's. (No-ops without agent.obs_norm.)
  void merge_observations(const ObsNormalizer& seen);
  void set_observation_stats(const ObsNormalizer& stats);

  // Parameter-space noise: on, with its config; resample at episode start; act with θ̃.
  void enable_param_noise(const NoiseConfig& noise);
  void resample_perturbation();
  void act_perturbed(const std::vector<double>& obs, float* action);
  void set_param_noise_target(double delta) { param_.target = delta; }
  const ParamNoiseState* param_noise() const { return param_on_ ? &param_ : nullptr; }

  UpdateStats update(const Batch& batch);
  // Cores the update may use (at most agent.batch_shards); 1 by default.
  void set_threads(int threads) { engine_.set_threads(threads); }
  const UpdateEngine& engine() const { return engine_; }
  UpdateEngine& engine() { return engine_; }
  // The draws the last update() made for its target.
  TargetDraws last_target_draws() const;

  Batch& batch() { return batch_; }
  int obs_dim() const { return obs_dim_; }
  int act_dim() const { return act_dim_; }
  // The networks' flat parameter buffers (layouts: engine().actor_shape(), critic_shape()). They
  // are the update engine's bound buffers: after writing to them directly, call
  // parameters_changed() so that the engine's per-thread replicas follow.
  void parameters_changed() {
    engine_.sync_replicas();
    actor_changed();
  }
  float* actor() {
    actor_changed();  // (the caller may write to it)
    return actor_.data();
  }
  const float* actor() const { return actor_.data(); }
  float* actor_target() { return actor_target_.data(); }
  float* critic(int i = 0) { return critics_[i].data(); }
  float* critic_target(int i = 0) { return critic_targets_[i].data(); }
  float* perturbed_actor() { return perturbed_.data(); }  // θ̃ (parameter noise on)
  int64_t updates() const { return updates_; }
  const AgentConfig& config() const { return cfg_; }

  void save(ArchiveWriter& out) const;
  void load(ArchiveReader& in);

 private:
  void refresh_norm();
  // dst ← src + noise on every weight and bias (not LayerNorm), from rng_: N(0, σ²), or with
  // per_matrix N(0, (σ·RMS of the tensor)²).
  void perturb(float* dst, const float* src, double sigma, bool per_matrix);
  void adapt_param_noise(const Batch& b);
  // Loads one observation (normalised when configured) into obs_scratch_.
  const float* load_obs(const std::vector<double>& obs);
  void actor_changed() { act_packed_valid_ = false; }

  AgentConfig cfg_;
  int obs_dim_, act_dim_;
  UpdateEngine engine_;  // holds the Adam moments
  FloatBuffer actor_, actor_target_, noisy_target_, perturbed_, adaptive_;
  std::vector<FloatBuffer> critics_, critic_targets_;
  Rng rng_;                        // target-action noise, weight perturbations
  std::vector<float> target_eps_;  // (B, act_dim) target-action noise of the last update
  int target_eps_rows_ = 0;
  Batch batch_;
  std::vector<float> obs_scratch_, act_scratch_;  // act(): one observation, layer scratch
  FloatBuffer act_packed_;                        // act_fixed(): the transposed copy
  bool act_packed_valid_ = false;                 // ... of the actor as it is now
  std::vector<float> rows_scratch_;               // act_rows(), adaptation: rows of observations
  std::vector<float> adapt_a_, adapt_b_;          // adaptation: actions of π and of the copy
  ObsNormalizer obs_norm_;
  std::vector<float> norm_mean_, norm_inv_std_;  // float copies of the statistics
  bool norm_dirty_ = true;
  bool param_on_ = false;
  NoiseConfig param_cfg_;
  ParamNoiseState param_;
  int64_t updates_ = 0;
  double last_actor_loss_ = 0.0;  // reported on updates that skip the actor
};

// Writes/reads a network's flat buffer as the checkpoint's list of tensors (mlp_tensors), checking
// each tensor's size on read.
void save_network(ArchiveWriter& out, const MlpShape& shape, const float* params,
                  const std::string& name);
void load_network(ArchiveReader& in, const MlpShape& shape, float* params, const std::string& name);

struct EnvSpec;

// What a policy file records of the env it was trained on (format version 3; empty in version 2
// files): its id and action bounds, so that a deployed policy can act in env units.
struct PolicyEnvInfo {
  std::string id;
  std::vector<double> act_low, act_high;
};

// A deployable policy: the actor and the observation normalisation it was trained with. It maps a
// raw observation to an action in [-1, 1]; rescale it to the env's bounds with rescale_action.
class DeployedPolicy {
 public:
  DeployedPolicy(const MlpShape& shape, FloatBuffer params, std::optional<ObsNormalizer> norm,
                 PolicyEnvInfo env = {});
  void act(const std::vector<double>& obs, float* action);
  int obs_dim() const { return shape_.in; }
  int act_dim() const { return shape_.out; }
  const MlpShape& shape() const { return shape_; }
  const float* params() const { return params_.data(); }
  // The observation normalisation it was trained with (nullptr: none).
  const ObsNormalizer* obs_normalizer() const { return norm_ ? &*norm_ : nullptr; }
  // The env the policy was trained on (id and bounds empty for a version-2 file).
  const PolicyEnvInfo& env() const { return env_; }

 private:
  MlpShape shape_;
  FloatBuffer params_, packed_;  // packed_: params_ laid out by mlp_pack_act
  std::optional<ObsNormalizer> norm_;
  PolicyEnvInfo env_;
  std::vector<float> obs_, scratch_;
};

// Writes the agent's actor (and normaliser) and the env's id and action bounds as a policy file,
// atomically. The layout (format version 3) is read without this library by the policy runtime
// (include/ddpg/runtime/policy.h, docs/deploy.md).
void save_policy(const std::string& path, Agent& agent, const EnvSpec& env);
// Loads a policy file written by save_policy. Throws Error for a damaged or foreign file.
DeployedPolicy load_policy(const std::string& path);

}  // namespace ddpg
