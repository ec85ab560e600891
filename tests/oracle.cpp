// The test oracle: see oracle.h.
#include "tests/oracle.h"

namespace ddpg::oracle {
namespace {

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
}

torch::Tensor activate(const torch::Tensor& x, const std::string& name) {
  if (name == "relu") return torch::relu(x);
  if (name == "tanh") return torch::tanh(x);
  if (name == "elu") return torch::elu(x);
  return torch::leaky_relu(x, 0.01);
}

// Polyak averaging: target ← τ·online + (1 − τ)·target, parameter by parameter.
void polyak(torch::nn::Module& target, const torch::nn::Module& online, double tau) {
  torch::NoGradGuard no_grad;
  auto t = target.parameters();
  const auto o = online.parameters();
  for (size_t i = 0; i < t.size(); ++i) t[i].lerp_(o[i], tau);
}

}  // namespace

ActorImpl::ActorImpl(int obs_dim, int act_dim, const AgentConfig& cfg)
    : activation_(cfg.activation) {
  const bool ln = cfg.layer_norm == "actor" || cfg.layer_norm == "both";
  build_layers(*this, obs_dim, cfg, ln, -1, 0, act_dim, layers_, norms_);
}

torch::Tensor ActorImpl::forward(const torch::Tensor& obs) {
  torch::Tensor h = obs;
  for (size_t i = 0; i + 1 < layers_.size(); ++i) {
    h = layers_[i]->forward(h);
    if (!norms_.empty()) h = norms_[i]->forward(h);
    h = activate(h, activation_);
  }
  return torch::tanh(layers_.back()->forward(h));
}

CriticImpl::CriticImpl(int obs_dim, int act_dim, const AgentConfig& cfg)
    : action_layer_(cfg.critic_action_layer),
      action_scale_(cfg.critic_action_scale),
      activation_(cfg.activation) {
  const bool ln = cfg.layer_norm == "critic" || cfg.layer_norm == "both";
  build_layers(*this, obs_dim, cfg, ln, action_layer_, act_dim, 1, layers_, norms_);
}

torch::Tensor CriticImpl::forward(const torch::Tensor& obs, const torch::Tensor& action) {
  torch::Tensor h = obs;
  for (size_t i = 0; i + 1 < layers_.size(); ++i) {
    if (static_cast<int>(i) == action_layer_) h = torch::cat({h, action_scale_ * action}, 1);
    h = layers_[i]->forward(h);
    if (!norms_.empty()) h = norms_[i]->forward(h);
    h = activate(h, activation_);
  }
  return layers_.back()->forward(h);
}

void load_flat(torch::nn::Module& m, const MlpShape& shape, const float* params) {
  torch::NoGradGuard no_grad;
  const std::vector<MlpTensor> tensors = mlp_tensors(shape);
  auto ps = m.parameters();
  TORCH_CHECK(ps.size() == tensors.size(), "load_flat: the module has ", ps.size(),
              " tensors, the shape ", tensors.size());
  for (size_t k = 0; k < ps.size(); ++k) {
    TORCH_CHECK(ps[k].numel() == tensors[k].size, "load_flat: tensor ", k, " differs in size");
    std::memcpy(ps[k].data_ptr<float>(), params + tensors[k].offset,
                sizeof(float) * tensors[k].size);
  }
}

double max_abs_diff(torch::nn::Module& m, const MlpShape& shape, const float* params) {
  const std::vector<MlpTensor> tensors = mlp_tensors(shape);
  auto ps = m.parameters();
  double d = 0.0;
  for (size_t k = 0; k < ps.size(); ++k) {
    const torch::Tensor c = ps[k].detach().contiguous();
    const float* p = c.data_ptr<float>();
    for (int64_t i = 0; i < tensors[k].size; ++i) {
      d = std::max(d, static_cast<double>(std::abs(p[i] - params[tensors[k].offset + i])));
    }
  }
  return d;
}

torch::Tensor tensor_of(const float* p, int64_t rows, int64_t cols) {
  return torch::from_blob(const_cast<float*>(p), {rows, cols}, torch::kFloat32).clone();
}

