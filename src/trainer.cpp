// Trainer: the training loop, logs and checkpoints. See trainer.h.
#include "ddpg/trainer.h"

#include <omp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "ddpg/agent.h"
#include "ddpg/env.h"
#include "ddpg/evaluate.h"
#include "ddpg/replay_buffer.h"
#include "src/collector.h"
#include "src/distributed.h"
#include "src/run_files.h"
#include "src/tensorboard.h"

namespace ddpg {
namespace {

const char* kCheckpointMagic = "DDPGCKPT";
// 2: one state per env (trainer.num_envs); 3: env steps since the last update phase. Reads 2 and 3.
const uint32_t kCheckpointVersion = 3;
const uint32_t kCheckpointOldestVersion = 2;

// Independent random streams of one run, derived from its seed.
enum Stream : uint64_t {
  kEnvStream,
  kActionStream,
  kReplayStream,
  kNoiseStream,
  kEvalStream,
  kAgentStream  // network initialisation, and the agent's own stream derived from it
};

std::atomic<int> g_stop_signal{0};
void on_signal(int sig) { g_stop_signal = sig; }

using Clock = std::chrono::steady_clock;

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

int threads_of(const Config& cfg) {
  if (cfg.trainer.threads > 0) return cfg.trainer.threads;
  if (cfg.trainer.distributed == "actors") return 1;  // MPI places one rank per core
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

// MemAvailable of /proc/meminfo in bytes (0 when unknown).
double available_memory() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  double kib = 0;
  std::string unit;
  while (in >> key >> kib >> unit) {
    if (key == "MemAvailable:") return kib * 1024;
  }
  return 0;
}

std::string gib(double bytes) { return fmt("%.1f GiB", bytes / (1024.0 * 1024 * 1024)); }

// The memory the run will need, checked before anything is allocated, so that a setting too large
// for the machine is named instead of ending in std::bad_alloc or the OOM killer.
void check_memory(const Config& cfg, const EnvSpec& spec) {
  const double avail = available_memory();
  if (avail <= 0) return;
  // the replay fills to min(buffer_size, total_steps) rows: obs, next obs, action, 3 scalars
  const double rows = static_cast<double>(std::min(cfg.agent.buffer_size, cfg.trainer.total_steps));
  const double replay = rows * (2.0 * spec.obs_dim + spec.act_dim + 3) * sizeof(float);
  if (replay > 0.9 * avail) {
    throw Error("agent.buffer_size = " + std::to_string(cfg.agent.buffer_size) + " needs " +
                gib(replay) + " for the replay (" + std::to_string(spec.obs_dim) +
                "-float observations), more than the " + gib(avail) +
                " this machine has available; lower agent.buffer_size");
  }
  // each network's parameters, target, Adam moments and gradients, per shard and per thread
  const MlpShape a = actor_shape_of(cfg.agent, spec.obs_dim, spec.act_dim);
  const MlpShape c = critic_shape_of(cfg.agent, spec.obs_dim, spec.act_dim);
  const double floats = static_cast<double>(a.size() + cfg.agent.n_critics * c.size());
  const double copies = 6.0 + cfg.agent.batch_shards + 4.0 * (threads_of(cfg) - 1);
  const double nets = floats * copies * sizeof(float);
  if (nets > 0.9 * avail) {
    throw Error("the networks of agent.hidden = [" +
                [&] {
                  std::string h;
                  for (int x : cfg.agent.hidden) h += (h.empty() ? "" : ", ") + std::to_string(x);
                  return h;
                }() +
                "] need about " + gib(nets) + ", more than the " + gib(avail) +
                " this machine has available; use smaller hidden layers");
  }
}

// Evaluation: the deterministic policy on its own env, from the run's evaluation stream (the same
// episodes at every evaluation), and the best and last results.
class Evaluation {
 public:
  explicit Evaluation(const Config& cfg) : cfg_(cfg), env_(make_env(cfg.env.id, cfg.env.options)) {}
  const EnvSpec& spec() const { return env_->spec(); }

  // trainer.eval_episodes episodes of π without noise; the row goes to eval.csv. Only an
  // evaluation on the schedule counts for the best (and saves policy_best.bin): a resumed run
  // drops the row of an off-schedule final one.
  EvalResult run(Agent& agent, int64_t step, bool on_schedule, RunFiles& files) {
    // (act_fixed: the actor stays the same over the evaluation's episodes)
    Policy policy = [&agent](const std::vector<double>& obs, float* a) { agent.act_fixed(obs, a); };
    const EvalResult r = evaluate(policy, *env_, cfg_.trainer.eval_episodes,
                                  Rng::derive(cfg_.trainer.seed, kEvalStream));
    last_step = step;
    last_mean = r.mean_return;
    last_std = r.std_return;
    files.eval_row(std::to_string(step) + "," + format_double(r.mean_return) + "," +
                   format_double(r.std_return) + "," + std::to_string(cfg_.trainer.eval_episodes) +
                   "," + format_double(r.mean_length));
    if (on_schedule && (!have_best || r.mean_return > best)) {
      have_best = true;
      best = r.mean_return;
      files.save_policy("best", agent, env_->spec());
    }
    return r;
  }

