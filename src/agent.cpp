// Agent: DDPG update, Adam, and (de)serialisation. See agent.h.
#include "ddpg/agent.h"

#include <algorithm>
#include <cmath>

namespace ddpg {
namespace {

const char* kPolicyMagic = "DDPGPOLI";
const uint32_t kPolicyVersion = 2;

// Writes Adam moments in the checkpoint layout: per parameter tensor, its m then its v.
void save_moments(ArchiveWriter& out, const std::string& name, const FlatAdam& adam,
                  const std::vector<int64_t>& sizes) {
  out.tag("adam:" + name);
  out.i64(adam.steps());
  int64_t off = 0;
  for (int64_t n : sizes) {
    out.floats(adam.m().data() + off, n);
    out.floats(adam.v().data() + off, n);
    off += n;
  }
}

void load_moments(ArchiveReader& in, const std::string& name, FlatAdam& adam,
                  const std::vector<int64_t>& sizes) {
  in.expect_tag("adam:" + name);
  adam.set_steps(in.i64());
  int64_t off = 0;
  for (size_t i = 0; i < sizes.size(); ++i) {
    in.floats(adam.m().data() + off, sizes[i], name + " Adam m[" + std::to_string(i) + "]");
    in.floats(adam.v().data() + off, sizes[i], name + " Adam v[" + std::to_string(i) + "]");
    off += sizes[i];
  }
}

std::vector<int64_t> param_sizes(const torch::nn::Module& m, int copies = 1) {
  std::vector<int64_t> sizes;
  for (int c = 0; c < copies; ++c) {
    for (const auto& p : m.parameters()) sizes.push_back(p.numel());
  }
  return sizes;
}

}  // namespace

Agent::Agent(const AgentConfig& cfg, int obs_dim, int act_dim, uint64_t seed)
    : cfg_(cfg),
      obs_dim_(obs_dim),
      act_dim_(act_dim),
      engine_(cfg, obs_dim, act_dim),
      rng_(Rng::derive(seed, 1)),
      obs_norm_(obs_dim, cfg.obs_norm_clip) {
  torch::manual_seed(seed);
  const MlpShape& as = engine_.actor_shape();
  const MlpShape& cs = engine_.critic_shape();
  actor_ = MlpActor(obs_dim, act_dim, cfg);
  actor_target_ = MlpActor(obs_dim, act_dim, cfg);
  copy_parameters(*actor_target_, *actor_);
  for (int i = 0; i < cfg.n_critics; ++i) {
    critics_.emplace_back(obs_dim, act_dim, cfg);
    critic_targets_.emplace_back(obs_dim, act_dim, cfg);
    copy_parameters(*critic_targets_[i], *critics_[i]);
  }
  UpdateEngine::Params params;
  actor_flat_ = flatten_parameters(*actor_, as);
  actor_target_flat_ = flatten_parameters(*actor_target_, as);
  params.actor = actor_flat_.data_ptr<float>();
  params.actor_target = actor_target_flat_.data_ptr<float>();
  for (int i = 0; i < cfg.n_critics; ++i) {
    critic_flat_.push_back(flatten_parameters(*critics_[i], cs));
    critic_target_flat_.push_back(flatten_parameters(*critic_targets_[i], cs));
    params.critics.push_back(critic_flat_[i].data_ptr<float>());
    params.critic_targets.push_back(critic_target_flat_[i].data_ptr<float>());
  }
  engine_.bind(params);
  // Gradients are the engine's business: the modules never record autograd graphs.
  for (auto* m : std::initializer_list<torch::nn::Module*>{actor_.get(), actor_target_.get()}) {
    for (auto& p : m->parameters()) p.set_requires_grad(false);
  }
  for (size_t i = 0; i < critics_.size(); ++i) {
    for (auto& p : critics_[i]->parameters()) p.set_requires_grad(false);
    for (auto& p : critic_targets_[i]->parameters()) p.set_requires_grad(false);
  }
  if (cfg.target_weight_noise > 0) {
    noisy_target_ = MlpActor(obs_dim, act_dim, cfg);
    noisy_target_flat_ = flatten_parameters(*noisy_target_, as);
    for (auto& p : noisy_target_->parameters()) p.set_requires_grad(false);
  }
  const int64_t b = cfg.batch_size;
  batch_.obs = torch::zeros({b, obs_dim});
  batch_.action = torch::zeros({b, act_dim});
  batch_.reward = torch::zeros({b, 1});
  batch_.next_obs = torch::zeros({b, obs_dim});
  batch_.terminated = torch::zeros({b, 1});
  batch_.discount = torch::full({b, 1}, cfg.gamma);
  obs_scratch_.assign(obs_dim, 0.0f);
  act_scratch_.assign(2 * static_cast<size_t>(as.max_width()), 0.0f);
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

// Writes one observation (normalised when configured) as floats.
void load_obs_into(const std::vector<double>& obs, const ObsNormalizer* norm, float* o) {
  if (norm) {
    norm->normalize(obs.data(), o);
  } else {
    for (size_t i = 0; i < obs.size(); ++i) o[i] = static_cast<float>(obs[i]);
  }
}

}  // namespace

const float* Agent::load_obs(const std::vector<double>& obs) {
  if (static_cast<int>(obs.size()) != obs_dim_) {
    throw Error("the policy takes observations of size " + std::to_string(obs_dim_) + ", got " +
                std::to_string(obs.size()));
  }
  load_obs_into(obs, obs_normalizer(), obs_scratch_.data());
  return obs_scratch_.data();
}

void Agent::act(const std::vector<double>& obs, float* action) {
  mlp_act(engine_.actor_shape(), actor_flat_.data_ptr<float>(), load_obs(obs), nullptr, 1, action,
          act_scratch_.data());
}

void Agent::act_rows(const std::vector<const std::vector<double>*>& obs,
                     std::vector<float>& actions) {
  const size_t n = obs.size();
  rows_scratch_.resize(n * obs_dim_);
  actions.resize(n * act_dim_);
  for (size_t i = 0; i < n; ++i) {
    if (static_cast<int>(obs[i]->size()) != obs_dim_) {
      throw Error("the policy takes observations of size " + std::to_string(obs_dim_) + ", got " +
                  std::to_string(obs[i]->size()));
    }
    load_obs_into(*obs[i], obs_normalizer(), rows_scratch_.data() + i * obs_dim_);
  }
  mlp_act(engine_.actor_shape(), actor_flat_.data_ptr<float>(), rows_scratch_.data(), nullptr,
          static_cast<int>(n), actions.data(), act_scratch_.data());
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
  perturbed_flat_ = flatten_parameters(*perturbed_actor_, engine_.actor_shape());
  adaptive_flat_ = flatten_parameters(*adaptive_actor_, engine_.actor_shape());
  for (auto& p : perturbed_actor_->parameters()) p.set_requires_grad(false);
  for (auto& p : adaptive_actor_->parameters()) p.set_requires_grad(false);
  resample_perturbation();
}

void Agent::resample_perturbation() {
  if (param_on_) perturb(perturbed_actor_, actor_, param_.sigma, false);
}

void Agent::act_perturbed(const std::vector<double>& obs, float* action) {
  mlp_act(engine_.actor_shape(), perturbed_flat_.data_ptr<float>(), load_obs(obs), nullptr, 1,
          action, act_scratch_.data());
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
  refresh_norm();
  UpdateEngine::Extras e;
  if (cfg_.obs_norm) {
    e.norm_mean = norm_mean_.data_ptr<float>();
    e.norm_inv_std = norm_inv_std_.data_ptr<float>();
    e.norm_clip = static_cast<float>(cfg_.obs_norm_clip);
  }
  // The random draws of the target, in the order target_action() makes them.
  if (cfg_.target_weight_noise > 0) {
    perturb(noisy_target_, actor_target_, cfg_.target_weight_noise,
            cfg_.target_weight_noise_draw == "per_matrix");
    e.target_actor = noisy_target_flat_.data_ptr<float>();
  }
  if (cfg_.target_noise > 0) {
    const int rows = cfg_.target_noise_draw == "shared" ? 1 : cfg_.batch_size;
    float* eps = target_eps_.data_ptr<float>();
    const double c = cfg_.target_noise_clip;
    for (int64_t i = 0; i < int64_t{rows} * act_dim_; ++i) {
      eps[i] = static_cast<float>(std::clamp(cfg_.target_noise * rng_.normal(), -c, c));
    }
    e.target_eps = eps;
    e.eps_rows = rows;
  }
  const BatchView view{b.obs.data_ptr<float>(),        b.action.data_ptr<float>(),
                       b.reward.data_ptr<float>(),     b.next_obs.data_ptr<float>(),
                       b.terminated.data_ptr<float>(), b.discount.data_ptr<float>()};
  ++updates_;
  const bool actor_step = updates_ % cfg_.policy_delay == 0;
  const EngineStats es = engine_.update(view, e, actor_step);
  UpdateStats stats;
  stats.critic_loss = es.critic_loss;
  stats.mean_q = es.mean_q;
  if (actor_step) last_actor_loss_ = es.actor_loss;
  stats.actor_loss = last_actor_loss_;
  if (param_on_ && updates_ % param_cfg_.param_adapt_every == 0)
    adapt_param_noise(normalize(b.obs));

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
  save_moments(out, "actor", engine_.actor_adam(), param_sizes(*actor_));
  save_moments(out, "critic", engine_.critic_adam(), param_sizes(*critics_[0], cfg_.n_critics));
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
  load_moments(in, "actor", engine_.actor_adam(), param_sizes(*actor_));
  load_moments(in, "critic", engine_.critic_adam(), param_sizes(*critics_[0], cfg_.n_critics));
  engine_.sync_replicas();
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

DeployedPolicy::DeployedPolicy(MlpActor actor, const MlpShape& shape,
                               std::optional<ObsNormalizer> norm)
    : actor_(std::move(actor)), shape_(shape), norm_(std::move(norm)) {
  flat_ = flatten_parameters(*actor_, shape_);
  obs_.assign(shape_.in, 0.0f);
  scratch_.assign(2 * static_cast<size_t>(shape_.max_width()), 0.0f);
}

void DeployedPolicy::act(const std::vector<double>& obs, float* action) {
  if (static_cast<int>(obs.size()) != shape_.in) {
    throw Error("this policy takes observations of size " + std::to_string(shape_.in) + ", got " +
                std::to_string(obs.size()) + " (a policy trained on another env?)");
  }
  load_obs_into(obs, norm_ ? &*norm_ : nullptr, obs_.data());
  mlp_act(shape_, flat_.data_ptr<float>(), obs_.data(), nullptr, 1, action, scratch_.data());
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
  return DeployedPolicy(std::move(actor), actor_shape_of(cfg, obs_dim, act_dim), std::move(norm));
}

}  // namespace ddpg