Reference::Reference(Agent& agent)
    : cfg_(agent.config()),
      obs_dim_(agent.obs_dim()),
      act_dim_(agent.act_dim()),
      actor_shape_(agent.engine().actor_shape()),
      critic_shape_(agent.engine().critic_shape()) {
  actor_ = Actor(obs_dim_, act_dim_, cfg_);
  actor_target_ = Actor(obs_dim_, act_dim_, cfg_);
  noisy_target_ = Actor(obs_dim_, act_dim_, cfg_);
  load_flat(*actor_, actor_shape_, agent.actor());
  load_flat(*actor_target_, actor_shape_, agent.actor_target());
  std::vector<torch::Tensor> critic_params;
  for (int i = 0; i < cfg_.n_critics; ++i) {
    critics_.emplace_back(obs_dim_, act_dim_, cfg_);
    critic_targets_.emplace_back(obs_dim_, act_dim_, cfg_);
    load_flat(*critics_[i], critic_shape_, agent.critic(i));
    load_flat(*critic_targets_[i], critic_shape_, agent.critic_target(i));
    for (auto& p : critics_[i]->parameters()) critic_params.push_back(p);
  }
  for (auto* m : {actor_target_.get(), noisy_target_.get()}) {
    for (auto& p : m->parameters()) p.set_requires_grad(false);
  }
  for (auto& c : critic_targets_) {
    for (auto& p : c->parameters()) p.set_requires_grad(false);
  }
  actor_opt_ = std::make_unique<torch::optim::Adam>(actor_->parameters(),
                                                    torch::optim::AdamOptions(cfg_.actor_lr));
  critic_opt_ = std::make_unique<torch::optim::Adam>(
      critic_params,
      torch::optim::AdamOptions(cfg_.critic_lr).weight_decay(cfg_.critic_weight_decay));
}

void Reference::update(const Batch& b, const ObsNormalizer* norm, const TargetDraws& draws) {
  const int64_t n = b.size;
  auto normalize = [&](const torch::Tensor& x) {
    if (!norm) return x;
    torch::Tensor mean = torch::zeros({1, x.size(1)}), inv = torch::ones({1, x.size(1)});
    norm->affine(mean.data_ptr<float>(), inv.data_ptr<float>());
    const double c = cfg_.obs_norm_clip;
    return ((x - mean) * inv).clamp(-c, c);
  };
  const torch::Tensor obs = normalize(tensor_of(b.obs.data(), n, obs_dim_));
  const torch::Tensor next_obs = normalize(tensor_of(b.next_obs.data(), n, obs_dim_));
  const torch::Tensor action = tensor_of(b.action.data(), n, act_dim_);
  const torch::Tensor reward = tensor_of(b.reward.data(), n, 1);
  const torch::Tensor terminated = tensor_of(b.terminated.data(), n, 1);
  const torch::Tensor discount = tensor_of(b.discount.data(), n, 1);
  {
    torch::NoGradGuard g;
    Actor& target_actor = draws.target_actor ? noisy_target_ : actor_target_;
    if (draws.target_actor) load_flat(*noisy_target_, actor_shape_, draws.target_actor);
    torch::Tensor a = target_actor->forward(next_obs);
    if (draws.eps) a = (a + tensor_of(draws.eps, draws.eps_rows, act_dim_)).clamp(-1, 1);
    torch::Tensor q = critic_targets_[0]->forward(next_obs, a);
    for (size_t i = 1; i < critic_targets_.size(); ++i) {
      q = torch::min(q, critic_targets_[i]->forward(next_obs, a));
    }
    y_ = reward + discount * (1.0 - terminated) * q;
  }
  torch::Tensor loss;
  for (size_t i = 0; i < critics_.size(); ++i) {
    const torch::Tensor l = (critics_[i]->forward(obs, action) - y_).pow(2).mean();
    loss = i == 0 ? l : loss + l;
  }
  critic_opt_->zero_grad();
  loss.backward();
  if (cfg_.grad_clip > 0) {
    for (auto& c : critics_) torch::nn::utils::clip_grad_norm_(c->parameters(), cfg_.grad_clip);
  }
  critic_opt_->step();
  if (++updates_ % cfg_.policy_delay != 0) return;
  const torch::Tensor actor_loss = -critics_[0]->forward(obs, actor_->forward(obs)).mean();
  actor_opt_->zero_grad();
  actor_loss.backward();
  if (cfg_.grad_clip > 0) torch::nn::utils::clip_grad_norm_(actor_->parameters(), cfg_.grad_clip);
  actor_opt_->step();
  for (size_t i = 0; i < critics_.size(); ++i) polyak(*critic_targets_[i], *critics_[i], cfg_.tau);
  polyak(*actor_target_, *actor_, cfg_.tau);
}

double Reference::max_difference(Agent& agent) {
  double d = max_abs_diff(*actor_, actor_shape_, agent.actor());
  d = std::max(d, max_abs_diff(*actor_target_, actor_shape_, agent.actor_target()));
  for (size_t i = 0; i < critics_.size(); ++i) {
    d = std::max(d, max_abs_diff(*critics_[i], critic_shape_, agent.critic(i)));
    d = std::max(d, max_abs_diff(*critic_targets_[i], critic_shape_, agent.critic_target(i)));
  }
  return d;
}

}  // namespace ddpg::oracle