  bool have_best = false;
  double best = 0;
  int64_t last_step = -1;
  double last_mean = 0, last_std = 0;

 private:
  const Config& cfg_;
  std::unique_ptr<Env> env_;
};

// The training loop (trainer.h): the parts — the collector (acting, noise, envs, n-step), the
// replay and the agent's updates, evaluation, the run's files and status line — in the order of
// the algorithm in run(); the checkpoint format is save_checkpoint/load_checkpoint.
class Loop {
 public:
  Loop(const Config& cfg, const std::string& dir, const TrainOptions& opts)
      : cfg_(cfg),
        opts_(opts),
        files_(dir),
        collector_(cfg_, threads_of(cfg), Rng::derive(cfg.trainer.seed, kActionStream)),
        evaluation_(cfg_) {
    const uint64_t seed = cfg.trainer.seed;
    omp_set_num_threads(threads_of(cfg));  // the OpenMP pool of the update (and of OpenBLAS)
    const EnvSpec& spec = collector_.spec();
    check_memory(cfg, spec);
    agent_ = std::make_unique<Agent>(cfg.agent, spec.obs_dim, spec.act_dim,
                                     Rng::derive(seed, kAgentStream));
    agent_->set_threads(threads_of(cfg));
    replay_ = std::make_unique<ReplayBuffer>(cfg.agent.buffer_size, spec.obs_dim, spec.act_dim);
    if (cfg.noise.type == "param") agent_->enable_param_noise(cfg.noise);
    replay_rng_.seed_with(Rng::derive(seed, kReplayStream));
    collector_.start(*agent_, Rng::derive(seed, kEnvStream), Rng::derive(seed, kNoiseStream));
  }

  // A fresh run's logs (headers only).
  void start_logs() { files_.start_logs(); }
  std::string checkpoint_path() const { return files_.checkpoint_path(); }
  int64_t step() const { return step_; }

  TrainSummary run() {
    const TrainerConfig& t = cfg_.trainer;
    const bool tty = opts_.show_progress && ::isatty(2);
    begin_part();
    StopSignals signals;
    auto last_line = Clock::now() - std::chrono::seconds(10);
    bool interrupted = false;
    // Multiples of `every` crossed by the last vector step (step_ − n, step_].
    const int n = collector_.size();
    auto crossed = [&](int64_t every) { return step_ / every > (step_ - n) / every; };
    const bool per_episode = t.update_unit == "episode";
    const int64_t update_after = t.update_after >= 0 ? t.update_after : t.learning_starts;

    while (step_ < t.total_steps) {
      if (step_ >= t.learning_starts && !learn_timing_) start_learn_timing();
      // act: random, then π + noise; step every env (beside the updates the last step owes, with
      // asynchronous collection); store the transitions
      collector_.choose_actions(step_);
      if (t.async_collect && pending_updates_ > 0) {
        collector_.step([&] { run_updates(pending_updates_); });
        pending_updates_ = 0;
      } else {
        collector_.step(nullptr);
      }
      const int64_t episodes_before = episode_;
      collector_.store(
          *replay_, [&] { ++step_; }, [&](double ret, int64_t len) { log_episode(ret, len); });
      steps_since_phase_ += n;
      // learn: an update phase per multiple of update_every (env steps, or finished episodes)
      // crossed; gradient_steps updates each, or (-1) one per env step since the previous phase;
      // from update_after (learning_starts unless set)
      const int64_t phases = per_episode
                                 ? episode_ / t.update_every - episodes_before / t.update_every
                                 : step_ / t.update_every - (step_ - n) / t.update_every;
      if (phases > 0) {
        const int64_t updates =
            t.gradient_steps > 0 ? phases * t.gradient_steps : steps_since_phase_;
        steps_since_phase_ = 0;
        if (step_ >= update_after && replay_->size() >= cfg_.agent.batch_size) {
          if (t.async_collect) {
            pending_updates_ += updates;  // run beside the next env step
          } else {
            run_updates(updates);
          }
        }
      }
      if (learn_timing_) learn_t1_ = Clock::now();
      // evaluate, checkpoint, report
      if (t.eval_every > 0 && crossed(t.eval_every)) run_eval(true);
      const bool stop = g_stop_signal != 0;
      if (crossed(t.checkpoint_every) || step_ >= t.total_steps || stop) save_checkpoint();
      if (tty && Clock::now() - last_line > std::chrono::milliseconds(250)) {
        print_status(true);
        last_line = Clock::now();
      }
      if (stop) {
        interrupted = true;
        break;
      }
    }
    signals.restore();
    if (tty) print_status(false);
    if (interrupted) stop_interrupted("ddpg train --resume " + files_.dir(), g_stop_signal);
    return finish();
  }

