// Trainer: the training loop, logs and checkpoints. See trainer.h.
#include "ddpg/trainer.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>
#include <omp.h>
#include <thread>

#include "ddpg/agent.h"
#include "ddpg/build_info.h"
#include "ddpg/env.h"
#include "ddpg/env_pool.h"
#include "ddpg/evaluate.h"
#include "ddpg/noise.h"
#include "ddpg/replay_buffer.h"

namespace ddpg {
namespace {

nlohmann::json provenance(const Config& cfg);
std::string utc_now();

const char* kCheckpointMagic = "DDPGCKPT";
const uint32_t kCheckpointVersion = 2;  // 2: one state per env (trainer.num_envs)

// Independent random streams of one run, derived from its seed.
enum Stream : uint64_t {
  kEnvStream,
  kActionStream,
  kReplayStream,
  kNoiseStream,
  kEvalStream,
  kAgentStream  // network initialisation, and the agent's own stream derived from it
};

const char* kProgressHeader =
    "step,episode,return,length,critic_loss,actor_loss,mean_q,updates,param_noise_sigma,"
    "param_noise_distance,steps_per_s,time_s";
const char* kEvalHeader = "step,mean_return,std_return,episodes,mean_length";

std::atomic<int> g_stop_signal{0};
void on_signal(int sig) { g_stop_signal = sig; }

using Clock = std::chrono::steady_clock;

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

std::string format_duration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  char buf[32];
  const int64_t t = static_cast<int64_t>(s + 0.5);
  if (t >= 3600) {
    std::snprintf(buf, sizeof buf, "%ldh%02ldm", static_cast<long>(t / 3600),
                  static_cast<long>(t % 3600 / 60));
  } else if (t >= 60) {
    std::snprintf(buf, sizeof buf, "%ldm%02lds", static_cast<long>(t / 60),
                  static_cast<long>(t % 60));
  } else {
    std::snprintf(buf, sizeof buf, "%lds", static_cast<long>(t));
  }
  return buf;
}

class Loop {
 public:
  Loop(const Config& cfg, const std::string& dir, const TrainOptions& opts)
      : cfg_(cfg), dir_(dir), opts_(opts) {
    const uint64_t seed = cfg.trainer.seed;
    const int threads = cfg.trainer.threads > 0
                            ? cfg.trainer.threads
                            : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    omp_set_num_threads(threads);  // the OpenMP pool of the update (and of OpenBLAS)
    const int n = cfg.trainer.num_envs;
    std::vector<std::unique_ptr<Env>> envs;
    for (int i = 0; i < n; ++i) envs.push_back(make_env(cfg.env.id, cfg.env.options));
    // Asynchronous collection steps the envs on one thread beside the updates.
    pool_ = std::make_unique<EnvPool>(std::move(envs), cfg.trainer.async_collect ? 1 : threads);
    eval_env_ = make_env(cfg.env.id, cfg.env.options);
    const EnvSpec& spec = pool_->env(0).spec();
    agent_ = std::make_unique<Agent>(cfg.agent, spec.obs_dim, spec.act_dim,
                                     Rng::derive(seed, kAgentStream));
    agent_->set_threads(threads);
    replay_ = std::make_unique<ReplayBuffer>(cfg.agent.buffer_size, spec.obs_dim, spec.act_dim);
    if (cfg.noise.type == "param") agent_->enable_param_noise(cfg.noise);
    action_rng_.seed_with(Rng::derive(seed, kActionStream));
    replay_rng_.seed_with(Rng::derive(seed, kReplayStream));
    slots_.resize(n);
    for (int i = 0; i < n; ++i) {
      // Env 0 keeps the single-env streams; env i > 0 derives its own from them.
      const uint64_t noise_seed = Rng::derive(seed, kNoiseStream);
      const uint64_t env_seed = Rng::derive(seed, kEnvStream);
      Slot& sl = slots_[i];
      sl.noise =
          make_noise(cfg.noise, spec.act_dim, i == 0 ? noise_seed : Rng::derive(noise_seed, i));
      sl.nstep = std::make_unique<NStepAccumulator>(cfg.agent.n_step, cfg.agent.gamma, spec.obs_dim,
                                                    spec.act_dim);
      sl.action.resize(spec.act_dim);
      agent_->observe(pool_->env(i).reset(i == 0 ? env_seed : Rng::derive(env_seed, i)));
      sl.noise->reset();
    }
    env_actions_.resize(n);
    obs_rows_.resize(n);
  }

