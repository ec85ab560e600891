// Agent: DDPG update, Adam, and (de)serialisation. See agent.h.
#include "ddpg/agent.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "ddpg/env.h"

namespace ddpg {
namespace {

const char* kPolicyMagic = "DDPGPOLI";
// 3 added the env's id and action bounds after the normaliser; 2 is still read.
const uint32_t kPolicyVersion = 3;
const uint32_t kOldestPolicyVersion = 2;

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

// The tensor sizes of `copies` networks of one shape, in checkpoint order.
std::vector<int64_t> tensor_sizes(const MlpShape& shape, int copies = 1) {
  std::vector<int64_t> sizes;
  for (int c = 0; c < copies; ++c) {
    for (const MlpTensor& t : mlp_tensors(shape)) sizes.push_back(t.size);
  }
  return sizes;
}

}  // namespace

Batch::Batch(int batch_size, int obs_dim_, int act_dim_, double gamma)
    : size(batch_size),
      obs_dim(obs_dim_),
      act_dim(act_dim_),
      obs(size_t(batch_size) * obs_dim_),
      action(size_t(batch_size) * act_dim_),
      reward(batch_size),
      next_obs(size_t(batch_size) * obs_dim_),
      terminated(batch_size),
      discount(batch_size, static_cast<float>(gamma)) {}

Agent::Agent(const AgentConfig& cfg, int obs_dim, int act_dim, uint64_t seed)
    : cfg_(cfg),
      obs_dim_(obs_dim),
      act_dim_(act_dim),
      engine_(cfg, obs_dim, act_dim),
      rng_(Rng::derive(seed, 1)),
      batch_(cfg.batch_size, obs_dim, act_dim, cfg.gamma),
      obs_norm_(obs_dim, cfg.obs_norm_clip) {
  const MlpShape& as = engine_.actor_shape();
  const MlpShape& cs = engine_.critic_shape();
  // Initialisation draws from its own stream, network by network: actor, then each critic.
  Rng init(seed);
  actor_ = FloatBuffer(as.size());
  actor_target_ = FloatBuffer(as.size());
  mlp_init(as, cfg.final_init, init, actor_.data());
  std::copy(actor_.begin(), actor_.end(), actor_target_.begin());
  UpdateEngine::Params params;
  params.actor = actor_.data();
  params.actor_target = actor_target_.data();
  for (int i = 0; i < cfg.n_critics; ++i) {
    critics_.emplace_back(cs.size());
    critic_targets_.emplace_back(cs.size());
    mlp_init(cs, cfg.final_init, init, critics_[i].data());
    std::copy(critics_[i].begin(), critics_[i].end(), critic_targets_[i].begin());
    params.critics.push_back(critics_[i].data());
    params.critic_targets.push_back(critic_targets_[i].data());
  }
  engine_.bind(params);
  if (cfg.target_weight_noise > 0) noisy_target_ = FloatBuffer(as.size(), 0.0f);
  obs_scratch_.assign(obs_dim, 0.0f);
  act_scratch_.assign(2 * static_cast<size_t>(as.max_width()), 0.0f);
  target_eps_.assign(size_t(cfg.batch_size) * act_dim, 0.0f);
  norm_mean_.assign(obs_dim, 0.0f);
  norm_inv_std_.assign(obs_dim, 1.0f);
}

void Agent::observe(const std::vector<double>& obs) {
  if (!cfg_.obs_norm) return;
  obs_norm_.update(obs);
  norm_dirty_ = true;
}

void Agent::merge_observations(const ObsNormalizer& seen) {
  if (!cfg_.obs_norm) return;
  obs_norm_.merge(seen);
  norm_dirty_ = true;
}

void Agent::set_observation_stats(const ObsNormalizer& stats) {
  if (!cfg_.obs_norm) return;
  obs_norm_ = stats;
  norm_dirty_ = true;
}

void Agent::refresh_norm() {
  if (!norm_dirty_) return;
  obs_norm_.affine(norm_mean_.data(), norm_inv_std_.data());
  norm_dirty_ = false;
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
  mlp_act(engine_.actor_shape(), actor_.data(), load_obs(obs), nullptr, 1, action,
          act_scratch_.data());
}

void Agent::act_fixed(const std::vector<double>& obs, float* action) {
  const MlpShape& shape = engine_.actor_shape();
  if (!act_packed_valid_) {
    if (act_packed_.size() != shape.size()) act_packed_ = FloatBuffer(shape.size());
    mlp_pack_act(shape, actor_.data(), act_packed_.data());
    act_packed_valid_ = true;
  }
  mlp_act(shape, act_packed_.data(), load_obs(obs), nullptr, 1, action, act_scratch_.data(), true);
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
  mlp_act(engine_.actor_shape(), actor_.data(), rows_scratch_.data(), nullptr, static_cast<int>(n),
          actions.data(), act_scratch_.data());
}

void Agent::perturb(float* dst, const float* src, double sigma, bool per_matrix) {
  const MlpShape& shape = engine_.actor_shape();
  std::copy(src, src + shape.size(), dst);
  for (const MlpTensor& t : mlp_tensors(shape)) {
    if (t.layer_norm) continue;  // LayerNorm gains and biases stay as they are
    float* p = dst + t.offset;
    double scale = sigma;
    if (per_matrix) {
      double sq = 0.0;
      for (int64_t i = 0; i < t.size; ++i) sq += double{p[i]} * p[i];
      scale *= std::sqrt(sq / static_cast<double>(t.size));
    }
    for (int64_t i = 0; i < t.size; ++i) p[i] += static_cast<float>(scale * rng_.normal());
  }
}

void Agent::enable_param_noise(const NoiseConfig& noise) {
  param_on_ = true;
  param_cfg_ = noise;
  param_.sigma = noise.param_initial_sigma;
  param_.target = noise.sigma;
  perturbed_ = FloatBuffer(engine_.actor_shape().size(), 0.0f);
  adaptive_ = FloatBuffer(engine_.actor_shape().size(), 0.0f);
  resample_perturbation();
}

void Agent::resample_perturbation() {
  if (param_on_) perturb(perturbed_.data(), actor_.data(), param_.sigma, false);
}

void Agent::act_perturbed(const std::vector<double>& obs, float* action) {
  mlp_act(engine_.actor_shape(), perturbed_.data(), load_obs(obs), nullptr, 1, action,
          act_scratch_.data());
}

void Agent::adapt_param_noise(const Batch& b) {
  perturb(adaptive_.data(), actor_.data(), param_.sigma, false);
  // the batch's observations, normalised as the actor sees them
  const size_t n = b.obs.size();
  rows_scratch_.resize(n);
  const float c = static_cast<float>(cfg_.obs_norm_clip);
  for (size_t i = 0; i < n; ++i) {
    const size_t j = i % obs_dim_;
    rows_scratch_[i] =
        cfg_.obs_norm ? std::clamp((b.obs[i] - norm_mean_[j]) * norm_inv_std_[j], -c, c) : b.obs[i];
  }
  adapt_a_.resize(size_t(b.size) * act_dim_);
  adapt_b_.resize(adapt_a_.size());
  const MlpShape& shape = engine_.actor_shape();
  mlp_act(shape, actor_.data(), rows_scratch_.data(), nullptr, b.size, adapt_a_.data(),
          act_scratch_.data());
  mlp_act(shape, adaptive_.data(), rows_scratch_.data(), nullptr, b.size, adapt_b_.data(),
          act_scratch_.data());
  double sq = 0.0;
  for (size_t i = 0; i < adapt_a_.size(); ++i) {
    const double d = double{adapt_a_[i]} - adapt_b_[i];
    sq += d * d;
  }
  param_.distance = std::sqrt(sq / static_cast<double>(adapt_a_.size()));
  if (param_.distance <= param_.target) {
    param_.sigma *= param_cfg_.param_alpha;
  } else {
    param_.sigma /= param_cfg_.param_alpha;
  }
}

TargetDraws Agent::last_target_draws() const {
  TargetDraws d;
  if (target_eps_rows_ > 0) {
    d.eps = target_eps_.data();
    d.eps_rows = target_eps_rows_;
  }
  if (cfg_.target_weight_noise > 0) d.target_actor = noisy_target_.data();
  return d;
}

UpdateStats Agent::update(const Batch& b) {
  actor_changed();
  refresh_norm();
  UpdateEngine::Extras e;
  if (cfg_.obs_norm) {
    e.norm_mean = norm_mean_.data();
    e.norm_inv_std = norm_inv_std_.data();
    e.norm_clip = static_cast<float>(cfg_.obs_norm_clip);
  }
  // The target's random draws: the target actor's weight noise, then the target-action noise.
  if (cfg_.target_weight_noise > 0) {
    perturb(noisy_target_.data(), actor_target_.data(), cfg_.target_weight_noise,
            cfg_.target_weight_noise_draw == "per_matrix");
    e.target_actor = noisy_target_.data();
  }
  target_eps_rows_ = 0;
  if (cfg_.target_noise > 0) {
    // target-policy smoothing: clipped Gaussian noise, one draw per sample (TD3) or one draw
    // shared by the whole batch
    const int rows = cfg_.target_noise_draw == "shared" ? 1 : cfg_.batch_size;
    const double c = cfg_.target_noise_clip;
    for (int64_t i = 0; i < int64_t{rows} * act_dim_; ++i) {
      target_eps_[i] = static_cast<float>(std::clamp(cfg_.target_noise * rng_.normal(), -c, c));
    }
    e.target_eps = target_eps_.data();
    e.eps_rows = target_eps_rows_ = rows;
  }
  ++updates_;
  const bool actor_step = updates_ % cfg_.policy_delay == 0;
  const EngineStats es = engine_.update(b.view(), e, actor_step);
  UpdateStats stats;
  stats.critic_loss = es.critic_loss;
  stats.mean_q = es.mean_q;
  if (actor_step) last_actor_loss_ = es.actor_loss;
  stats.actor_loss = last_actor_loss_;
  if (param_on_ && updates_ % param_cfg_.param_adapt_every == 0) adapt_param_noise(b);

  if (!std::isfinite(stats.critic_loss) || !std::isfinite(stats.actor_loss)) {
    throw Error("the loss became non-finite at update " + std::to_string(updates_) + " (critic " +
                std::to_string(stats.critic_loss) + ", actor " + std::to_string(stats.actor_loss) +
                "); lower agent.critic_lr/actor_lr, set agent.grad_clip, or check the env's "
                "rewards");
  }
  return stats;
}

void save_network(ArchiveWriter& out, const MlpShape& shape, const float* params,
                  const std::string& name) {
  out.tag("module:" + name);
  const std::vector<MlpTensor> tensors = mlp_tensors(shape);
  out.u64(tensors.size());
  for (const MlpTensor& t : tensors) out.floats(params + t.offset, t.size);
}

void load_network(ArchiveReader& in, const MlpShape& shape, float* params,
                  const std::string& name) {
  in.expect_tag("module:" + name);
  const std::vector<MlpTensor> tensors = mlp_tensors(shape);
  const uint64_t n = in.u64();
  if (n != tensors.size()) {
    throw Error("'" + in.what() + "': " + name + " has " + std::to_string(n) +
                " tensors, expected " + std::to_string(tensors.size()) +
                " (different network architecture?)");
  }
  for (size_t k = 0; k < tensors.size(); ++k) {
    in.floats(params + tensors[k].offset, tensors[k].size, name + " tensor " + std::to_string(k));
  }
}

void Agent::save(ArchiveWriter& out) const {
  out.tag("agent");
  out.i64(updates_);
  out.f64(last_actor_loss_);
  for (uint64_t w : rng_.state()) out.u64(w);
  save_network(out, engine_.actor_shape(), actor_.data(), "actor");
  save_network(out, engine_.actor_shape(), actor_target_.data(), "actor_target");
  out.u64(critics_.size());
  for (size_t i = 0; i < critics_.size(); ++i) {
    save_network(out, engine_.critic_shape(), critics_[i].data(), "critic" + std::to_string(i));
    save_network(out, engine_.critic_shape(), critic_targets_[i].data(),
                 "critic_target" + std::to_string(i));
  }
  save_moments(out, "actor", engine_.actor_adam(), tensor_sizes(engine_.actor_shape()));
  save_moments(out, "critic", engine_.critic_adam(),
               tensor_sizes(engine_.critic_shape(), cfg_.n_critics));
  obs_norm_.save(out);
  out.boolean(param_on_);
  if (param_on_) {
    out.f64(param_.sigma);
    out.f64(param_.distance);
    out.f64(param_.target);
    save_network(out, engine_.actor_shape(), perturbed_.data(), "perturbed_actor");
  }
}

void Agent::load(ArchiveReader& in) {
  actor_changed();
  in.expect_tag("agent");
  updates_ = in.i64();
  last_actor_loss_ = in.f64();
  Rng::State s;
  for (auto& w : s) w = in.u64();
  rng_.set_state(s);
  load_network(in, engine_.actor_shape(), actor_.data(), "actor");
  load_network(in, engine_.actor_shape(), actor_target_.data(), "actor_target");
  const uint64_t n = in.u64();
  if (n != critics_.size()) {
    throw Error("'" + in.what() + "' holds " + std::to_string(n) + " critics, this run has " +
                std::to_string(critics_.size()) + " (agent.n_critics differs)");
  }
  for (size_t i = 0; i < critics_.size(); ++i) {
    load_network(in, engine_.critic_shape(), critics_[i].data(), "critic" + std::to_string(i));
    load_network(in, engine_.critic_shape(), critic_targets_[i].data(),
                 "critic_target" + std::to_string(i));
  }
  load_moments(in, "actor", engine_.actor_adam(), tensor_sizes(engine_.actor_shape()));
  load_moments(in, "critic", engine_.critic_adam(),
               tensor_sizes(engine_.critic_shape(), cfg_.n_critics));
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
    load_network(in, engine_.actor_shape(), perturbed_.data(), "perturbed_actor");
  }
}