  // The learner of a distributed run (distributed.h): the same algorithm as run(), with the env
  // steps coming from the actors' batches. Per batch, in arrival order: its observation statistics,
  // transitions and finished episodes go in; the update phases its env steps crossed run (the
  // updates it owes); evaluation and checkpoint when due; then the answer to its actor, with new
  // parameters every trainer.refresh_every updates.
  TrainSummary run_learner(ActorLinks& links) {
    const TrainerConfig& t = cfg_.trainer;
    const bool tty = opts_.show_progress && ::isatty(2);
    begin_part();
    StopSignals signals;
    auto last_line = Clock::now() - std::chrono::seconds(10);
    const bool per_episode = t.update_unit == "episode";
    const int64_t update_after = t.update_after >= 0 ? t.update_after : t.learning_starts;
    const int actors = links.actors();
    // The actors' seeds take the step as salt: a resumed run's actors play new episodes.
    links.start(cfg_, static_cast<uint64_t>(step_), step_, *agent_);
    std::vector<int64_t> sent(static_cast<size_t>(actors) + 1, agent_->updates());
    dist_ = DistStats{};
    dist_.actor_steps.assign(static_cast<size_t>(actors) + 1, 0);
    dist_.actor_time.assign(static_cast<size_t>(actors) + 1, {0.0, 0.0});
    // A resumed run with no steps left (stopped after its last checkpoint, before it finished)
    // only stops its actors, at their first batch, and finishes.
    bool stopping = step_ >= t.total_steps, interrupted = false;
    int stopped = 0;
    ActorBatch b;
    const size_t width = 2 * static_cast<size_t>(replay_->obs_dim()) + replay_->act_dim() + 3;
    while (stopped < actors) {
      auto t0 = Clock::now();
      const bool got = links.receive(b, stopping ? nullptr : &g_stop_signal);
      auto t1 = Clock::now();
      dist_.wait_s += std::chrono::duration<double>(t1 - t0).count();
      if (!got) {  // stopped (a signal) while waiting for a batch
        stopping = interrupted = true;
        save_checkpoint();
        continue;
      }
      if (stopping) {  // an actor's last batch: not needed
        links.reply(b.actor, true, step_, nullptr);
        ++stopped;
        continue;
      }
      // in: observation statistics, transitions, episodes
      if (b.data.size() != static_cast<size_t>(b.rows) * width) {
        throw Error("actor rank " + std::to_string(b.actor) + " sent transitions of another " +
                    "size than this env's (mixed ddpg builds in one job?)");
      }
      if (b.has_seen) agent_->merge_observations(b.seen);
      const float* row = b.data.data();
      const int od = replay_->obs_dim(), ad = replay_->act_dim();
      for (int64_t i = 0; i < b.rows; ++i, row += width) {
        replay_->add(row, row + od, row[od + ad], row + od + ad + 1, row[2 * od + ad + 1] != 0.0f,
                     row[2 * od + ad + 2]);
      }
      const int64_t step_before = step_, episodes_before = episode_;
      for (const EpisodeEnd& e : b.episodes) {
        step_ = step_before + e.at;
        log_episode(e.ret, e.length);
      }
      step_ = step_before + b.env_steps;
      steps_since_phase_ += b.env_steps;
      dist_.batches += 1;
      dist_.last_batch = Clock::now();
      dist_.actor_steps[static_cast<size_t>(b.actor)] += b.env_steps;
      dist_.actor_time[static_cast<size_t>(b.actor)] = {b.acting_s, b.waiting_s};
      const int64_t lag = agent_->updates() - b.version;
      dist_.lag_sum += static_cast<double>(lag) * b.env_steps;
      dist_.lag_max = std::max(dist_.lag_max, lag);
      t0 = Clock::now();
      dist_.ingest_s += std::chrono::duration<double>(t0 - t1).count();
      // learn: the update phases these env steps crossed, as run() makes them one vector step at
      // a time; those before update_after make no updates
      const int64_t phases = per_episode
                                 ? episode_ / t.update_every - episodes_before / t.update_every
                                 : step_ / t.update_every - step_before / t.update_every;
      if (phases > 0) {
        const int64_t from = std::max(step_before, update_after - 1);
        const int64_t due = per_episode    ? phases
                            : step_ > from ? step_ / t.update_every - from / t.update_every
                                           : 0;
        // -1: one update per env step since the previous phase. Episode-end phases count every
        // step since the previous one, across batches, as run() does; step phases only this
        // batch's steps from update_after on (the phases before it make none).
        const int64_t updates = t.gradient_steps > 0 ? due * t.gradient_steps
                                : per_episode        ? steps_since_phase_
                                : due > 0            ? std::min(steps_since_phase_, step_ - from)
                                                     : 0;
        steps_since_phase_ = 0;
        if (step_ >= update_after && replay_->size() >= cfg_.agent.batch_size) {
          if (step_ >= t.learning_starts && !learn_timing_) start_learn_timing();
          for (int64_t k = 0; k < updates; ++k) {
            run_updates(1);
            links.progress();  // (answers on their way move on between updates)
          }
        }
      }
      if (learn_timing_) learn_t1_ = Clock::now();
      t1 = Clock::now();
      dist_.update_s += std::chrono::duration<double>(t1 - t0).count();
      // evaluate, checkpoint
      const auto crossed = [&](int64_t every) { return step_ / every > step_before / every; };
      if (t.eval_every > 0 && crossed(t.eval_every)) {
        run_eval(true);
        print_actor_line();
      }
      const bool signalled = g_stop_signal != 0;
      const bool done = step_ >= t.total_steps || signalled;
      if (crossed(t.checkpoint_every) || done) save_checkpoint();
      dist_.other_s += std::chrono::duration<double>(Clock::now() - t1).count();
      // answer: stop, or carry on (with new parameters when due)
      if (done) {
        stopping = true;
        interrupted = signalled;
        links.reply(b.actor, true, step_, nullptr);
        ++stopped;
        continue;
      }
      const bool refresh =
          agent_->updates() - sent[static_cast<size_t>(b.actor)] >= t.refresh_every;
      if (refresh) sent[static_cast<size_t>(b.actor)] = agent_->updates();
      links.reply(b.actor, false, step_, refresh ? agent_.get() : nullptr);
      if (tty && Clock::now() - last_line > std::chrono::milliseconds(250)) {
        print_status(true);
        last_line = Clock::now();
      }
    }
    signals.restore();
    if (tty) print_status(false);
    write_distributed_stats(links);
    if (interrupted) {
      stop_interrupted(
          "mpirun -np " + std::to_string(actors + 1) + " ddpg train --resume " + files_.dir(),
          g_stop_signal != 0 ? static_cast<int>(g_stop_signal) : SIGINT);
    }
    return finish();
  }

