// UpdateEngine: one DDPG/TD3 update computed close to the machine's matrix-multiply limit, on flat
// parameter buffers, without autograd. UpdateEngine::update (update_engine.cpp) is the algorithm on
// one screen, in the papers' order; the shards, threads and replicas are beneath its named steps.
//
// How it avoids wasted work:
// - The target (π'(s'), Q'_i(s', a'), y) is a plain forward pass: nothing kept for a backward pass.
// - The actor step backpropagates through critic 1 to its action input only: no critic weight
//   gradients are computed (two of the critic's six multiplies per layer pair are skipped).
// - Each network's parameters, gradients and Adam moments are single contiguous buffers: Adam,
//   gradient clipping and Polyak averaging are one vectorised loop each.
// - All scratch memory (layer activations, gradients per shard) is allocated once.
// How it uses the cores: the batch is split into `batch_shards` shards; each shard's forward and
// backward passes run on one core with single-threaded multiplies (gemm.h; they keep each multiply
// at ~90% of a core's peak, where one multiply split across two cores reaches ~55%), and the shard
// gradients are summed in shard order. Every floating-point sum has a fixed order, so the result
// depends on the number of shards and never on the number of threads. A thread with several
// consecutive shards (one thread for two shards, as in a single-threaded run) runs them as one
// block of rows: the row-wise passes (forward, input gradients, LayerNorm, losses) once over the
// block, which reads each weight matrix and transposes its panels once instead of once per shard,
// and the parameter gradients once per shard, as before; on our multiply kernels a row's result
// does not depend on the rows beside it (gemm::kPackMinRows), so the bits are the same. Shards of
// fewer rows than that, or the BLAS path, run one at a time.
//
// No thread writes memory that another thread reads within an update: thread 0 updates the bound
// buffers, and every other thread keeps a replica of all the parameters, targets and Adam moments,
// on which it repeats the same Adam and Polyak steps (same arithmetic on the same summed
// gradients, so the copies stay equal bit for bit). The only data that crosses cores is read-only:
// each thread reads the other shards' gradients. Splitting Adam across threads by element ranges
// costs less arithmetic, but then each thread writes weights that the other thread's multiplies
// have just read, and on the virtual machines we measured, those cross-core writes made Adam 2–10×
// slower (docs/performance.md). Whatever changes the bound buffers or the moments outside update()
// (loading a checkpoint) must call sync_replicas().
#pragma once

#include <cstdint>
#include <vector>

#include "ddpg/aligned.h"
#include "ddpg/config.h"
#include "ddpg/mlp.h"
#include "ddpg/simd.h"

namespace ddpg {

// Adam over one flat buffer, with LibTorch's semantics (torch.optim.Adam, L2 weight decay added to
// the gradient).
class FlatAdam {
 public:
  FlatAdam(int64_t size, double lr, double weight_decay = 0.0, double beta1 = 0.9,
           double beta2 = 0.999, double eps = 1e-8);
  // Advances the step counter and returns this step's coefficients.
  simd::AdamCoefficients next_step();
  // Applies a step with coefficients `c` to elements [lo, hi).
  void apply(float* params, const float* grad, int64_t lo, int64_t hi,
             const simd::AdamCoefficients& c);
  int64_t steps() const { return t_; }
  void set_steps(int64_t t) { t_ = t; }
  FloatBuffer& m() { return m_; }
  FloatBuffer& v() { return v_; }
  const FloatBuffer& m() const { return m_; }
  const FloatBuffer& v() const { return v_; }

 private:
  FloatBuffer m_, v_;
  double lr_, weight_decay_, beta1_, beta2_, eps_;
  int64_t t_ = 0;
};

// The actor's and critic's shapes for a config (the critic takes the action as extra inputs).
MlpShape actor_shape_of(const AgentConfig& cfg, int obs_dim, int act_dim);
MlpShape critic_shape_of(const AgentConfig& cfg, int obs_dim, int act_dim);

// One replay batch as raw rows (B = batch_size).
struct BatchView {
  const float* obs;         // B × obs_dim, raw
  const float* action;      // B × act_dim
  const float* reward;      // B
  const float* next_obs;    // B × obs_dim
  const float* terminated;  // B, 0/1
  const float* discount;    // B, γ^k of the bootstrap
};

struct EngineStats {
  double critic_loss = 0.0;  // Σ_i mean (Q_i − y)²
  double actor_loss = 0.0;   // −mean Q_1(s, π(s)) (when the actor stepped)
  double mean_q = 0.0;       // mean Q_1(s, a)
};

class UpdateEngine {
 public:
  UpdateEngine(const AgentConfig& cfg, int obs_dim, int act_dim);

  const MlpShape& actor_shape() const { return actor_shape_; }
  const MlpShape& critic_shape() const { return critic_shape_; }
  int shards() const { return shards_; }
  // Threads the update runs on (at most the number of shards).
  void set_threads(int threads);
  int threads() const { return threads_; }

  // Where the parameters live (flat buffers owned by the caller, sizes of the shapes above).
  struct Params {
    float* actor = nullptr;
    float* actor_target = nullptr;
    std::vector<float*> critics, critic_targets;
  };
  // Binds the buffers and copies them into the other threads' replicas.
  void bind(const Params& p);
  // Copies the bound buffers and the Adam moments into the replicas: after anything outside
  // update() changed them.
  void sync_replicas();
  // Whether every replica equals the bound buffers and the moments, bit for bit (for tests).
  bool replicas_in_sync() const;

