// Actor and critic MLPs: see networks.h.
#include "ddpg/networks.h"

namespace ddpg {
namespace {

void init_output(torch::nn::Linear& layer, double bound) {
  if (bound <= 0) return;
  torch::NoGradGuard no_grad;
  layer->weight.uniform_(-bound, bound);
  layer->bias.uniform_(-bound, bound);
}

}  // namespace

torch::Tensor apply_activation(const torch::Tensor& x, const std::string& name) {
  if (name == "relu") return torch::relu(x);
  if (name == "tanh") return torch::tanh(x);
  if (name == "elu") return torch::elu(x);
  return torch::leaky_relu(x, 0.01);
}

MlpActorImpl::MlpActorImpl(int obs_dim, int act_dim, const AgentConfig& cfg)
    : obs_dim_(obs_dim), act_dim_(act_dim), activation_(cfg.activation) {
  const bool ln = cfg.layer_norm == "actor" || cfg.layer_norm == "both";
  int in = obs_dim;
  for (size_t i = 0; i < cfg.hidden.size(); ++i) {
    layers_.push_back(
        register_module("fc" + std::to_string(i), torch::nn::Linear(in, cfg.hidden[i])));
    if (ln) {
      norms_.push_back(
          register_module("ln" + std::to_string(i),
                          torch::nn::LayerNorm(torch::nn::LayerNormOptions({cfg.hidden[i]}))));
    }
    in = cfg.hidden[i];
  }
  layers_.push_back(register_module("out", torch::nn::Linear(in, act_dim)));
  init_output(layers_.back(), cfg.final_init);
}

torch::Tensor MlpActorImpl::forward(const torch::Tensor& obs) {
  torch::Tensor h = obs;
  for (size_t i = 0; i + 1 < layers_.size(); ++i) {
    h = layers_[i]->forward(h);
    if (!norms_.empty()) h = norms_[i]->forward(h);
    h = apply_activation(h, activation_);
  }
  return torch::tanh(layers_.back()->forward(h));
}

MlpCriticImpl::MlpCriticImpl(int obs_dim, int act_dim, const AgentConfig& cfg)
    : action_layer_(cfg.critic_action_layer), activation_(cfg.activation) {
  const bool ln = cfg.layer_norm == "critic" || cfg.layer_norm == "both";
  int in = obs_dim;
  for (size_t i = 0; i < cfg.hidden.size(); ++i) {
    if (static_cast<int>(i) == action_layer_) in += act_dim;
    layers_.push_back(
        register_module("fc" + std::to_string(i), torch::nn::Linear(in, cfg.hidden[i])));
    if (ln) {
      norms_.push_back(
          register_module("ln" + std::to_string(i),
                          torch::nn::LayerNorm(torch::nn::LayerNormOptions({cfg.hidden[i]}))));
    }
    in = cfg.hidden[i];
  }
  layers_.push_back(register_module("out", torch::nn::Linear(in, 1)));
  init_output(layers_.back(), cfg.final_init);
}

torch::Tensor MlpCriticImpl::forward(const torch::Tensor& obs, const torch::Tensor& action) {
  torch::Tensor h = obs;
  for (size_t i = 0; i + 1 < layers_.size(); ++i) {
    if (static_cast<int>(i) == action_layer_) h = torch::cat({h, action}, 1);
    h = layers_[i]->forward(h);
    if (!norms_.empty()) h = norms_[i]->forward(h);
    h = apply_activation(h, activation_);
  }
  return layers_.back()->forward(h);
}

void copy_parameters(torch::nn::Module& dst, const torch::nn::Module& src) {
  torch::NoGradGuard no_grad;
  auto d = dst.parameters();
  const auto s = src.parameters();
  TORCH_CHECK(d.size() == s.size(), "copy_parameters: parameter count differs");
  for (size_t i = 0; i < d.size(); ++i) d[i].copy_(s[i]);
}

void polyak_update(torch::nn::Module& target, const torch::nn::Module& online, double tau) {
  torch::NoGradGuard no_grad;
  auto t = target.parameters();
  const auto o = online.parameters();
  // lerp_: t ← t + τ (o − t) = τ·o + (1 − τ)·t
  for (size_t i = 0; i < t.size(); ++i) t[i].lerp_(o[i], tau);
}

}  // namespace ddpg