  void save_checkpoint() {
    ArchiveWriter out(kCheckpointMagic, kCheckpointVersion);
    out.tag("trainer");
    out.str(cfg_.env.id);
    out.i64(step_);
    out.i64(episode_);
    out.boolean(evaluation_.have_best);
    out.f64(evaluation_.best);
    out.i64(evaluation_.last_step);
    out.f64(evaluation_.last_mean);
    out.f64(last_stats_.critic_loss);
    out.f64(last_stats_.actor_loss);
    out.f64(last_stats_.mean_q);
    out.f64(total_seconds());
    for (uint64_t w : collector_.action_rng().state()) out.u64(w);
    for (uint64_t w : replay_rng_.state()) out.u64(w);
    out.u64(files_.progress_size());
    out.u64(files_.eval_size());
    out.i64(pending_updates_);
    out.i64(steps_since_phase_);
    collector_.save(out);
    agent_->save(out);
    replay_->save(out);
    files_.write_checkpoint(out);
  }

  // Restores everything save_checkpoint wrote and cuts the logs back to their lengths then.
  void load_checkpoint() {
    const std::string path = files_.checkpoint_path();
    ArchiveReader in(files_.read_checkpoint(), kCheckpointMagic, kCheckpointVersion, path,
                     kCheckpointOldestVersion);
    in.expect_tag("trainer");
    const std::string env_id = in.str();
    if (env_id != cfg_.env.id) {
      throw Error("'" + path + "' was written for env " + env_id + ", but config.yaml says " +
                  cfg_.env.id);
    }
    step_ = in.i64();
    episode_ = in.i64();
    evaluation_.have_best = in.boolean();
    evaluation_.best = in.f64();
    evaluation_.last_step = in.i64();
    evaluation_.last_mean = in.f64();
    last_stats_.critic_loss = in.f64();
    last_stats_.actor_loss = in.f64();
    last_stats_.mean_q = in.f64();
    elapsed_before_ = in.f64();
    Rng::State s;
    for (auto& w : s) w = in.u64();
    collector_.action_rng().set_state(s);
    for (auto& w : s) w = in.u64();
    replay_rng_.set_state(s);
    const uint64_t progress_size = in.u64();
    const uint64_t eval_size = in.u64();
    pending_updates_ = in.i64();
    steps_since_phase_ = in.version() >= 3 ? in.i64() : 0;  // 2: no episode-unit phases yet
    collector_.load(in, path);
    agent_->load(in);
    replay_->load(in);
    if (!in.at_end()) throw Error("'" + path + "' has trailing data (mismatched layout)");
    if (step_ < 0 || episode_ < 0 || pending_updates_ < 0 || steps_since_phase_ < 0 ||
        evaluation_.last_step < -1 || evaluation_.last_step > step_ || !(elapsed_before_ >= 0)) {
      throw Error("'" + path + "' holds impossible counters (a negative step, episode or update " +
                  "count); the file is damaged: use an earlier checkpoint or start the run again");
    }
    // The logs must hold at least what the checkpoint saw written: resume cuts them back to those
    // lengths, and must never pad a shorter (cut or replaced) log.
    for (const auto& [log, size] : {std::pair<std::string, uint64_t>{"progress.csv", progress_size},
                                    {"eval.csv", eval_size}}) {
      struct stat st {};
      const std::string log_path = files_.dir() + "/" + log;
      const uint64_t have = ::stat(log_path.c_str(), &st) == 0 ? st.st_size : 0;
      if (have < size) {
        throw Error(
            "'" + log_path + "' has " + std::to_string(have) + " bytes, but the checkpoint " +
            path + " was written after " + std::to_string(size) +
            "; the log was cut or replaced since. Restore it, or train the run again from " +
            "step 0 (delete its checkpoints folder and resume with --restart)");
      }
    }
    checkpoint_progress_size_ = progress_size;
    checkpoint_eval_size_ = eval_size;
  }

