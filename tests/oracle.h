// The test oracle: the actor and critic as LibTorch modules, and one DDPG/TD3 update as autograd
// and torch.optim.Adam compute it, to check the product's float kernels and update engine against.
// LibTorch is a dependency of the tests only.
//
//   actor  π(s)   : obs → [Linear → (LayerNorm) → act] × H → Linear → tanh      (B, act_dim)
//   critic Q(s, a): obs → hidden layers → Linear → (B, 1); the action is concatenated to the input
//                   of hidden layer `critic_action_layer` (0: with the observation, TD3 style; 1:
//                   at the second layer, as in the DDPG paper).
// LayerNorm sits after each hidden Linear and before the nonlinearity (Plappert et al. 2018). The
// modules' parameters are registered in the order of the product's flat buffers (mlp.h), so that
// load_flat copies one into the other tensor by tensor.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <vector>

#include "ddpg/agent.h"
#include "ddpg/config.h"
#include "ddpg/mlp.h"

namespace ddpg::oracle {

class ActorImpl : public torch::nn::Module {
 public:
  ActorImpl(int obs_dim, int act_dim, const AgentConfig& cfg);
  torch::Tensor forward(const torch::Tensor& obs);  // (B, obs_dim) → (B, act_dim)

 private:
  std::string activation_;
  std::vector<torch::nn::Linear> layers_;
  std::vector<torch::nn::LayerNorm> norms_;
};
TORCH_MODULE(Actor);

class CriticImpl : public torch::nn::Module {
 public:
  CriticImpl(int obs_dim, int act_dim, const AgentConfig& cfg);
  // (B, obs_dim), (B, act_dim) → (B, 1)
  torch::Tensor forward(const torch::Tensor& obs, const torch::Tensor& action);

 private:
  int action_layer_;
  double action_scale_;  // agent.critic_action_scale: the critic sees this × the action
  std::string activation_;
  std::vector<torch::nn::Linear> layers_;
  std::vector<torch::nn::LayerNorm> norms_;
};
TORCH_MODULE(Critic);

// A module's parameters ← a flat buffer of layout `shape` (no gradient recorded).
void load_flat(torch::nn::Module& m, const MlpShape& shape, const float* params);
// Largest absolute difference between a module's parameters and a flat buffer.
double max_abs_diff(torch::nn::Module& m, const MlpShape& shape, const float* params);
// A (rows, cols) tensor copied from row-major floats.
torch::Tensor tensor_of(const float* p, int64_t rows, int64_t cols);

// The update of agent.h by autograd, on copies of an agent's networks taken at construction:
//   a' = clip(π'(s') + ε, −1, 1)   (π' perturbed and ε drawn as the agent's update drew them)
//   y  = r + γ^k (1 − terminated) min_i Q'_i(s', a')
//   critics: Adam on Σ_i mean (Q_i(s, a) − y)², optional L2 and gradient-norm clipping;
//   every policy_delay updates: actor Adam on −mean Q_1(s, π(s)), then Polyak averaging.
class Reference {
 public:
  explicit Reference(Agent& agent);
  // One update on `b`, replaying the random draws the agent's last update() made (call it after
  // agent.update(b)); `norm` normalises observations as the agent does (nullptr: none).
  void update(const Batch& b, const ObsNormalizer* norm, const TargetDraws& draws);
  // The Bellman target y of the last update, (B, 1).
  const torch::Tensor& last_target() const { return y_; }
  // Largest absolute difference between the agent's networks (and targets) and these.
  double max_difference(Agent& agent);

 private:
  AgentConfig cfg_;
  int obs_dim_, act_dim_;
  MlpShape actor_shape_, critic_shape_;
  Actor actor_{nullptr}, actor_target_{nullptr}, noisy_target_{nullptr};
  std::vector<Critic> critics_, critic_targets_;
  std::unique_ptr<torch::optim::Adam> actor_opt_, critic_opt_;
  torch::Tensor y_;
  int64_t updates_ = 0;
};

}  // namespace ddpg::oracle
