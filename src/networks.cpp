// Actor and critic MLPs: see networks.h.
#include "ddpg/networks.h"

#include "ddpg/aligned.h"

namespace ddpg {
namespace {

void init_output(torch::nn::Linear& layer, double bound) {
  if (bound <= 0) return;
  torch::NoGradGuard no_grad;
  layer->weight.uniform_(-bound, bound);
  layer->bias.uniform_(-bound, bound);
}

// Registers the hidden layers fc0.. (with ln0.. when `layer_norm`) and the output layer `out` on
// `m`. `extra` more inputs (the critic's action) join at hidden layer `extra_at` (-1: none).
void build_layers(torch::nn::Module& m, int in, const AgentConfig& cfg, bool layer_norm,
                  int extra_at, int extra, int out_dim, std::vector<torch::nn::Linear>& layers,
                  std::vector<torch::nn::LayerNorm>& norms) {
  for (size_t i = 0; i < cfg.hidden.size(); ++i) {
    if (static_cast<int>(i) == extra_at) in += extra;
    const int h = cfg.hidden[i];
    layers.push_back(m.register_module("fc" + std::to_string(i), torch::nn::Linear(in, h)));
    if (layer_norm) {
      norms.push_back(m.register_module("ln" + std::to_string(i),
                                        torch::nn::LayerNorm(torch::nn::LayerNormOptions({h}))));
    }
    in = h;
  }
  layers.push_back(m.register_module("out", torch::nn::Linear(in, out_dim)));
  init_output(layers.back(), cfg.final_init);
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
  build_layers(*this, obs_dim, cfg, ln, -1, 0, act_dim, layers_, norms_);
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
  build_layers(*this, obs_dim, cfg, ln, action_layer_, act_dim, 1, layers_, norms_);
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

torch::Tensor flatten_parameters(torch::nn::Module& m, const MlpShape& shape) {
  torch::NoGradGuard no_grad;
  // Staggered memory (see aligned.h), owned by the tensor.
  float* mem = alloc_floats(shape.size());
  torch::Tensor flat = torch::from_blob(
      mem, {shape.size()}, [](void* p) { free_floats(static_cast<float*>(p)); },
      torch::TensorOptions().dtype(torch::kFloat32));
  int64_t total = 0;
  const int last = shape.layers() - 1;
  for (auto& item : m.named_parameters()) {
    const std::string& name = item.key();
    const auto dot = name.find('.');
    const std::string layer = name.substr(0, dot), what = name.substr(dot + 1);
    const int i = layer == "out" ? last : std::stoi(layer.substr(2));
    int64_t off = -1;
    if (layer.rfind("fc", 0) == 0 || layer == "out") {
      off = what == "weight" ? shape.weight_offset(i) : shape.bias_offset(i);
    } else if (layer.rfind("ln", 0) == 0 && shape.layer_norm) {
      off = what == "weight" ? shape.ln_gain_offset(i) : shape.ln_bias_offset(i);
    }
    torch::Tensor p = item.value();
    TORCH_CHECK(off >= 0 && off + p.numel() <= shape.size(), "flatten_parameters: parameter '",
                name, "' does not fit the shape");
    torch::Tensor view = flat.narrow(0, off, p.numel()).view(p.sizes());
    view.copy_(p);
    p.set_data(view);
    total += p.numel();
  }
  TORCH_CHECK(total == shape.size(), "flatten_parameters: the module has ", total,
              " parameters, the shape ", shape.size());
  return flat;
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