  // A resumed run's logs, cut back to their lengths at the checkpoint (after load_checkpoint).
  void reopen_logs() { files_.reopen_logs(checkpoint_progress_size_, checkpoint_eval_size_); }

  // No checkpoint (killed before the first): the run starts over with empty logs.
  void restart_logs() {
    files_.reopen_logs(0, 0);
    files_.start_logs();
  }

 private:
  // SIGINT, SIGTERM and SIGHUP (a closed terminal or ssh session) set g_stop_signal, from
  // construction until restore() (or the end of the scope); the loop checkpoints and stops.
  class StopSignals {
   public:
    StopSignals()
        : int_((g_stop_signal = 0, std::signal(SIGINT, on_signal))),  // (cleared first)
          term_(std::signal(SIGTERM, on_signal)),
          hup_(std::signal(SIGHUP, on_signal)) {}
    ~StopSignals() { restore(); }
    void restore() {
      if (restored_) return;
      std::signal(SIGINT, int_);
      std::signal(SIGTERM, term_);
      std::signal(SIGHUP, hup_);
      restored_ = true;
    }

   private:
    using Handler = void (*)(int);
    Handler int_, term_, hup_;
    bool restored_ = false;
  };

  // The start of this process's part of the run: its clock, first step, status line and event
  // file.
  void begin_part() {
    start_time_ = Clock::now();
    start_step_ = step_;
    episode_start_step_ = step_;
    status_.start(step_);
    open_event_file();
  }

  // An interrupted part ends here: its segment is recorded as unfinished, and Interrupted says
  // how to continue (`resume`, the command).
  [[noreturn]] void stop_interrupted(const std::string& resume, int signal) {
    files_.record_segment(cfg_, start_step_, step_, seconds_since_start(), total_seconds(), false);
    throw Interrupted("interrupted at step " + std::to_string(step_) +
                          "; the checkpoint is saved: continue with '" + resume + "'",
                      signal);
  }

  // After the last step: the updates still owed (asynchronous collection; the checkpoint keeps
  // them owed, so that a resumed run overlaps them with its first step as this run would have),
  // the final evaluation when the schedule did not just run one (the checkpoint was written
  // before it, so a resumed run drops this row), the final policy, meta.json and summary.json.
  TrainSummary finish() {
    for (int64_t k = 0; k < pending_updates_; ++k) learn();
    pending_updates_ = 0;
    if (evaluation_.last_step != step_) run_eval(false);
    files_.save_policy("final", *agent_, evaluation_.spec());
    TrainSummary summary;
    summary.run_dir = files_.dir();
    summary.steps = step_;
    summary.final_eval_mean = evaluation_.last_mean;
    summary.final_eval_std = evaluation_.last_std;
    summary.best_eval_mean = evaluation_.best;
    summary.has_best = evaluation_.have_best;
    summary.seconds = total_seconds();
    if (learn_timing_) {
      summary.learn_steps = step_ - learn_step0_;
      summary.learn_seconds = std::chrono::duration<double>(learn_t1_ - learn_t0_).count();
      summary.updates = updates_timed_;
      summary.update_seconds = update_seconds_;
    }
    files_.record_segment(cfg_, start_step_, step_, seconds_since_start(), total_seconds(), true);
    files_.write_summary(summary);
    return summary;
  }

