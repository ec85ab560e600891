// UpdateEngine: see update_engine.h.
#include "ddpg/update_engine.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "ddpg/gemm.h"

namespace ddpg {
namespace {

// Thread `t` of `n`'s part of [0, size), cut at multiples of 16 floats (one cache line).
std::pair<int64_t, int64_t> range_of(int64_t size, int t, int n) {
  const int64_t chunk = (size / n + 15) / 16 * 16;
  const int64_t lo = std::min(size, chunk * t);
  const int64_t hi = t + 1 == n ? size : std::min(size, lo + chunk);
  return {lo, hi};
}

// With one thread the engine's parallel regions are inactive, and OpenBLAS would then use the
// caller's OpenMP thread setting: this pins it to 1 for the scope, and restores it.
class SerialBlasWhenSingle {
 public:
  explicit SerialBlasWhenSingle(int nthreads) : on_(nthreads == 1), saved_(omp_get_max_threads()) {
    if (on_) omp_set_num_threads(1);
  }
  ~SerialBlasWhenSingle() {
    if (on_) omp_set_num_threads(saved_);
  }
  SerialBlasWhenSingle(const SerialBlasWhenSingle&) = delete;
  SerialBlasWhenSingle& operator=(const SerialBlasWhenSingle&) = delete;

 private:
  bool on_;
  int saved_;
};

// The torch-style global-norm clip of one gradient buffer: × max_norm/(‖g‖ + 1e-6) when that is
// < 1.
void clip_norm(float* g, int64_t n, double max_norm) {
  const double norm = std::sqrt(simd::sum_squares(g, n));
  const double coef = max_norm / (norm + 1e-6);
  if (coef >= 1.0) return;
  const float c = static_cast<float>(coef);
  for (int64_t k = 0; k < n; ++k) g[k] *= c;
}

}  // namespace

FlatAdam::FlatAdam(int64_t size, double lr, double weight_decay, double beta1, double beta2,
                   double eps)
    : m_(size),
      v_(size),
      lr_(lr),
      weight_decay_(weight_decay),
      beta1_(beta1),
      beta2_(beta2),
      eps_(eps) {}

simd::AdamCoefficients FlatAdam::next_step() {
  ++t_;
  const double bc1 = 1.0 - std::pow(beta1_, static_cast<double>(t_));
  const double bc2 = 1.0 - std::pow(beta2_, static_cast<double>(t_));
  simd::AdamCoefficients c;
  c.beta1 = static_cast<float>(beta1_);
  c.beta2 = static_cast<float>(beta2_);
  c.eps = static_cast<float>(eps_);
  c.weight_decay = static_cast<float>(weight_decay_);
  c.step_size = static_cast<float>(lr_ / bc1);
  c.sqrt_bc2 = static_cast<float>(std::sqrt(bc2));
  return c;
}

void FlatAdam::apply(float* params, const float* grad, int64_t lo, int64_t hi,
                     const simd::AdamCoefficients& c) {
  if (hi > lo) simd::adam(params + lo, grad + lo, m_.data() + lo, v_.data() + lo, hi - lo, c);
}

MlpShape actor_shape_of(const AgentConfig& cfg, int obs_dim, int act_dim) {
  MlpShape s;
  s.in = obs_dim;
  s.hidden = cfg.hidden;
  s.out = act_dim;
  s.activation = parse_activation(cfg.activation);
  s.tanh_out = true;
  s.layer_norm = cfg.layer_norm == "actor" || cfg.layer_norm == "both";
  return s;
}

MlpShape critic_shape_of(const AgentConfig& cfg, int obs_dim, int act_dim) {
  MlpShape s;
  s.in = obs_dim;
  s.extra = act_dim;
  s.extra_at = cfg.critic_action_layer;
  s.hidden = cfg.hidden;
  s.out = 1;
  s.activation = parse_activation(cfg.activation);
  s.layer_norm = cfg.layer_norm == "critic" || cfg.layer_norm == "both";
  return s;
}

UpdateEngine::UpdateEngine(const AgentConfig& cfg, int obs_dim, int act_dim)
    : cfg_(cfg),
      obs_dim_(obs_dim),
      act_dim_(act_dim),
      batch_(cfg.batch_size),
      actor_shape_(actor_shape_of(cfg, obs_dim, act_dim)),
      critic_shape_(critic_shape_of(cfg, obs_dim, act_dim)),
      shards_(std::max(1, std::min(cfg.batch_shards, cfg.batch_size))),
      action_scale_(static_cast<float>(cfg.critic_action_scale)),
      actor_adam_(actor_shape_.size(), cfg.actor_lr),
      critic_adam_(critic_shape_.size() * cfg.n_critics, cfg.critic_lr, cfg.critic_weight_decay) {
  shard_.resize(shards_);
  for (int k = 0; k < shards_; ++k) {
    Shard& s = shard_[k];
    s.row0 = static_cast<int>(int64_t{batch_} * k / shards_);
    s.rows = static_cast<int>(int64_t{batch_} * (k + 1) / shards_) - s.row0;
    s.critic_grad = FloatBuffer(critic_shape_.size() * cfg.n_critics);
    s.actor_grad = FloatBuffer(actor_shape_.size());
  }
  rebuild_groups();
}

void UpdateEngine::set_threads(int threads) {
  threads_ = std::max(1, std::min(threads, shards_));
  rebuild_groups();
  rebuild_states();
}

bool UpdateEngine::blocks_allowed() const {
  // the smallest shard is the first (rows = ⌊batch/shards⌋ or one more)
  return gemm::native() && shard_[0].rows >= gemm::kPackMinRows;
}

void UpdateEngine::rebuild_groups() {
  blocks_ = blocks_allowed();
  group_.clear();
  group_begin_.assign(threads_ + 1, 0);
  for (int t = 0; t < threads_; ++t) {
    group_begin_[t] = static_cast<int>(group_.size());
    const int k1 = shards_ * (t + 1) / threads_;
    for (int k = shards_ * t / threads_; k < k1;) {
      Group& g = group_.emplace_back();
      g.shard0 = k;
      g.shard1 = blocks_ ? k1 : k + 1;
      g.row0 = shard_[g.shard0].row0;
      g.rows = shard_[g.shard1 - 1].row0 + shard_[g.shard1 - 1].rows - g.row0;
      g.target_actor = MlpWorkspace(actor_shape_, g.rows);
      g.actor = MlpWorkspace(actor_shape_, g.rows);
      g.target_critic = MlpWorkspace(critic_shape_, g.rows);
      g.critic = MlpWorkspace(critic_shape_, g.rows);
      g.y.assign(g.rows, 0.0f);
      g.dq.assign(g.rows, 0.0f);
      g.da.assign(static_cast<size_t>(g.rows) * act_dim_, 0.0f);
      g.segments.resize(g.shard1 - g.shard0);
      k = g.shard1;
    }
  }
  group_begin_[threads_] = static_cast<int>(group_.size());
}

const GradSegment* UpdateEngine::segments(Group& g, bool critic, int64_t offset) {
  for (int k = g.shard0; k < g.shard1; ++k) {
    Shard& s = shard_[k];
    float* grad = critic ? s.critic_grad.data() : s.actor_grad.data();
    g.segments[k - g.shard0] = {s.row0 - g.row0, s.rows, grad + offset};
  }
  return g.segments.data();
}

void UpdateEngine::bind(const Params& p) {
  params_ = p;
  rebuild_states();
}

void UpdateEngine::rebuild_states() {
  if (!params_.actor) return;  // not bound yet
  const int64_t asize = actor_shape_.size(), csize = critic_shape_.size();
  const int64_t ctotal = csize * cfg_.n_critics;
  replicas_.resize(threads_ - 1);
  state_.assign(threads_, ThreadState{});
  state_[0] = {params_, actor_adam_.m().data(), actor_adam_.v().data(), critic_adam_.m().data(),
               critic_adam_.v().data()};
  for (int t = 1; t < threads_; ++t) {
    Replica& r = replicas_[t - 1];
    if (r.actor.size() != asize) {
      r.actor = FloatBuffer(asize);
      r.actor_target = FloatBuffer(asize);
      r.actor_m = FloatBuffer(asize);
      r.actor_v = FloatBuffer(asize);
      r.critic_m = FloatBuffer(ctotal);
      r.critic_v = FloatBuffer(ctotal);
      r.critics.clear();
      r.critic_targets.clear();
      for (int i = 0; i < cfg_.n_critics; ++i) {
        r.critics.emplace_back(csize);
        r.critic_targets.emplace_back(csize);
      }
    }
    ThreadState& st = state_[t];
    st.params.actor = r.actor.data();
    st.params.actor_target = r.actor_target.data();
    st.params.critics.clear();
    st.params.critic_targets.clear();
    for (int i = 0; i < cfg_.n_critics; ++i) {
      st.params.critics.push_back(r.critics[i].data());
      st.params.critic_targets.push_back(r.critic_targets[i].data());
    }
    st.actor_m = r.actor_m.data();
    st.actor_v = r.actor_v.data();
    st.critic_m = r.critic_m.data();
    st.critic_v = r.critic_v.data();
  }
  sync_replicas();
}

namespace {

// Calls f(a's buffer, b's buffer, floats) for every buffer of two thread states: parameters,
// targets and Adam moments.
template <typename State, typename F>
void for_each_buffer(const State& a, const State& b, int64_t asize, int64_t csize, F&& f) {
  f(a.params.actor, b.params.actor, asize);
  f(a.params.actor_target, b.params.actor_target, asize);
  for (size_t i = 0; i < a.params.critics.size(); ++i) {
    f(a.params.critics[i], b.params.critics[i], csize);
    f(a.params.critic_targets[i], b.params.critic_targets[i], csize);
  }
  const int64_t ctotal = csize * static_cast<int64_t>(a.params.critics.size());
  f(a.actor_m, b.actor_m, asize);
  f(a.actor_v, b.actor_v, asize);
  f(a.critic_m, b.critic_m, ctotal);
  f(a.critic_v, b.critic_v, ctotal);
}

}  // namespace

void UpdateEngine::sync_replicas() {
  for (size_t t = 1; t < state_.size(); ++t) {
    for_each_buffer(
        state_[0], state_[t], actor_shape_.size(), critic_shape_.size(),
        [](const float* src, float* dst, int64_t n) { std::memcpy(dst, src, sizeof(float) * n); });
  }
}

bool UpdateEngine::replicas_in_sync() const {
  bool same = true;
  for (size_t t = 1; t < state_.size(); ++t) {
    for_each_buffer(state_[0], state_[t], actor_shape_.size(), critic_shape_.size(),
                    [&same](const float* a, const float* b, int64_t n) {
                      same = same && std::memcmp(a, b, sizeof(float) * n) == 0;
                    });
  }
  return same;
}

void UpdateEngine::load_obs(const float* src, int rows, float* dst, int ld, const Extras& e) const {
  const int o = obs_dim_;
  for (int r = 0; r < rows; ++r) {
    const float* x = src + int64_t{r} * o;
    float* d = dst + int64_t{r} * ld;
    if (e.norm_mean) {
      const float c = e.norm_clip;
      for (int j = 0; j < o; ++j) {
        d[j] = std::clamp((x[j] - e.norm_mean[j]) * e.norm_inv_std[j], -c, c);
      }
    } else {
      std::memcpy(d, x, sizeof(float) * o);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The update, in the order of the algorithm. Each step runs on every thread of the team (OpenMP):
// a thread works on its own shards of the batch, and on its own copy of the parameters (thread 0
// on the bound buffers, the others on their replicas; see the header).

EngineStats UpdateEngine::update(const BatchView& batch, const Extras& e, bool actor_step) {
  if (blocks_ != blocks_allowed()) rebuild_groups();  // the multiply path was switched (tests)
  const simd::AdamCoefficients critic_lr = critic_adam_.next_step();
  const simd::AdamCoefficients actor_lr = actor_step ? actor_adam_.next_step() : critic_lr;
  const float tau = static_cast<float>(cfg_.tau);
  on_each_thread([&](const Worker& w) {
    // 1. The Bellman target, no gradient (DDPG eq. 5; TD3 §4.2 clipped double Q, §5.3 smoothing):
    //      a' = clip(π'(s') + ε, −1, 1)            ε: clipped noise drawn by the agent (TD3), or 0
    //      y  = r + γ^k (1 − terminated) min_i Q'_i(s', a')     k = 1, or the n-step bootstrap
    w.each_group([&](Group& g) { bellman_target(g, w, batch, e); });
    // 2. Critic regression (DDPG eq. 4): L = Σ_i mean (Q_i(s, a) − y)², ∇L by backpropagation,
    //    then one Adam step θ_i ← Adam(θ_i, ∇_θi L) (L2 weight decay and norm clipping optional).
    //    On actor steps the same pass over the buffers does step 4 for the critics' targets.
    w.each_group([&](Group& g) { critic_gradients(g, w, batch, e); });
    w.adam_step(Net::kCritics, critic_lr, /*polyak_tau=*/actor_step ? tau : 0.0f);
    // TD3's delayed policy update (§5.2): the actor and the targets move every policy_delay
    // updates.
    if (!actor_step) return;
    // 3. The deterministic policy gradient (DDPG eq. 6): ∇_φ J = −∇_φ mean Q_1(s, π_φ(s)),
    //    through the updated critic to its action input, then one Adam step on φ.
    w.each_group([&](Group& g) { actor_gradient(g, w); });
    // 4. Polyak averaging of every target network, θ' ← τθ + (1 − τ)θ' (DDPG Algorithm 1): here the
    //    actor's, in its Adam pass, as the critics' in theirs (one pass over each network's
    //    buffers instead of two; a separate pass cost ~4% of a TD3 update, docs/performance.md).
    w.adam_step(Net::kActor, actor_lr, /*polyak_tau=*/tau);
  });
  return stats(actor_step);
}

// ---------------------------------------------------------------------------------------------
// The steps' work on one group: rows [row0, row0 + rows) of the batch, one shard or several
// consecutive ones (the parameter gradients apart, per shard).

void UpdateEngine::bellman_target(Group& g, const Worker& w, const BatchView& b, const Extras& e) {
  const Params& params = w.state().params;
  const int rows = g.rows, a = act_dim_;
  const MlpShape& cs = critic_shape_;
  const float* next_obs = b.next_obs + int64_t{g.row0} * obs_dim_;
  // a' = π'(s'), from the weight-perturbed target actor when the agent drew one
  load_obs(next_obs, rows, g.target_actor.input(), obs_dim_, e);
  mlp_forward(actor_shape_, e.target_actor ? e.target_actor : params.actor_target, g.target_actor,
              rows);
  // the target critics' input (s', clip(a' + ε, −1, 1))
  load_obs(next_obs, rows, g.target_critic.input(), cs.layer_in(0), e);
  float* ext = g.target_critic.extra_input(cs);
  const int eld = g.target_critic.extra_ld(cs);
  for (int r = 0; r < rows; ++r) {
    const float* pa = g.target_actor.out.data() + int64_t{r} * a;
    float* dst = ext + int64_t{r} * eld;
    if (e.target_eps) {
      const float* eps = e.target_eps + (e.eps_rows == 1 ? 0 : int64_t{g.row0 + r} * a);
      for (int j = 0; j < a; ++j) dst[j] = std::clamp(pa[j] + eps[j], -1.0f, 1.0f);
    } else {
      std::memcpy(dst, pa, sizeof(float) * a);
    }
    scale_action(dst);
  }
  // min over the target critics, then y
  for (int i = 0; i < cfg_.n_critics; ++i) {
    mlp_forward(cs, params.critic_targets[i], g.target_critic, rows);
    const float* q = g.target_critic.out.data();
    for (int r = 0; r < rows; ++r) g.y[r] = i == 0 ? q[r] : std::min(g.y[r], q[r]);
  }
  for (int r = 0; r < rows; ++r) {
    const int k = g.row0 + r;
    g.y[r] = b.reward[k] + b.discount[k] * (1.0f - b.terminated[k]) * g.y[r];
  }
}

void UpdateEngine::critic_gradients(Group& g, const Worker& w, const BatchView& b,
                                    const Extras& e) {
  const Params& params = w.state().params;
  const int rows = g.rows, a = act_dim_;
  const int64_t csize = critic_shape_.size();
  const MlpShape& cs = critic_shape_;
  load_obs(b.obs + int64_t{g.row0} * obs_dim_, rows, g.critic.input(), cs.layer_in(0), e);
  float* cext = g.critic.extra_input(cs);
  const int eld = g.critic.extra_ld(cs);
  for (int r = 0; r < rows; ++r) {
    std::memcpy(cext + int64_t{r} * eld, b.action + int64_t{g.row0 + r} * a, sizeof(float) * a);
    scale_action(cext + int64_t{r} * eld);
  }
  // ∂/∂Q_i of Σ_i mean (Q_i − y)² is 2 (Q_i − y)/B
  const float scale = 2.0f / static_cast<float>(batch_);
  for (int k = g.shard0; k < g.shard1; ++k) shard_[k].critic_sq = shard_[k].q_sum = 0.0;
  for (int i = 0; i < cfg_.n_critics; ++i) {
    mlp_forward(cs, params.critics[i], g.critic, rows);
    const float* q = g.critic.out.data();
    for (int k = g.shard0; k < g.shard1; ++k) {
      Shard& s = shard_[k];
      for (int r = s.row0 - g.row0; r < s.row0 - g.row0 + s.rows; ++r) {
        const float d = q[r] - g.y[r];
        s.critic_sq += static_cast<double>(d) * d;
        g.dq[r] = scale * d;
        if (i == 0) s.q_sum += q[r];
      }
    }
    mlp_backward(cs, params.critics[i], g.critic, rows, g.dq.data(),
                 segments(g, /*critic=*/true, i * csize), g.shard1 - g.shard0, nullptr);
  }
}

void UpdateEngine::actor_gradient(Group& g, const Worker& w) {
  const Params& params = w.state().params;
  const int rows = g.rows, a = act_dim_;
  const MlpShape& cs = critic_shape_;
  // The actor's input is the critic's observation columns, already normalised.
  const int ld0 = cs.layer_in(0);
  for (int r = 0; r < rows; ++r) {
    std::memcpy(g.actor.input() + int64_t{r} * obs_dim_, g.critic.input() + int64_t{r} * ld0,
                sizeof(float) * obs_dim_);
  }
  mlp_forward(actor_shape_, params.actor, g.actor, rows);
  float* ext = g.critic.extra_input(cs);
  const int eld = g.critic.extra_ld(cs);
  for (int r = 0; r < rows; ++r) {
    std::memcpy(ext + int64_t{r} * eld, g.actor.out.data() + int64_t{r} * a, sizeof(float) * a);
    scale_action(ext + int64_t{r} * eld);
  }
  mlp_forward(cs, params.critics[0], g.critic, rows);
  for (int k = g.shard0; k < g.shard1; ++k) {
    Shard& s = shard_[k];
    s.actor_q_sum = 0.0;
    for (int r = s.row0 - g.row0; r < s.row0 - g.row0 + s.rows; ++r)
      s.actor_q_sum += g.critic.out[r];
  }
  // ∂(−mean Q)/∂Q = −1/B, back to the action only (no critic weight gradients), then the actor.
  std::fill(g.dq.begin(), g.dq.begin() + rows, -1.0f / static_cast<float>(batch_));
  mlp_backward(cs, params.critics[0], g.critic, rows, g.dq.data(), nullptr, 0, g.da.data());
  // the critic saw scale × π(s): ∂Q/∂π = scale · ∂Q/∂(its input)
  if (action_scale_ != 1.0f) {
    for (int64_t i = 0; i < int64_t{rows} * a; ++i) g.da[i] *= action_scale_;
  }
  mlp_backward(actor_shape_, params.actor, g.actor, rows, g.da.data(),
               segments(g, /*critic=*/false, 0), g.shard1 - g.shard0, nullptr);
}

// ---------------------------------------------------------------------------------------------
// The machinery beneath: the team of threads, gradient sums across shards, Adam and Polyak on
// each thread's copy.

template <typename F>
void UpdateEngine::on_each_thread(F&& f) {
  const int nthreads = threads_;
  const SerialBlasWhenSingle serial_blas(nthreads);
#pragma omp parallel num_threads(nthreads) if (nthreads > 1)
  {
    const Worker w(*this, omp_get_thread_num(), nthreads);
    f(w);
  }
}

template <typename F>
void UpdateEngine::Worker::each_group(F&& f) const {
  for (int g = e_.group_begin_[tid_]; g < e_.group_begin_[tid_ + 1]; ++g) f(e_.group_[g]);
}

void UpdateEngine::Worker::adam_step(Net net, const simd::AdamCoefficients& c,
                                     float polyak_tau) const {
  // Every thread reads every shard's gradient: wait for all of them.
#pragma omp barrier
  const bool critics = net == Net::kCritics;
  const int64_t size = critics ? e_.critic_shape_.size() : e_.actor_shape_.size();
  const int nets = critics ? e_.cfg_.n_critics : 1;
  // Without clipping, the shard gradients are summed inside the Adam pass; with it, they are summed
  // first (split across the threads), since the clip needs the whole gradient's norm.
  const bool clip_on = e_.cfg_.grad_clip > 0;
  if (clip_on) {
    const auto [lo, hi] = range_of(size * nets, tid_, nthreads_);
    e_.reduce(critics, lo, hi);
#pragma omp barrier
#pragma omp single
    e_.clip(critics);
  }
  const int count = clip_on ? 1 : e_.shards_;
  const ThreadState& t = state();
  for (int i = 0; i < nets; ++i) {
    const float* grads[64];
    for (int k = 0; k < count; ++k) {
      const Shard& s = e_.shard_[k];
      grads[k] = (critics ? s.critic_grad.data() : s.actor_grad.data()) + i * size;
    }
    float* target = nullptr;
    if (polyak_tau > 0) target = critics ? t.params.critic_targets[i] : t.params.actor_target;
    if (critics) {
      simd::adam_fused(t.params.critics[i], grads, count, t.critic_m + i * size,
                       t.critic_v + i * size, size, c, target, polyak_tau);
    } else {
      simd::adam_fused(t.params.actor, grads, count, t.actor_m, t.actor_v, size, c, target,
                       polyak_tau);
    }
  }
}

void UpdateEngine::reduce(bool critic, int64_t lo, int64_t hi) {
  if (shards_ == 1 || hi <= lo) return;
  const float* src[64];
  for (int k = 0; k < shards_; ++k) {
    src[k] = (critic ? shard_[k].critic_grad.data() : shard_[k].actor_grad.data()) + lo;
  }
  float* dst = (critic ? shard_[0].critic_grad.data() : shard_[0].actor_grad.data()) + lo;
  simd::sum(dst, src, shards_, hi - lo);
}

void UpdateEngine::clip(bool critic) {
  if (cfg_.grad_clip <= 0) return;
  if (critic) {
    const int64_t csize = critic_shape_.size();
    for (int i = 0; i < cfg_.n_critics; ++i) {
      clip_norm(shard_[0].critic_grad.data() + i * csize, csize, cfg_.grad_clip);
    }
  } else {
    clip_norm(shard_[0].actor_grad.data(), actor_shape_.size(), cfg_.grad_clip);
  }
}

EngineStats UpdateEngine::stats(bool actor_step) const {
  EngineStats st;
  double sq = 0.0, q = 0.0, aq = 0.0;
  for (const Shard& s : shard_) {
    sq += s.critic_sq;
    q += s.q_sum;
    aq += s.actor_q_sum;
  }
  st.critic_loss = sq / batch_;
  st.mean_q = q / batch_;
  st.actor_loss = actor_step ? -aq / batch_ : 0.0;
  return st;
}

std::vector<GemmShape> UpdateEngine::gemms_for_group(const Group& gr, bool actor_step) const {
  std::vector<int> grad_rows;
  for (int k = gr.shard0; k < gr.shard1; ++k) grad_rows.push_back(shard_[k].rows);
  const int rows = gr.rows;
  std::vector<GemmShape> g;
  mlp_forward_gemms(actor_shape_, rows, g);
  for (int i = 0; i < cfg_.n_critics; ++i) mlp_forward_gemms(critic_shape_, rows, g);
  for (int i = 0; i < cfg_.n_critics; ++i) {
    mlp_forward_gemms(critic_shape_, rows, g);
    mlp_backward_gemms(critic_shape_, rows, &grad_rows, false, g);
  }
  if (actor_step) {
    mlp_forward_gemms(actor_shape_, rows, g);
    mlp_forward_gemms(critic_shape_, rows, g);
    mlp_backward_gemms(critic_shape_, rows, nullptr, true, g);
    mlp_backward_gemms(actor_shape_, rows, &grad_rows, false, g);
  }
  return g;
}

std::vector<GemmShape> UpdateEngine::thread_gemms(bool actor_step, int thread) const {
  std::vector<GemmShape> g;
  for (int k = group_begin_[thread]; k < group_begin_[thread + 1]; ++k) {
    const std::vector<GemmShape> more = gemms_for_group(group_[k], actor_step);
    g.insert(g.end(), more.begin(), more.end());
  }
  return g;
}

void UpdateEngine::run_gemm_floor(bool actor_step) {
  const int nthreads = threads_;
  std::vector<std::vector<GemmShape>> lists(nthreads);
  size_t biggest = 0;
  for (int t = 0; t < nthreads; ++t) {
    lists[t] = thread_gemms(actor_step, t);
    for (const GemmShape& s : lists[t]) {
      biggest = std::max({biggest, size_t(s.m) * s.k, size_t(s.k) * s.n, size_t(s.m) * s.n});
    }
  }
  floor_scratch_.resize(nthreads);
  for (auto& buf : floor_scratch_) {
    if (buf.size() < 3 * biggest) buf.assign(3 * biggest, 0.01f);
  }
  const SerialBlasWhenSingle serial_blas(nthreads);
#pragma omp parallel num_threads(nthreads) if (nthreads > 1)
  {
    const int tid = omp_get_thread_num();
    float* base = floor_scratch_[tid].data();
    run_gemms(lists[tid], base, base + biggest, base + 2 * biggest);
  }
}

double UpdateEngine::update_flop(bool actor_step) const {
  // Sum over the groups of each one's multiplies (the same total however the shards are grouped).
  double f = 0.0;
  for (const Group& g : group_) f += gemm_flop(gemms_for_group(g, actor_step));
  return f;
}

}  // namespace ddpg