  std::string checkpoint_path() const { return dir_ + "/checkpoints/last.ckpt"; }

  void open_logs(bool truncate) {
    progress_.open(dir_ + "/progress.csv", kProgressHeader);
    eval_log_.open(dir_ + "/eval.csv", kEvalHeader);
    if (truncate) {
      progress_.truncate_to(progress_size_);
      eval_log_.truncate_to(eval_size_);
    }
  }

  // Fresh run: logs start with their headers only.
  void start_logs() {
    progress_.open(dir_ + "/progress.csv", kProgressHeader);
    eval_log_.open(dir_ + "/eval.csv", kEvalHeader);
  }

  void save_checkpoint() {
    ArchiveWriter out(kCheckpointMagic, kCheckpointVersion);
    out.tag("trainer");
    out.str(cfg_.env.id);
    out.i64(step_);
    out.i64(episode_);
    out.boolean(have_best_);
    out.f64(best_eval_);
    out.i64(last_eval_step_);
    out.f64(last_eval_mean_);
    out.f64(last_stats_.critic_loss);
    out.f64(last_stats_.actor_loss);
    out.f64(last_stats_.mean_q);
    out.f64(elapsed_before_ + seconds_since_start());
    for (uint64_t w : action_rng_.state()) out.u64(w);
    for (uint64_t w : replay_rng_.state()) out.u64(w);
    out.u64(progress_.size());
    out.u64(eval_log_.size());
    out.i64(pending_updates_);
    out.u64(slots_.size());
    for (size_t i = 0; i < slots_.size(); ++i) {
      out.i64(slots_[i].episode_length);
      out.f64(slots_[i].episode_return);
      pool_->env(static_cast<int>(i)).save_state(out);
      slots_[i].noise->save(out);
      slots_[i].nstep->save(out);
    }
    agent_->save(out);
    replay_->save(out);
    write_file_atomic(checkpoint_path(), out.finish());
  }

  void load_checkpoint() {
    const std::string path = checkpoint_path();
    ArchiveReader in(read_file(path), kCheckpointMagic, kCheckpointVersion, path);
    in.expect_tag("trainer");
    const std::string env_id = in.str();
    if (env_id != cfg_.env.id) {
      throw Error("'" + path + "' was written for env " + env_id + ", but config.yaml says " +
                  cfg_.env.id);
    }
    step_ = in.i64();
    episode_ = in.i64();
    have_best_ = in.boolean();
    best_eval_ = in.f64();
    last_eval_step_ = in.i64();
    last_eval_mean_ = in.f64();
    last_stats_.critic_loss = in.f64();
    last_stats_.actor_loss = in.f64();
    last_stats_.mean_q = in.f64();
    elapsed_before_ = in.f64();
    Rng::State s;
    for (auto& w : s) w = in.u64();
    action_rng_.set_state(s);
    for (auto& w : s) w = in.u64();
    replay_rng_.set_state(s);
    progress_size_ = in.u64();
    eval_size_ = in.u64();
    pending_updates_ = in.i64();
    const uint64_t n = in.u64();
    if (n != slots_.size()) {
      throw Error("'" + path + "' holds " + std::to_string(n) + " envs, the run's config has " +
                  "trainer.num_envs = " + std::to_string(slots_.size()) +
                  "; resume with the number of envs it was started with");
    }
    for (size_t i = 0; i < slots_.size(); ++i) {
      slots_[i].episode_length = in.i64();
      slots_[i].episode_return = in.f64();
      pool_->env(static_cast<int>(i)).load_state(in);
      slots_[i].noise->load(in);
      slots_[i].nstep->load(in);
    }
    agent_->load(in);
    replay_->load(in);
    if (!in.at_end()) throw Error("'" + path + "' has trailing data (mismatched layout)");
  }