  // One update on a batch sampled from the replay.
  void learn() {
    Batch& b = agent_->batch();
    replay_->sample_indices(replay_rng_, cfg_.agent.batch_size, indices_);
    replay_->gather(indices_, b.obs.data(), b.action.data(), b.reward.data(), b.next_obs.data(),
                    b.terminated.data(), b.discount.data());
    last_stats_ = agent_->update(b);
  }

  void run_updates(int64_t count) {
    const auto u0 = Clock::now();
    for (int64_t k = 0; k < count; ++k) learn();
    if (learn_timing_) {
      update_seconds_ += std::chrono::duration<double>(Clock::now() - u0).count();
      updates_timed_ += count;
    }
  }

  // bench train's figures: the part of this process's run after learning started
  void start_learn_timing() {
    learn_timing_ = true;
    learn_t0_ = Clock::now();
    learn_step0_ = step_;
  }

  // trainer.tensorboard: this process's event file. It starts with TensorBoard's SessionLog START
  // at the step it starts from, so that the events an interrupted process wrote after its last
  // checkpoint are dropped.
  void open_event_file() {
    if (cfg_.trainer.tensorboard) tb_ = std::make_unique<EventWriter>(files_.dir(), step_);
  }

  // A progress.csv row for a finished training episode.
  void log_episode(double ret, int64_t length) {
    ++episode_;
    const double secs = seconds_since_start();
    // steps/s (of all envs) since the previous episode ended, in this process
    const double since = secs - episode_start_secs_;
    const int64_t steps = step_ - episode_start_step_;
    const double rate = since > 0 ? steps / since : 0.0;
    episode_start_secs_ = secs;
    episode_start_step_ = step_;
    const ParamNoiseState* p = agent_->param_noise();
    const std::string param = p ? format_double(p->sigma) + "," + format_double(p->distance) : ",";
    files_.progress_row(
        std::to_string(step_) + "," + std::to_string(episode_) + "," + format_double(ret) + "," +
        std::to_string(length) + "," + format_double(last_stats_.critic_loss) + "," +
        format_double(last_stats_.actor_loss) + "," + format_double(last_stats_.mean_q) + "," +
        std::to_string(agent_->updates()) + "," + param + "," + fmt("%.1f", rate) + "," +
        fmt("%.2f", elapsed_before_ + secs));
    last_episode_return_ = ret;
    if (tb_) {
      const double sigma = p ? p->sigma : scheduled_sigma(cfg_.noise, step_);
      tb_->scalars(step_, {{"train/episode_return", ret},
                           {"train/episode_length", static_cast<double>(length)},
                           {"train/critic_loss", last_stats_.critic_loss},
                           {"train/actor_loss", last_stats_.actor_loss},
                           {"train/mean_q", last_stats_.mean_q},
                           {"train/steps_per_s", rate},
                           {"train/noise_sigma", sigma}});
    }
  }

  // distributed.json: this process's figures of a distributed run (docs/distributed.md).
  void write_distributed_stats(const ActorLinks& links) const {
    // (rates over the time to the last batch taken in: the final checkpoint and evaluation after it
    // are the same for any number of actors)
    const double secs = dist_.batches > 0
                            ? std::chrono::duration<double>(dist_.last_batch - start_time_).count()
                            : seconds_since_start();
    const int64_t steps = step_ - start_step_;
    nlohmann::json j;
    j["actors"] = links.actors();
    j["hosts"] = links.hosts();  // rank 0 (the learner) first
    j["env_steps"] = steps;
    j["seconds"] = secs;
    j["env_steps_per_s"] = secs > 0 ? steps / secs : 0.0;
    nlohmann::json per = nlohmann::json::array();
    for (size_t a = 1; a < dist_.actor_steps.size(); ++a) {
      per.push_back(secs > 0 ? dist_.actor_steps[a] / secs : 0.0);
    }
    j["actor_env_steps_per_s"] = per;
    nlohmann::json times = nlohmann::json::array();
    for (size_t a = 1; a < dist_.actor_time.size(); ++a) {
      times.push_back(
          {{"acting", dist_.actor_time[a].first}, {"waiting", dist_.actor_time[a].second}});
    }
    j["actor_seconds"] = times;  // (to each actor's last batch taken in)
    j["updates"] = agent_->updates();
    j["batches"] = dist_.batches;
    j["bytes_in"] = links.bytes_in();
    j["bytes_out"] = links.bytes_out();
    j["bytes_in_per_env_step"] = steps > 0 ? static_cast<double>(links.bytes_in()) / steps : 0.0;
    j["parameter_sets_sent"] = links.refreshes();
    j["parameter_bytes"] = agent_->engine().actor_shape().size() * sizeof(float);
    j["lag_updates_mean"] = steps > 0 ? dist_.lag_sum / steps : 0.0;
    j["lag_updates_max"] = dist_.lag_max;
    j["learner_seconds"] = {{"waiting", dist_.wait_s},
                            {"ingest", dist_.ingest_s},
                            {"updates", dist_.update_s},
                            {"eval_checkpoint_reply", dist_.other_s}};
    j["ingest_us_per_env_step"] = steps > 0 ? 1e6 * dist_.ingest_s / steps : 0.0;
    write_file_atomic(files_.dir() + "/distributed.json", j.dump(2) + "\n");
  }

