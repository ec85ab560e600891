// Agent: DDPG update, Adam, and (de)serialisation. See agent.h.
#include "ddpg/agent.h"

#include <algorithm>
#include <cmath>

namespace ddpg {
namespace {

const char* kPolicyMagic = "DDPGPOLI";
const uint32_t kPolicyVersion = 2;

void clip_grad_norm(const std::vector<torch::Tensor>& params, double max_norm) {
  if (max_norm <= 0) return;
  torch::nn::utils::clip_grad_norm_(params, max_norm);
}

}  // namespace

Adam::Adam(std::vector<torch::Tensor> params, double lr, double weight_decay, double beta1,
           double beta2, double eps)
    : params_(std::move(params)),
      lr_(lr),
      weight_decay_(weight_decay),
      beta1_(beta1),
      beta2_(beta2),
      eps_(eps) {
  for (const auto& p : params_) {
    m_.push_back(torch::zeros_like(p));
    v_.push_back(torch::zeros_like(p));
  }
}

void Adam::zero_grad() {
  for (auto& p : params_) {
    if (p.grad().defined()) p.mutable_grad().zero_();
  }
}

void Adam::step() {
  torch::NoGradGuard no_grad;
  ++t_;
  const double bc1 = 1.0 - std::pow(beta1_, static_cast<double>(t_));
  const double bc2 = 1.0 - std::pow(beta2_, static_cast<double>(t_));
  const double step_size = lr_ / bc1;
  const double sqrt_bc2 = std::sqrt(bc2);
  for (size_t i = 0; i < params_.size(); ++i) {
    auto& p = params_[i];
    if (!p.grad().defined()) continue;
    torch::Tensor g = p.grad();
    if (weight_decay_ != 0.0) g = g.add(p, weight_decay_);
    m_[i].mul_(beta1_).add_(g, 1.0 - beta1_);
    v_[i].mul_(beta2_).addcmul_(g, g, 1.0 - beta2_);
    // p ← p − lr/bc1 · m / (√v/√bc2 + eps), as torch.optim.Adam.
    const torch::Tensor denom = (v_[i].sqrt() / sqrt_bc2).add_(eps_);
    p.addcdiv_(m_[i], denom, -step_size);
  }
}

void Adam::save(ArchiveWriter& out, const std::string& name) const {
  out.tag("adam:" + name);
  out.i64(t_);
  for (size_t i = 0; i < params_.size(); ++i) {
    out.floats(m_[i].data_ptr<float>(), m_[i].numel());
    out.floats(v_[i].data_ptr<float>(), v_[i].numel());
  }
}

void Adam::load(ArchiveReader& in, const std::string& name) {
  in.expect_tag("adam:" + name);
  t_ = in.i64();
  for (size_t i = 0; i < params_.size(); ++i) {
    in.floats(m_[i].data_ptr<float>(), m_[i].numel(), name + " Adam m[" + std::to_string(i) + "]");
    in.floats(v_[i].data_ptr<float>(), v_[i].numel(), name + " Adam v[" + std::to_string(i) + "]");
  }
}

Agent::Agent(const AgentConfig& cfg, int obs_dim, int act_dim, uint64_t seed)
    : cfg_(cfg),
      obs_dim_(obs_dim),
      act_dim_(act_dim),
      rng_(Rng::derive(seed, 1)),
      obs_norm_(obs_dim, cfg.obs_norm_clip) {
  torch::manual_seed(seed);
  actor_ = MlpActor(obs_dim, act_dim, cfg);
  actor_target_ = MlpActor(obs_dim, act_dim, cfg);
  copy_parameters(*actor_target_, *actor_);
  std::vector<torch::Tensor> critic_params;
  for (int i = 0; i < cfg.n_critics; ++i) {
    critics_.emplace_back(obs_dim, act_dim, cfg);
    critic_targets_.emplace_back(obs_dim, act_dim, cfg);
    copy_parameters(*critic_targets_[i], *critics_[i]);
    for (auto& p : critics_[i]->parameters()) critic_params.push_back(p);
  }
  for (auto& p : actor_target_->parameters()) p.set_requires_grad(false);
  for (auto& c : critic_targets_) {
    for (auto& p : c->parameters()) p.set_requires_grad(false);
  }
  if (cfg.target_weight_noise > 0) {
    noisy_target_ = MlpActor(obs_dim, act_dim, cfg);
    for (auto& p : noisy_target_->parameters()) p.set_requires_grad(false);
  }
  actor_opt_ = std::make_unique<Adam>(actor_->parameters(), cfg.actor_lr);
  critic_opt_ = std::make_unique<Adam>(critic_params, cfg.critic_lr, cfg.critic_weight_decay);
  const int64_t b = cfg.batch_size;
  batch_.obs = torch::zeros({b, obs_dim});
  batch_.action = torch::zeros({b, act_dim});
  batch_.reward = torch::zeros({b, 1});
  batch_.next_obs = torch::zeros({b, obs_dim});
  batch_.terminated = torch::zeros({b, 1});
  batch_.discount = torch::full({b, 1}, cfg.gamma);
  obs_one_ = torch::zeros({1, obs_dim});
  target_eps_ = torch::zeros({b, act_dim});
  norm_mean_ = torch::zeros({1, obs_dim});
  norm_inv_std_ = torch::ones({1, obs_dim});
}

void Agent::observe(const std::vector<double>& obs) {
  if (!cfg_.obs_norm) return;
  obs_norm_.update(obs);
  norm_dirty_ = true;
}

void Agent::refresh_norm() {
  if (!norm_dirty_) return;
  obs_norm_.affine(norm_mean_.data_ptr<float>(), norm_inv_std_.data_ptr<float>());
  norm_dirty_ = false;
}

torch::Tensor Agent::normalize(const torch::Tensor& obs) const {
  if (!cfg_.obs_norm) return obs;
  const double c = cfg_.obs_norm_clip;
  return ((obs - norm_mean_) * norm_inv_std_).clamp_(-c, c);
}

namespace {

// Writes one observation (normalised when configured) into `out` (1, obs_dim).
void load_obs(const std::vector<double>& obs, const ObsNormalizer* norm, torch::Tensor& out) {
  float* o = out.data_ptr<float>();
  if (norm) {
    norm->normalize(obs.data(), o);
  } else {
    for (size_t i = 0; i < obs.size(); ++i) o[i] = static_cast<float>(obs[i]);
  }
}

// π(s) of `actor` for the observation in `obs` (1, obs_dim), copied to `action`.
void forward_one(MlpActor& actor, const torch::Tensor& obs, float* action) {
  torch::NoGradGuard no_grad;
  const torch::Tensor a = actor->forward(obs).contiguous();
  std::memcpy(action, a.data_ptr<float>(), sizeof(float) * actor->act_dim());
}

}  // namespace

void Agent::act(const std::vector<double>& obs, float* action) {
  load_obs(obs, obs_normalizer(), obs_one_);
  forward_one(actor_, obs_one_, action);
}

torch::Tensor Agent::act_batch(const torch::Tensor& obs) {
  torch::NoGradGuard no_grad;
  refresh_norm();
  return actor_->forward(normalize(obs));
}

void Agent::perturb(MlpActor& dst, MlpActor& src, double sigma, bool per_matrix) {
  torch::NoGradGuard no_grad;
  copy_parameters(*dst, *src);
  for (auto& item : dst->named_parameters()) {
    if (item.key().rfind("ln", 0) == 0) continue;  // LayerNorm gains and biases stay as they are
    torch::Tensor p = item.value();
    double scale = sigma;
    if (per_matrix) scale *= std::sqrt(p.pow(2).mean().item<double>());
    float* d = p.data_ptr<float>();
    for (int64_t i = 0; i < p.numel(); ++i) d[i] += static_cast<float>(scale * rng_.normal());
  }
}

void Agent::enable_param_noise(const NoiseConfig& noise) {
  param_on_ = true;
  param_cfg_ = noise;
  param_.sigma = noise.param_initial_sigma;
  param_.target = noise.sigma;
  perturbed_actor_ = MlpActor(obs_dim_, act_dim_, cfg_);
  adaptive_actor_ = MlpActor(obs_dim_, act_dim_, cfg_);
  for (auto& p : perturbed_actor_->parameters()) p.set_requires_grad(false);
  for (auto& p : adaptive_actor_->parameters()) p.set_requires_grad(false);
  resample_perturbation();
}

void Agent::resample_perturbation() {
  if (param_on_) perturb(perturbed_actor_, actor_, param_.sigma, false);
}

void Agent::act_perturbed(const std::vector<double>& obs, float* action) {
  load_obs(obs, obs_normalizer(), obs_one_);
  forward_one(perturbed_actor_, obs_one_, action);
}

void Agent::adapt_param_noise(const torch::Tensor& obs) {
  torch::NoGradGuard no_grad;
  perturb(adaptive_actor_, actor_, param_.sigma, false);
  const torch::Tensor diff = actor_->forward(obs) - adaptive_actor_->forward(obs);
  param_.distance = std::sqrt(diff.pow(2).mean().item<double>());
  if (param_.distance <= param_.target) {
    param_.sigma *= param_cfg_.param_alpha;
  } else {
    param_.sigma /= param_cfg_.param_alpha;
  }
}

torch::Tensor Agent::target_action(const torch::Tensor& next_obs) {
  torch::NoGradGuard no_grad;
  MlpActor& target_actor = cfg_.target_weight_noise > 0 ? noisy_target_ : actor_target_;
  if (cfg_.target_weight_noise > 0) {
    perturb(noisy_target_, actor_target_, cfg_.target_weight_noise,
            cfg_.target_weight_noise_draw == "per_matrix");
  }
  torch::Tensor next_action = target_actor->forward(next_obs);  // (B, act_dim)
  if (cfg_.target_noise > 0) {
    // target-policy smoothing: clipped Gaussian noise from the agent's own RNG, one draw per
    // sample (TD3) or one draw shared by the whole batch
    const int64_t rows = cfg_.target_noise_draw == "shared" ? 1 : next_action.size(0);
    float* eps = target_eps_.data_ptr<float>();
    const double c = cfg_.target_noise_clip;
    for (int64_t i = 0; i < rows * act_dim_; ++i) {
      eps[i] = static_cast<float>(std::clamp(cfg_.target_noise * rng_.normal(), -c, c));
    }
    next_action = (next_action + target_eps_.narrow(0, 0, rows)).clamp_(-1, 1);
  }
  return next_action;
}

torch::Tensor Agent::bellman_target(const Batch& b) {
  torch::NoGradGuard no_grad;
  refresh_norm();
  const torch::Tensor next_obs = normalize(b.next_obs);
  const torch::Tensor next_action = target_action(next_obs);                  // (B, act_dim)
  torch::Tensor q_next = critic_targets_[0]->forward(next_obs, next_action);  // (B, 1)
  for (size_t i = 1; i < critic_targets_.size(); ++i) {
    q_next = torch::min(q_next, critic_targets_[i]->forward(next_obs, next_action));
  }
  // y = r + γ^k (1 − terminated) min_i Q'_i(s', a')   (k = 1 unless n-step)
  return b.reward + b.discount * (1.0 - b.terminated) * q_next;
}

UpdateStats Agent::update(const Batch& b) {
  UpdateStats stats;
  const torch::Tensor y = bellman_target(b);  // (B, 1)
  const torch::Tensor obs = normalize(b.obs);

  // Critics: regress each Q_i(s, a) on y, one Adam step for all.
  torch::Tensor q0, critic_loss;
  for (size_t i = 0; i < critics_.size(); ++i) {
    const torch::Tensor q = critics_[i]->forward(obs, b.action);
    const torch::Tensor loss = (q - y).pow(2).mean();
    critic_loss = i == 0 ? loss : critic_loss + loss;
    if (i == 0) q0 = q;
  }
  critic_opt_->zero_grad();
  critic_loss.backward();
  for (auto& c : critics_) clip_grad_norm(c->parameters(), cfg_.grad_clip);
  critic_opt_->step();
  ++updates_;
  stats.critic_loss = critic_loss.item<double>();
  stats.mean_q = q0.mean().item<double>();

  if (updates_ % cfg_.policy_delay == 0) {
    // Actor: ascend Q_1(s, π(s)); the critic's weights need no gradient for this.
    for (auto& p : critics_[0]->parameters()) p.set_requires_grad(false);
    const torch::Tensor actor_loss = -critics_[0]->forward(obs, actor_->forward(obs)).mean();
    actor_opt_->zero_grad();
    actor_loss.backward();
    clip_grad_norm(actor_->parameters(), cfg_.grad_clip);
    actor_opt_->step();
    for (auto& p : critics_[0]->parameters()) p.set_requires_grad(true);
    // Targets follow slowly.
    for (size_t i = 0; i < critics_.size(); ++i) {
      polyak_update(*critic_targets_[i], *critics_[i], cfg_.tau);
    }
    polyak_update(*actor_target_, *actor_, cfg_.tau);
    last_actor_loss_ = actor_loss.item<double>();
  }
  stats.actor_loss = last_actor_loss_;
  if (param_on_ && updates_ % param_cfg_.param_adapt_every == 0) adapt_param_noise(obs);

  if (!std::isfinite(stats.critic_loss) || !std::isfinite(stats.actor_loss)) {
    throw Error("the loss became non-finite at update " + std::to_string(updates_) + " (critic " +
                std::to_string(stats.critic_loss) + ", actor " + std::to_string(stats.actor_loss) +
                "); lower agent.critic_lr/actor_lr, set agent.grad_clip, or check the env's "
                "rewards");
  }
  return stats;
}

void save_module(ArchiveWriter& out, const torch::nn::Module& m, const std::string& name) {
  out.tag("module:" + name);
  const auto params = m.parameters();
  const auto buffers = m.buffers();
  out.u64(params.size() + buffers.size());
  for (const auto* list : {&params, &buffers}) {
    for (const auto& t : *list) {
      const torch::Tensor c = t.contiguous();
      out.floats(c.data_ptr<float>(), c.numel());
    }
  }
}

void load_module(ArchiveReader& in, torch::nn::Module& m, const std::string& name) {
  in.expect_tag("module:" + name);
  auto params = m.parameters();
  auto buffers = m.buffers();
  const uint64_t n = in.u64();
  if (n != params.size() + buffers.size()) {
    throw Error("'" + in.what() + "': " + name + " has " + std::to_string(n) +
                " tensors, expected " + std::to_string(params.size() + buffers.size()) +
                " (different network architecture?)");
  }
  torch::NoGradGuard no_grad;
  size_t k = 0;
  for (auto* list : {&params, &buffers}) {
    for (auto& t : *list) {
      in.floats(t.data_ptr<float>(), t.numel(), name + " tensor " + std::to_string(k++));
    }
  }
}

void Agent::save(ArchiveWriter& out) const {
  out.tag("agent");
  out.i64(updates_);
  out.f64(last_actor_loss_);
  for (uint64_t w : rng_.state()) out.u64(w);
  save_module(out, *actor_, "actor");
  save_module(out, *actor_target_, "actor_target");
  out.u64(critics_.size());
  for (size_t i = 0; i < critics_.size(); ++i) {
    save_module(out, *critics_[i], "critic" + std::to_string(i));
    save_module(out, *critic_targets_[i], "critic_target" + std::to_string(i));
  }
  actor_opt_->save(out, "actor");
  critic_opt_->save(out, "critic");
  obs_norm_.save(out);
  out.boolean(param_on_);
  if (param_on_) {
    out.f64(param_.sigma);
    out.f64(param_.distance);
    out.f64(param_.target);
    save_module(out, *perturbed_actor_, "perturbed_actor");
  }
}

void Agent::load(ArchiveReader& in) {
  in.expect_tag("agent");
  updates_ = in.i64();
  last_actor_loss_ = in.f64();
  Rng::State s;
  for (auto& w : s) w = in.u64();
  rng_.set_state(s);
  load_module(in, *actor_, "actor");
  load_module(in, *actor_target_, "actor_target");
  const uint64_t n = in.u64();
  if (n != critics_.size()) {
    throw Error("'" + in.what() + "' holds " + std::to_string(n) + " critics, this run has " +
                std::to_string(critics_.size()) + " (agent.n_critics differs)");
  }
  for (size_t i = 0; i < critics_.size(); ++i) {
    load_module(in, *critics_[i], "critic" + std::to_string(i));
    load_module(in, *critic_targets_[i], "critic_target" + std::to_string(i));
  }
  actor_opt_->load(in, "actor");
  critic_opt_->load(in, "critic");
  obs_norm_.load(in);
  norm_dirty_ = true;
  if (in.boolean() != param_on_) {
    throw Error("'" + in.what() + "': parameter noise is " + (param_on_ ? "off" : "on") +
                " in the checkpoint but not in this run (noise.type differs)");
  }
  if (param_on_) {
    param_.sigma = in.f64();
    param_.distance = in.f64();
    param_.target = in.f64();
    load_module(in, *perturbed_actor_, "perturbed_actor");
  }
}

DeployedPolicy::DeployedPolicy(MlpActor actor, std::optional<ObsNormalizer> norm)
    : actor_(std::move(actor)), norm_(std::move(norm)) {
  obs_ = torch::zeros({1, actor_->obs_dim()});
}

void DeployedPolicy::act(const std::vector<double>& obs, float* action) {
  load_obs(obs, norm_ ? &*norm_ : nullptr, obs_);
  forward_one(actor_, obs_, action);
}

void save_policy(const std::string& path, Agent& agent) {
  const AgentConfig& cfg = agent.config();
  ArchiveWriter out(kPolicyMagic, kPolicyVersion);
  out.i64(agent.actor()->obs_dim());
  out.i64(agent.actor()->act_dim());
  out.u64(cfg.hidden.size());
  for (int h : cfg.hidden) out.i64(h);
  out.str(cfg.activation);
  out.str(cfg.layer_norm);
  save_module(out, *agent.actor(), "actor");
  out.boolean(agent.obs_normalizer() != nullptr);
  if (agent.obs_normalizer()) agent.obs_normalizer()->save(out);
  write_file_atomic(path, out.finish());
}

DeployedPolicy load_policy(const std::string& path) {
  ArchiveReader in(read_file(path), kPolicyMagic, kPolicyVersion, path);
  AgentConfig cfg;
  const int obs_dim = static_cast<int>(in.i64());
  const int act_dim = static_cast<int>(in.i64());
  const uint64_t n = in.u64();
  if (obs_dim <= 0 || act_dim <= 0 || n > 64) {
    throw Error("'" + path + "': implausible policy header; the file is damaged");
  }
  cfg.hidden.clear();
  for (uint64_t i = 0; i < n; ++i) cfg.hidden.push_back(static_cast<int>(in.i64()));
  cfg.activation = in.str();
  cfg.layer_norm = in.str();
  MlpActor actor(obs_dim, act_dim, cfg);
  load_module(in, *actor, "actor");
  actor->eval();
  for (auto& p : actor->parameters()) p.set_requires_grad(false);
  std::optional<ObsNormalizer> norm;
  if (in.boolean()) {
    norm = ObsNormalizer(obs_dim, 5.0);
    norm->load(in);
  }
  return DeployedPolicy(std::move(actor), std::move(norm));
}

}  // namespace ddpg