DeployedPolicy::DeployedPolicy(const MlpShape& shape, FloatBuffer params,
                               std::optional<ObsNormalizer> norm, PolicyEnvInfo env)
    : shape_(shape), params_(std::move(params)), norm_(std::move(norm)), env_(std::move(env)) {
  obs_.assign(shape_.in, 0.0f);
  scratch_.assign(2 * static_cast<size_t>(shape_.max_width()), 0.0f);
  // The policy never changes: it acts on the transposed copy (mlp_pack_act) from the start.
  packed_ = FloatBuffer(shape_.size());
  mlp_pack_act(shape_, params_.data(), packed_.data());
}

void DeployedPolicy::act(const std::vector<double>& obs, float* action) {
  if (static_cast<int>(obs.size()) != shape_.in) {
    throw Error("this policy takes observations of size " + std::to_string(shape_.in) + ", got " +
                std::to_string(obs.size()) + " (a policy trained on another env?)");
  }
  load_obs_into(obs, norm_ ? &*norm_ : nullptr, obs_.data());
  mlp_act(shape_, packed_.data(), obs_.data(), nullptr, 1, action, scratch_.data(), true);
}

void save_policy(const std::string& path, Agent& agent, const EnvSpec& env) {
  if (env.obs_dim != agent.obs_dim() || env.act_dim != agent.act_dim()) {
    throw Error("save_policy: the env " + env.id + " does not match the agent's sizes");
  }
  const AgentConfig& cfg = agent.config();
  ArchiveWriter out(kPolicyMagic, kPolicyVersion);
  out.i64(agent.obs_dim());
  out.i64(agent.act_dim());
  out.u64(cfg.hidden.size());
  for (int h : cfg.hidden) out.i64(h);
  out.str(cfg.activation);
  out.str(cfg.layer_norm);
  save_network(out, agent.engine().actor_shape(), agent.actor(), "actor");
  out.boolean(agent.obs_normalizer() != nullptr);
  if (agent.obs_normalizer()) agent.obs_normalizer()->save(out);
  out.tag("env");
  out.str(env.id);
  out.doubles(env.act_low);
  out.doubles(env.act_high);
  write_file_atomic(path, out.finish());
}