  // Inputs besides the batch. Optional pointers are nullptr when unused.
  struct Extras {
    const float* norm_mean = nullptr;     // obs_dim: observation normalisation (x − μ)·inv_std,
    const float* norm_inv_std = nullptr;  //          clipped to ±norm_clip
    float norm_clip = 5.0f;
    const float* target_eps = nullptr;  // target-action noise, eps_rows × act_dim (already clipped)
    int eps_rows = 0;                   // B (per sample) or 1 (shared)
    const float* target_actor = nullptr;  // actor parameters for a' (default: the target actor)
  };

  // One update: a critic step, and when `actor_step` an actor step and Polyak averaging of every
  // target network.
  EngineStats update(const BatchView& batch, const Extras& extras, bool actor_step);

  FlatAdam& actor_adam() { return actor_adam_; }
  FlatAdam& critic_adam() { return critic_adam_; }
  const FlatAdam& actor_adam() const { return actor_adam_; }
  const FlatAdam& critic_adam() const { return critic_adam_; }

  // The matrix multiplies of one update that thread `thread` runs (its shards; the threads run
  // theirs concurrently).
  std::vector<GemmShape> thread_gemms(bool actor_step, int thread = 0) const;
  // Multiply-add FLOP of one update over the whole batch.
  double update_flop(bool actor_step) const;
  // Runs only the update's matrix multiplies, with its threading (each thread its shards' list,
  // single-threaded BLAS) on scratch operands: the matrix-multiply floor of bench update.
  void run_gemm_floor(bool actor_step);

 private:
  struct Shard {
    int row0 = 0, rows = 0;
    FloatBuffer critic_grad, actor_grad;  // n_critics × critic size, actor size
    double critic_sq = 0.0, q_sum = 0.0, actor_q_sum = 0.0;
  };
  // Consecutive shards [shard0, shard1) that one thread runs as one block of rows (see above), or
  // a single shard; the workspaces hold the block's rows.
  struct Group {
    int shard0 = 0, shard1 = 0;
    int row0 = 0, rows = 0;
    MlpWorkspace target_actor, target_critic, critic, actor;
    std::vector<float> y, dq, da;
    std::vector<GradSegment> segments;  // one per shard (filled per backward pass)
  };
  // Whether a thread's shards can run as one block: on our kernels, with every shard at least
  // gemm::kPackMinRows rows.
  bool blocks_allowed() const;
  // Splits the shards among the threads (consecutive ones to each) and allocates the groups.
  void rebuild_groups();
  // The parameter-gradient segments of a group's shards: each shard's rows, into its gradient
  // buffer (critic's or actor's) at `offset`.
  const GradSegment* segments(Group& g, bool critic, int64_t offset);
  // The multiplies of one update for a group, in the order the update runs them.
  std::vector<GemmShape> gemms_for_group(const Group& g, bool actor_step) const;
  // What one thread reads and writes: thread 0 the bound buffers and the FlatAdam moments, thread
  // t > 0 replicas_[t − 1].
  struct ThreadState {
    Params params;
    float *actor_m = nullptr, *actor_v = nullptr, *critic_m = nullptr, *critic_v = nullptr;
  };
  struct Replica {
    FloatBuffer actor, actor_target, actor_m, actor_v, critic_m, critic_v;
    std::vector<FloatBuffer> critics, critic_targets;
  };
  // Allocates a replica per thread beyond the first, points the thread states at them, and syncs.
  void rebuild_states();
  void load_obs(const float* src, int rows, float* dst, int ld, const Extras& e) const;

  // One thread of the team that runs an update (update_engine.cpp has the steps in order).
  enum class Net { kCritics, kActor };
  class Worker {
   public:
    Worker(UpdateEngine& e, int tid, int nthreads) : e_(e), tid_(tid), nthreads_(nthreads) {}
    const ThreadState& state() const { return e_.state_[tid_]; }
    // f(group) for this thread's groups of shards of the batch.
    template <typename F>
    void each_group(F&& f) const;
    // After every thread's shards: the summed (and clipped) gradient, and one Adam step of this
    // thread's copy of the network(s); with polyak_tau > 0, in the same pass, Polyak averaging of
    // this thread's copy of their targets.
    void adam_step(Net net, const simd::AdamCoefficients& c, float polyak_tau) const;

   private:
    UpdateEngine& e_;
    int tid_, nthreads_;
  };
  // f(worker) on every thread of the team (one thread: no parallel region).
  template <typename F>
  void on_each_thread(F&& f);
  // The update's steps on one group of shards.
  void bellman_target(Group& g, const Worker& w, const BatchView& b, const Extras& e);
  void critic_gradients(Group& g, const Worker& w, const BatchView& b, const Extras& e);
  void actor_gradient(Group& g, const Worker& w);
  // Sums shard gradients of [lo, hi) into shard 0's buffer.
  void reduce(bool critic, int64_t lo, int64_t hi);
  void clip(bool critic);
  EngineStats stats(bool actor_step) const;
  // One row of the critic's action input, [-1, 1] → agent.critic_action_scale × it.
  void scale_action(float* row) const {
    if (action_scale_ == 1.0f) return;
    for (int j = 0; j < act_dim_; ++j) row[j] *= action_scale_;
  }

  AgentConfig cfg_;
  int obs_dim_, act_dim_, batch_;
  MlpShape actor_shape_, critic_shape_;
  int shards_;
  float action_scale_;  // agent.critic_action_scale
  int threads_ = 1;
  std::vector<Shard> shard_;
  std::vector<Group> group_;
  std::vector<int> group_begin_;  // thread t runs groups [group_begin_[t], group_begin_[t + 1])
  bool blocks_ = false;           // whether group_ was built with blocks of shards
  Params params_;
  FlatAdam actor_adam_, critic_adam_;
  std::vector<Replica> replicas_;                  // threads_ − 1
  std::vector<ThreadState> state_;                 // threads_
  std::vector<std::vector<float>> floor_scratch_;  // per thread: a, b, c operands
};

}  // namespace ddpg
