// Actor and critic MLPs (Lillicrap et al. 2015, §7), as LibTorch modules.
//
//   actor  π(s)   : obs → [Linear → (LayerNorm) → act] × H → Linear → tanh    (B, act_dim) in [-1,
//   1] critic Q(s, a): obs → hidden layers → Linear → (B, 1); the action is concatenated to the
//   input
//                   of hidden layer `critic_action_layer` (0: with the observation, TD3 style;
//                   1: at the second layer, as in the DDPG paper).
// LayerNorm sits after each hidden Linear and before the nonlinearity (Plappert et al. 2018).
// Hidden layers use LibTorch's default init, U(±1/√fan_in) for weights, which is the paper's; the
// output layer is U(±final_init) when final_init > 0 (paper: 3e-3).
//
// A target network is a separate module built with the same shapes, its parameters copied with
// `copy_parameters` (a deep copy: never the shared holder).
#pragma once

#include <torch/torch.h>

#include <vector>

#include "ddpg/config.h"
#include "ddpg/mlp.h"

namespace ddpg {

class MlpActorImpl : public torch::nn::Module {
 public:
  MlpActorImpl(int obs_dim, int act_dim, const AgentConfig& cfg);
  torch::Tensor forward(const torch::Tensor& obs);  // (B, obs_dim) → (B, act_dim)
  int obs_dim() const { return obs_dim_; }
  int act_dim() const { return act_dim_; }

 private:
  int obs_dim_, act_dim_;
  std::string activation_;
  std::vector<torch::nn::Linear> layers_;
  std::vector<torch::nn::LayerNorm> norms_;
};
TORCH_MODULE(MlpActor);

class MlpCriticImpl : public torch::nn::Module {
 public:
  MlpCriticImpl(int obs_dim, int act_dim, const AgentConfig& cfg);
  // (B, obs_dim), (B, act_dim) → (B, 1)
  torch::Tensor forward(const torch::Tensor& obs, const torch::Tensor& action);

 private:
  int action_layer_;
  std::string activation_;
  std::vector<torch::nn::Linear> layers_;
  std::vector<torch::nn::LayerNorm> norms_;
};
TORCH_MODULE(MlpCritic);

// dst ← src, parameter by parameter (shapes must match). No gradient is recorded.
void copy_parameters(torch::nn::Module& dst, const torch::nn::Module& src);
// Polyak averaging: target ← τ·online + (1 − τ)·target, parameter by parameter.
void polyak_update(torch::nn::Module& target, const torch::nn::Module& online, double tau);

// Moves a module's parameters into one contiguous buffer laid out as `shape` (see mlp.h) and makes
// each parameter a view into it, so that the float kernels and the module share them. Returns the
// buffer. Throws if the module's parameters do not match the shape.
torch::Tensor flatten_parameters(torch::nn::Module& m, const MlpShape& shape);

torch::Tensor apply_activation(const torch::Tensor& x, const std::string& name);

}  // namespace ddpg