  void print_actor_line() const {
    if (opts_.quiet || (opts_.show_progress && ::isatty(2))) return;
    const double secs = seconds_since_start();
    const int64_t steps = step_ - start_step_;
    std::fprintf(stderr, "  actors: %.0f env steps/s, parameter lag mean %.1f max %ld updates\n",
                 secs > 0 ? steps / secs : 0.0, steps > 0 ? dist_.lag_sum / steps : 0.0,
                 static_cast<long>(dist_.lag_max));
  }

  void run_eval(bool on_schedule) {
    const EvalResult r = evaluation_.run(*agent_, step_, on_schedule, files_);
    if (tb_) {
      tb_->scalars(step_, {{"eval/mean_return", r.mean_return},
                           {"eval/std_return", r.std_return},
                           {"eval/mean_length", r.mean_length}});
    }
    if (!opts_.quiet && !(opts_.show_progress && ::isatty(2))) {
      std::fprintf(stderr, "step %ld: eval %.2f +- %.2f over %d episodes\n",
                   static_cast<long>(step_), r.mean_return, r.std_return,
                   cfg_.trainer.eval_episodes);
    }
  }

  void print_status(bool live) {
    status_.print(cfg_.env.id, step_, cfg_.trainer.total_steps, seconds_since_start(), episode_ > 0,
                  last_episode_return_, evaluation_.last_step, evaluation_.last_mean, live);
  }

  double seconds_since_start() const {
    return std::chrono::duration<double>(Clock::now() - start_time_).count();
  }
  double total_seconds() const { return elapsed_before_ + seconds_since_start(); }

  const Config cfg_;
  TrainOptions opts_;
  std::unique_ptr<EventWriter> tb_;  // trainer.tensorboard
  RunFiles files_;
  Collector collector_;
  Evaluation evaluation_;
  std::unique_ptr<Agent> agent_;
  std::unique_ptr<ReplayBuffer> replay_;
  Rng replay_rng_;
  std::vector<int64_t> indices_;
  UpdateStats last_stats_;
  StatusLine status_;