  TrainSummary run() {
    const TrainerConfig& t = cfg_.trainer;
    const bool tty = opts_.show_progress && ::isatty(2);
    start_time_ = Clock::now();
    start_step_ = step_;
    episode_start_step_ = step_;
    status_step_ = step_;
    auto last_line = Clock::now() - std::chrono::seconds(10);
    g_stop_signal = 0;
    auto old_int = std::signal(SIGINT, on_signal);
    auto old_term = std::signal(SIGTERM, on_signal);
    bool interrupted = false;

    const int n = pool_->size();
    const EnvSpec& spec = pool_->env(0).spec();
    // Multiples of `every` crossed by the last vector step (step_ − n, step_].
    auto crossed = [&](int64_t every) { return step_ / every > (step_ - n) / every; };
    auto run_updates = [&](int64_t count) {
      const auto u0 = Clock::now();
      for (int64_t k = 0; k < count; ++k) learn();
      if (learn_timing_) {
        update_seconds_ += std::chrono::duration<double>(Clock::now() - u0).count();
        updates_timed_ += count;
      }
    };
    while (step_ < t.total_steps) {
      if (step_ >= t.learning_starts && !learn_timing_) {
        learn_timing_ = true;
        learn_t0_ = Clock::now();
        learn_step0_ = step_;
      }
      // act
      if (step_ < t.learning_starts) {
        for (Slot& sl : slots_) {
          for (auto& a : sl.action) a = static_cast<float>(action_rng_.uniform(-1.0, 1.0));
        }
      } else {
        const double sigma = scheduled_sigma(cfg_.noise, step_);
        if (cfg_.noise.type == "param") {
          agent_->set_param_noise_target(sigma);
          for (int i = 0; i < n; ++i) {
            agent_->act_perturbed(pool_->env(i).obs(), slots_[i].action.data());
          }
        } else {
          for (int i = 0; i < n; ++i) obs_rows_[i] = &pool_->env(i).obs();
          agent_->act_rows(obs_rows_, actions_flat_);
          for (int i = 0; i < n; ++i) {
            Slot& sl = slots_[i];
            std::copy_n(actions_flat_.data() + i * spec.act_dim, spec.act_dim, sl.action.data());
            sl.noise->set_sigma(sigma);
            sl.noise->add_to(sl.action.data());
          }
        }
        for (Slot& sl : slots_) {
          for (auto& a : sl.action) a = std::clamp(a, -1.0f, 1.0f);
        }
      }
      for (int i = 0; i < n; ++i) {
        Slot& sl = slots_[i];
        rescale_action(sl.action.data(), spec, env_actions_[i]);
        sl.obs = pool_->env(i).obs();
      }
      // Envs whose episode ends are reset on their thread (autoreset); the last observation of
      // the episode is then the pool's final_obs.
      if (t.async_collect && pending_updates_ > 0) {
        // the envs step on a second thread while the updates owed by the last step run here
        std::exception_ptr env_error;
        std::thread collector([&] {
          try {
            pool_->step(env_actions_, results_, true);
          } catch (...) {
            env_error = std::current_exception();
          }
        });
        try {
          run_updates(pending_updates_);
        } catch (...) {
          collector.join();
          throw;
        }
        collector.join();
        pending_updates_ = 0;
        if (env_error) std::rethrow_exception(env_error);
      } else {
        pool_->step(env_actions_, results_, true);
      }
      // store, in env order: terminated stops the bootstrap, truncated does not
      for (int i = 0; i < n; ++i) {
        Slot& sl = slots_[i];
        const StepResult& r = results_[i];
        const bool done = r.terminated || r.truncated;
        const std::vector<double>& next_obs = done ? pool_->final_obs(i) : pool_->env(i).obs();
        sl.nstep->add(sl.obs, sl.action.data(), r.reward, next_obs, r.terminated, done, *replay_);
        agent_->observe(next_obs);
        ++step_;
        sl.episode_return += r.reward;
        ++sl.episode_length;
        if (done) end_episode(i);
      }

      // learn
      if (step_ >= t.learning_starts && crossed(t.update_every) &&
          replay_->size() >= cfg_.agent.batch_size) {
        const int64_t phases = step_ / t.update_every - (step_ - n) / t.update_every;
        if (t.async_collect) {
          pending_updates_ += phases * t.gradient_steps;  // run beside the next env step
        } else {
          run_updates(phases * t.gradient_steps);
        }
      }
      if (learn_timing_) learn_t1_ = Clock::now();
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
    std::signal(SIGINT, old_int);
    std::signal(SIGTERM, old_term);
    if (tty) print_status(false);
    // Asynchronous collection: the updates owed by the last step (the checkpoint keeps them owed,
    // so that a resumed run overlaps them with its first step as this run would have).
    if (!interrupted && pending_updates_ > 0) {
      for (int64_t k = 0; k < pending_updates_; ++k) learn();
      pending_updates_ = 0;
    }

    TrainSummary summary;
    summary.run_dir = dir_;
    summary.steps = step_;
    if (interrupted) {
      record_segment(false);
      throw Error("interrupted at step " + std::to_string(step_) +
                  "; the checkpoint is saved: continue with 'ddpg train --resume " + dir_ + "'");
    }
    // The final evaluation, when the schedule did not just run one. The checkpoint above was
    // written before it, so a resumed run drops this row and evaluates on its own schedule.
    if (last_eval_step_ != step_) run_eval(false);
    save_policy(dir_ + "/policy_final.bin", *agent_);
    summary.final_eval_mean = last_eval_mean_;
    summary.final_eval_std = last_eval_std_;
    summary.best_eval_mean = best_eval_;
    summary.seconds = elapsed_before_ + seconds_since_start();
    if (learn_timing_) {
      summary.learn_steps = step_ - learn_step0_;
      summary.learn_seconds = std::chrono::duration<double>(learn_t1_ - learn_t0_).count();
      summary.updates = updates_timed_;
      summary.update_seconds = update_seconds_;
    }
    record_segment(true);
    // summary.json marks a finished run (sweeps skip it) and holds its headline figures.
    const nlohmann::json js = {{"steps", summary.steps},
                               {"final_eval_mean", summary.final_eval_mean},
                               {"final_eval_std", summary.final_eval_std},
                               {"best_eval_mean", summary.best_eval_mean},
                               {"seconds", summary.seconds}};
    write_file_atomic(dir_ + "/summary.json", js.dump(2) + "\n");
    return summary;
  }

 private:
  // Appends this process's part of the run (steps, wall time, commit, CPU) to meta.json, whose
  // wall_seconds is then the run's total wall time over all its processes.
  void record_segment(bool finished) {
    const std::string path = dir_ + "/meta.json";
    nlohmann::json meta;
    try {
      meta = nlohmann::json::parse(read_file(path));
    } catch (const std::exception&) {
      meta = nlohmann::json::object();  // missing or unreadable: rebuilt from what is known
    }
    if (!meta.is_object()) meta = nlohmann::json::object();
    if (!meta.contains("env")) meta["env"] = cfg_.env.id;
    if (!meta.contains("seed")) meta["seed"] = cfg_.trainer.seed;
    if (!meta.contains("segments") || !meta["segments"].is_array()) {
      meta["segments"] = nlohmann::json::array();
    }
    nlohmann::json seg = provenance(cfg_);
    seg["from_step"] = start_step_;
    seg["to_step"] = step_;
    seg["seconds"] = seconds_since_start();
    seg["ended_utc"] = utc_now();
    seg["finished"] = finished;
    meta["segments"].push_back(seg);
    meta["wall_seconds"] = elapsed_before_ + seconds_since_start();
    write_file_atomic(path, meta.dump(2) + "\n");
  }

  double seconds_since_start() const {
    return std::chrono::duration<double>(Clock::now() - start_time_).count();
  }

  void learn() {
    Batch& b = agent_->batch();
    replay_->sample_indices(replay_rng_, cfg_.agent.batch_size, indices_);
    replay_->gather(indices_, b.obs.data(), b.action.data(), b.reward.data(), b.next_obs.data(),
                    b.terminated.data(), b.discount.data());
    last_stats_ = agent_->update(b);
  }

  void end_episode(int i) {
    Slot& sl = slots_[i];
    ++episode_;
    const double secs = seconds_since_start();
    // steps/s (of all envs) since the previous episode ended, in this process
    const double since = secs - episode_start_secs_;
    const int64_t steps = step_ - episode_start_step_;
    const double rate = since > 0 ? steps / since : 0.0;
    episode_start_secs_ = secs;
    episode_start_step_ = step_;
    progress_.append(
        std::to_string(step_) + "," + std::to_string(episode_) + "," +
        format_double(sl.episode_return) + "," + std::to_string(sl.episode_length) + "," +
        format_double(last_stats_.critic_loss) + "," + format_double(last_stats_.actor_loss) + "," +
        format_double(last_stats_.mean_q) + "," + std::to_string(agent_->updates()) + "," +
        param_columns() + "," + fmt("%.1f", rate) + "," + fmt("%.2f", elapsed_before_ + secs));
    last_episode_return_ = sl.episode_return;
    sl.episode_return = 0;
    sl.episode_length = 0;
    agent_->observe(pool_->env(i).obs());  // the pool already reset the env
    sl.noise->reset();
    agent_->resample_perturbation();  // parameter noise: a new θ̃ per episode
  }

  std::string param_columns() const {
    const ParamNoiseState* p = agent_->param_noise();
    return p ? format_double(p->sigma) + "," + format_double(p->distance) : ",";
  }

  void run_eval(bool on_schedule) {
    Policy policy = [this](const std::vector<double>& obs, float* a) { agent_->act(obs, a); };
    const EvalResult r = evaluate(policy, *eval_env_, cfg_.trainer.eval_episodes,
                                  Rng::derive(cfg_.trainer.seed, kEvalStream));
    last_eval_step_ = step_;
    last_eval_mean_ = r.mean_return;
    last_eval_std_ = r.std_return;
    eval_log_.append(std::to_string(step_) + "," + format_double(r.mean_return) + "," +
                     format_double(r.std_return) + "," +
                     std::to_string(cfg_.trainer.eval_episodes) + "," +
                     format_double(r.mean_length));
    // An off-schedule final evaluation does not count for "best": a resumed run drops its row.
    if (on_schedule && (!have_best_ || r.mean_return > best_eval_)) {
      have_best_ = true;
      best_eval_ = r.mean_return;
      save_policy(dir_ + "/policy_best.bin", *agent_);
    }
    if (!opts_.quiet && !(opts_.show_progress && ::isatty(2))) {
      std::fprintf(stderr, "step %ld: eval %.2f +- %.2f over %d episodes\n",
                   static_cast<long>(step_), r.mean_return, r.std_return,
                   cfg_.trainer.eval_episodes);
    }
  }

  void print_status(bool live) {
    // steps/s over the last few seconds (an exponential average of the rate between lines), so
    // that the fast random-action phase does not make the ETA optimistic
    const double secs = seconds_since_start();
    const double dt = secs - status_secs_;
    if (dt > 0) {
      const double inst = (step_ - status_step_) / dt;
      const double w = std::min(1.0, dt / 3.0);
      status_rate_ = status_rate_ > 0 ? (1 - w) * status_rate_ + w * inst : inst;
    }
    status_secs_ = secs;
    status_step_ = step_;
    const double rate = status_rate_;
    const double eta = rate > 0 ? (cfg_.trainer.total_steps - step_) / rate : NAN;
    const double pct = 100.0 * step_ / cfg_.trainer.total_steps;
    std::string line = "\r[" + cfg_.env.id + "] step " + std::to_string(step_) + "/" +
                       std::to_string(cfg_.trainer.total_steps) + " (" + fmt("%.0f", pct) + "%)  " +
                       fmt("%.0f", rate) + " steps/s  ETA " + format_duration(eta);
    if (episode_ > 0) line += "  last episode " + fmt("%.1f", last_episode_return_);
    if (last_eval_step_ >= 0) {
      line += "  eval " + fmt("%.1f", last_eval_mean_) + " @" + std::to_string(last_eval_step_);
    }
    line += "\x1b[K";
    if (!live) line += "\n";
    std::fputs(line.c_str(), stderr);
    std::fflush(stderr);
  }

  Config cfg_;
  std::string dir_;
  TrainOptions opts_;
  // One env of the pool with what the loop keeps for it.
  struct Slot {
    std::unique_ptr<ActionNoise> noise;
    std::unique_ptr<NStepAccumulator> nstep;
    std::vector<float> action;  // in [-1, 1]
    std::vector<double> obs;    // observation the action was chosen on
    int64_t episode_length = 0;
    double episode_return = 0;
  };
  std::unique_ptr<EnvPool> pool_;
  std::unique_ptr<Env> eval_env_;
  std::unique_ptr<Agent> agent_;
  std::unique_ptr<ReplayBuffer> replay_;
  std::vector<Slot> slots_;
  std::vector<std::vector<double>> env_actions_;
  std::vector<StepResult> results_;
  std::vector<const std::vector<double>*> obs_rows_;
  std::vector<float> actions_flat_;
  Rng action_rng_, replay_rng_;
  std::vector<int64_t> indices_;
  LineLog progress_, eval_log_;
  uint64_t progress_size_ = 0, eval_size_ = 0;

  int64_t step_ = 0, episode_ = 0;
  double last_episode_return_ = 0;
  int64_t episode_start_step_ = 0;
  // bench train's figures: the part of this process's run after learning started
  int64_t pending_updates_ = 0;  // asynchronous collection: updates owed, run beside the next step
  bool learn_timing_ = false;
  Clock::time_point learn_t0_, learn_t1_;
  int64_t learn_step0_ = 0, updates_timed_ = 0;
  double update_seconds_ = 0;
  UpdateStats last_stats_;
  bool have_best_ = false;
  double best_eval_ = 0;
  int64_t last_eval_step_ = -1;
  double last_eval_mean_ = 0, last_eval_std_ = 0;
  double elapsed_before_ = 0;
  Clock::time_point start_time_;
  double episode_start_secs_ = 0;
  double status_secs_ = 0, status_rate_ = 0;
  int64_t status_step_ = 0;
  int64_t start_step_ = 0;

 public:
  void restore_log_sizes() { open_logs(true); }
  int64_t step() const { return step_; }
};

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// What produced this process's part of a run: the binary's commit and build, and the machine.
nlohmann::json provenance(const Config& cfg) {
  const BuildInfo& b = build_info();
  return {{"commit", b.commit},
          {"commit_dirty", b.dirty},
          {"build_type", b.build_type},
          {"compiler", b.compiler},
          {"cpu", cpu_model()},
          {"cores", std::thread::hardware_concurrency()},
          {"threads", cfg.trainer.threads > 0 ? cfg.trainer.threads
                                              : static_cast<int>(std::thread::hardware_concurrency())}};
}

void write_meta(const Config& cfg, const std::string& dir) {
  nlohmann::json meta = {{"ddpg_version", DDPG_VERSION},
                         {"env", cfg.env.id},
                         {"seed", cfg.trainer.seed},
                         {"started_utc", utc_now()}};
  meta.update(provenance(cfg));
  meta["segments"] = nlohmann::json::array();
  write_file_atomic(dir + "/meta.json", meta.dump(2) + "\n");
}

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
  apply_yaml(c, read_file(path), path, errors);
  validate(c, errors);
  errors.throw_if_any("invalid run config '" + path + "'");
  return c;
}

TrainSummary train_new(const Config& cfg, const std::string& run_dir, const TrainOptions& opts) {
  if (file_exists(run_dir + "/config.yaml")) {
    throw Error("'" + run_dir + "' already holds a run; continue it with 'ddpg train --resume " +
                run_dir + "' or choose another --out");
  }
  make_dirs(run_dir + "/checkpoints");
  write_file_atomic(run_dir + "/config.yaml", to_yaml(cfg));
  write_meta(cfg, run_dir);
  Loop loop(cfg, run_dir, opts);
  loop.start_logs();
  return loop.run();
}

TrainSummary train_resume(const std::string& run_dir, std::optional<int64_t> total_steps,
                          const TrainOptions& opts) {
  Config cfg = load_run_config(run_dir);
  if (total_steps) {
    cfg.trainer.total_steps = *total_steps;
    write_file_atomic(run_dir + "/config.yaml", to_yaml(cfg));
  }
  make_dirs(run_dir + "/checkpoints");
  if (!file_exists(run_dir + "/meta.json")) write_meta(cfg, run_dir);
  ::unlink((run_dir + "/summary.json").c_str());  // not finished until it ends again
  Loop loop(cfg, run_dir, opts);
  if (file_exists(loop.checkpoint_path())) {
    loop.load_checkpoint();
    if (loop.step() >= cfg.trainer.total_steps) {
      throw Error("the run in '" + run_dir + "' is already at step " + std::to_string(loop.step()) +
                  "; pass --steps N with N larger than that to continue it");
    }
    loop.restore_log_sizes();
  } else {
    // Killed before its first checkpoint: start over, keeping only the log headers.
    loop.restore_log_sizes();  // sizes are 0: truncate to empty; headers are re-added below
    loop.start_logs();
  }
  return loop.run();
}

}  // namespace ddpg
