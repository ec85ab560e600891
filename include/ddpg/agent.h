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
// The networks are LibTorch modules whose parameters are views into one flat buffer per network;
// update() and act() run on those buffers through the float kernels of update_engine.h and mlp.h
// (no autograd), and the modules' own forward() is the reference the tests check them against.
#pragma once

#include <torch/torch.h>

#include <optional>
#include <vector>

#include "ddpg/config.h"
#include "ddpg/io.h"
#include "ddpg/networks.h"
#include "ddpg/obs_normalizer.h"
#include "ddpg/rng.h"
#include "ddpg/update_engine.h"

namespace ddpg {

// One sampled batch, preallocated once: the replay gathers straight into these.
struct Batch {
  torch::Tensor obs;         // (B, obs_dim), raw (the agent normalises when configured)
  torch::Tensor action;      // (B, act_dim), in [-1, 1]
  torch::Tensor reward;      // (B, 1), n-step discounted sum for n > 1
  torch::Tensor next_obs;    // (B, obs_dim)
  torch::Tensor terminated;  // (B, 1), 1 where the episode terminated
  torch::Tensor discount;    // (B, 1), γ^k of the bootstrap (γ for one-step transitions)

  // Copies another batch's contents into this one's storage.
  void copy_from_for_test(const Batch& o) {
    obs.copy_(o.obs);
    action.copy_(o.action);
    reward.copy_(o.reward);
    next_obs.copy_(o.next_obs);
    terminated.copy_(o.terminated);
    discount.copy_(o.discount);
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

class Agent {
 public:
  // Networks are initialised from LibTorch's generator seeded with `seed`.
  Agent(const AgentConfig& cfg, int obs_dim, int act_dim, uint64_t seed);

  // π(s) for one observation, written as act_dim floats in [-1, 1].
  void act(const std::vector<double>& obs, float* action);
  // π(s) for several observations in one pass of the float kernels; `actions` gets n × act_dim.
  void act_rows(const std::vector<const std::vector<double>*>& obs, std::vector<float>& actions);
  // π(s) for a batch of raw observations (B, obs_dim) → (B, act_dim).
  torch::Tensor act_batch(const torch::Tensor& obs);

  // Observation statistics: the trainer shows every observation of the training env.
  void observe(const std::vector<double>& obs);
  const ObsNormalizer* obs_normalizer() const { return cfg_.obs_norm ? &obs_norm_ : nullptr; }

  // Parameter-space noise: on, with its config; resample at episode start; act with θ̃.
  void enable_param_noise(const NoiseConfig& noise);
  void resample_perturbation();
  void act_perturbed(const std::vector<double>& obs, float* action);
  void set_param_noise_target(double delta) { param_.target = delta; }
  const ParamNoiseState* param_noise() const { return param_on_ ? &param_ : nullptr; }
  MlpActor& perturbed_actor() { return perturbed_actor_; }

  UpdateStats update(const Batch& batch);
  // Cores the update may use (at most agent.batch_shards); 1 by default.
  void set_threads(int threads) { engine_.set_threads(threads); }
  const UpdateEngine& engine() const { return engine_; }
  UpdateEngine& engine() { return engine_; }
  // The target action a' for normalised next observations: π'(s'), smoothed and/or from a
  // weight-perturbed target actor when configured (no gradient); exposed for tests.
  torch::Tensor target_action(const torch::Tensor& next_obs);
  // The Bellman target y for a batch (no gradient); exposed for tests.
  torch::Tensor bellman_target(const Batch& batch);

  Batch& batch() { return batch_; }
  // The networks. Their parameters are the update engine's buffers: after writing to them
  // directly, call parameters_changed() so that the engine's per-thread replicas follow.
  void parameters_changed() { engine_.sync_replicas(); }
  MlpActor& actor() { return actor_; }
  MlpCritic& critic(int i = 0) { return critics_[i]; }
  MlpActor& actor_target() { return actor_target_; }
  MlpCritic& critic_target(int i = 0) { return critic_targets_[i]; }
  int64_t updates() const { return updates_; }
  const AgentConfig& config() const { return cfg_; }

  void save(ArchiveWriter& out) const;
  void load(ArchiveReader& in);

 private:
  torch::Tensor normalize(const torch::Tensor& obs) const;  // identity unless obs_norm
  void refresh_norm();
  // dst ← src + noise on every weight and bias (not LayerNorm), from rng_.
  void perturb(MlpActor& dst, MlpActor& src, double sigma, bool per_matrix);
  void adapt_param_noise(const torch::Tensor& obs);
  // Loads one observation (normalised when configured) into obs_scratch_.
  const float* load_obs(const std::vector<double>& obs);

  AgentConfig cfg_;
  int obs_dim_, act_dim_;
  MlpActor actor_{nullptr}, actor_target_{nullptr};
  std::vector<MlpCritic> critics_, critic_targets_;
  // Flat parameter buffers (the modules' parameters are views into them).
  torch::Tensor actor_flat_, actor_target_flat_, noisy_target_flat_, perturbed_flat_,
      adaptive_flat_;
  std::vector<torch::Tensor> critic_flat_, critic_target_flat_;
  UpdateEngine engine_;             // holds the Adam moments
  Rng rng_;                         // target-action noise, weight perturbations
  torch::Tensor target_eps_;        // (B, act_dim) scratch for target-action noise
  MlpActor noisy_target_{nullptr};  // target actor with weight noise (target_weight_noise > 0)
  Batch batch_;
  std::vector<float> obs_scratch_, act_scratch_;  // act(): one observation, layer scratch
  std::vector<float> rows_scratch_;               // act_rows(): n observations
  ObsNormalizer obs_norm_;
  torch::Tensor norm_mean_, norm_inv_std_;  // (1, obs_dim) float copies of the statistics
  bool norm_dirty_ = true;
  bool param_on_ = false;
  NoiseConfig param_cfg_;
  ParamNoiseState param_;
  MlpActor perturbed_actor_{nullptr}, adaptive_actor_{nullptr};
  int64_t updates_ = 0;
  double last_actor_loss_ = 0.0;  // reported on updates that skip the actor
};

// Writes/reads a module's parameters and buffers in order, checking each shape on read.
void save_module(ArchiveWriter& out, const torch::nn::Module& m, const std::string& name);
void load_module(ArchiveReader& in, torch::nn::Module& m, const std::string& name);

// A deployable policy: the actor and the observation normalisation it was trained with. It maps a
// raw observation to an action in [-1, 1]; rescale it to the env's bounds with rescale_action.
class DeployedPolicy {
 public:
  DeployedPolicy(MlpActor actor, const MlpShape& shape, std::optional<ObsNormalizer> norm);
  void act(const std::vector<double>& obs, float* action);
  int obs_dim() const { return actor_->obs_dim(); }
  int act_dim() const { return actor_->act_dim(); }
  MlpActor& actor() { return actor_; }

 private:
  MlpActor actor_;
  MlpShape shape_;
  torch::Tensor flat_;
  std::optional<ObsNormalizer> norm_;
  std::vector<float> obs_, scratch_;
};

// Writes the agent's actor (and normaliser) as a policy file, atomically.
void save_policy(const std::string& path, Agent& agent);
// Loads a policy file written by save_policy. Throws Error for a damaged or foreign file.
DeployedPolicy load_policy(const std::string& path);

}  // namespace ddpg