DeployedPolicy load_policy(const std::string& path) {
  ArchiveReader in(read_file(path), kPolicyMagic, kPolicyVersion, path, kOldestPolicyVersion);
  AgentConfig cfg;
  const int64_t obs_dim64 = in.i64(), act_dim64 = in.i64();
  const uint64_t n = in.u64();
  if (obs_dim64 <= 0 || act_dim64 <= 0 || obs_dim64 > (1 << 20) || act_dim64 > (1 << 20) ||
      n > 64) {
    throw Error("'" + path + "': implausible policy header; the file is damaged");
  }
  const int obs_dim = static_cast<int>(obs_dim64), act_dim = static_cast<int>(act_dim64);
  cfg.hidden.clear();
  for (uint64_t i = 0; i < n; ++i) {
    const int64_t h = in.i64();
    if (h <= 0 || h > (1 << 20)) {
      throw Error("'" + path + "': implausible layer width " + std::to_string(h) +
                  "; the file is damaged");
    }
    cfg.hidden.push_back(static_cast<int>(h));
  }
  cfg.activation = in.str();
  cfg.layer_norm = in.str();
  MlpShape shape;
  try {
    shape = actor_shape_of(cfg, obs_dim, act_dim);
  } catch (const std::exception& e) {
    throw Error("'" + path + "': " + e.what() + "; the file is damaged or from another version");
  }
  // the weights must be in the file: no allocation beyond what it holds
  if (static_cast<uint64_t>(shape.size()) > in.remaining() / sizeof(float)) {
    throw Error("'" + path + "': the header describes " + std::to_string(shape.size()) +
                " weights, more than the file holds; the file is damaged");
  }
  FloatBuffer params(shape.size(), 0.0f);
  load_network(in, shape, params.data(), "actor");
  std::optional<ObsNormalizer> norm;
  if (in.boolean()) {
    norm = ObsNormalizer(obs_dim, 5.0);
    norm->load(in);
  }
  PolicyEnvInfo env;
  if (in.version() >= 3) {
    in.expect_tag("env");
    env.id = in.str();
    env.act_low.resize(act_dim);
    env.act_high.resize(act_dim);
    in.doubles(env.act_low.data(), act_dim, "action low bounds");
    in.doubles(env.act_high.data(), act_dim, "action high bounds");
  }
  return DeployedPolicy(shape, std::move(params), std::move(norm), std::move(env));
}

}  // namespace ddpg