  int64_t step_ = 0, episode_ = 0;
  int64_t pending_updates_ = 0;  // asynchronous collection: updates owed, run beside the next step
  int64_t steps_since_phase_ = 0;  // env steps since the last update phase (gradient_steps -1)
  double last_episode_return_ = 0;
  int64_t episode_start_step_ = 0, start_step_ = 0;
  double episode_start_secs_ = 0;
  double elapsed_before_ = 0;  // wall time of the run's earlier processes
  Clock::time_point start_time_;
  bool learn_timing_ = false;
  Clock::time_point learn_t0_, learn_t1_;
  int64_t learn_step0_ = 0, updates_timed_ = 0;
  double update_seconds_ = 0;
  uint64_t checkpoint_progress_size_ = 0, checkpoint_eval_size_ = 0;
  // a distributed run's learner: what came from the actors, and where its time went
  struct DistStats {
    int64_t batches = 0, lag_max = 0;
    double lag_sum = 0;  // Σ lag × env steps
    std::vector<int64_t> actor_steps;
    std::vector<std::pair<double, double>> actor_time;  // each actor's acting and waiting seconds
    double wait_s = 0, ingest_s = 0, update_s = 0, other_s = 0;
    Clock::time_point last_batch;
  } dist_;
};

}  // namespace

Config load_run_config(const std::string& run_dir) {
  const std::string path = run_dir + "/config.yaml";
  if (!file_exists(path)) {
    throw Error("'" + run_dir +
                "' is not a run folder (no config.yaml); start a run with "
                "'ddpg train --out DIR'");
  }
  Config c;
  ConfigErrors errors;
  apply_yaml(c, read_file(path, kTextFileLimit), path, errors);
  validate(c, errors);
  errors.throw_if_any("invalid run config '" + path + "'");
  return c;
}

namespace {

// A run's trainer.distributed and the process's MPI job must agree.
void check_distributed(const Config& cfg, const TrainOptions& opts) {
  if (cfg.trainer.distributed == "actors" && !opts.actors) {
    throw Error(
        "trainer.distributed = actors runs as an MPI job of one learner and its actors: start it "
        "with 'mpirun -np K ddpg train ...' (K >= 2: rank 0 learns, ranks 1..K-1 act), or set "
        "trainer.distributed=none for one process");
  }
  if (cfg.trainer.distributed != "actors" && opts.actors) {
    throw Error("this process is rank 0 of an MPI job of " +
                std::to_string(opts.actors->actors() + 1) +
                " ranks, but the run has trainer.distributed = " + cfg.trainer.distributed +
                ": add --set trainer.distributed=actors for one learner and " +
                std::to_string(opts.actors->actors()) + " actors, or start it without mpirun");
  }
}

TrainSummary run_loop(Loop& loop, const TrainOptions& opts) {
  return opts.actors ? loop.run_learner(*opts.actors) : loop.run();
}

}  // namespace

TrainSummary train_new(const Config& cfg, const std::string& run_dir, const TrainOptions& opts) {
  check_distributed(cfg, opts);
  make_dirs(run_dir);
  const RunLock lock(run_dir);  // two starts in one folder: the second stops here
  if (file_exists(run_dir + "/config.yaml")) {
    throw Error("'" + run_dir + "' already holds a run; continue it with 'ddpg train --resume " +
                run_dir + "' or choose another --out");
  }
  // The envs, agent and replay first: a run that cannot start leaves no run behind to block its
  // retry.
  Loop loop(cfg, run_dir, opts);
  make_dirs(run_dir + "/checkpoints");
  write_file_atomic(run_dir + "/config.yaml", to_yaml(cfg));
  write_meta(cfg, run_dir);
  loop.start_logs();
  return run_loop(loop, opts);
}

namespace {

// Whether a run folder holds results: a policy, a summary, or data rows in its logs.
bool has_results(const std::string& dir) {
  for (const char* f : {"/summary.json", "/policy_final.bin", "/policy_best.bin"}) {
    if (file_exists(dir + f)) return true;
  }
  for (const char* log : {"/progress.csv", "/eval.csv"}) {
    if (!file_exists(dir + log)) continue;
    const std::string text = read_file(dir + log);
    const auto nl = text.find('\n');
    if (nl != std::string::npos && nl + 1 < text.size()) return true;  // a row past the header
  }
  return false;
}

}  // namespace

TrainSummary train_resume(const std::string& run_dir, std::optional<int64_t> total_steps,
                          const TrainOptions& opts, bool restart) {
  load_run_config(run_dir);  // a run folder at all? (reads only)
  const RunLock lock(run_dir);
  // Everything is checked before anything in the folder changes.
  Config cfg = load_run_config(run_dir);
  if (total_steps) cfg.trainer.total_steps = *total_steps;
  check_distributed(cfg, opts);
  Loop loop(cfg, run_dir, opts);
  const bool have_checkpoint = file_exists(loop.checkpoint_path());
  if (!have_checkpoint && !restart && has_results(run_dir)) {
    throw Error("'" + run_dir + "' has results but no checkpoint (" + loop.checkpoint_path() +
                "), so it cannot continue; to train it again from step 0 (its logs and policies "
                "are replaced) add --restart, or start a new run with --out");
  }
  if (have_checkpoint) {
    loop.load_checkpoint();
    // A run stopped after its last checkpoint but before it finished (killed while writing its
    // final policy or summary) resumes into finish() alone: the loop has no steps left to run.
    const bool unfinished_end =
        loop.step() == cfg.trainer.total_steps && !file_exists(run_dir + "/summary.json");
    if (loop.step() >= cfg.trainer.total_steps && !unfinished_end) {
      throw Error("the run in '" + run_dir + "' is already at step " + std::to_string(loop.step()) +
                  "; pass --steps N with N larger than that to continue it");
    }
  }
  if (total_steps) write_file_atomic(run_dir + "/config.yaml", to_yaml(cfg));
  make_dirs(run_dir + "/checkpoints");
  if (!file_exists(run_dir + "/meta.json")) write_meta(cfg, run_dir);
  ::unlink((run_dir + "/summary.json").c_str());  // not finished until it ends again
  if (have_checkpoint) {
    loop.reopen_logs();
  } else {
    loop.restart_logs();  // killed before its first checkpoint: start over
  }
  return run_loop(loop, opts);
}

}  // namespace ddpg
