// Trainer: the training loop, logs and checkpoints. See trainer.h.
#include "ddpg/trainer.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <thread>

#include "ddpg/agent.h"
#include "ddpg/env.h"
#include "ddpg/evaluate.h"
#include "ddpg/noise.h"
#include "ddpg/replay_buffer.h"

namespace ddpg {
namespace {

const char* kCheckpointMagic = "DDPGCKPT";
const uint32_t kCheckpointVersion = 1;

// Independent random streams of one run, derived from its seed.
enum Stream : uint64_t {
  kEnvStream,
  kActionStream,
  kReplayStream,
  kNoiseStream,
  kEvalStream,
  kTorchStream
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
    torch::set_num_threads(threads);
    env_ = make_env(cfg.env.id, cfg.env.options);
    eval_env_ = make_env(cfg.env.id, cfg.env.options);
    const EnvSpec& spec = env_->spec();
    agent_ = std::make_unique<Agent>(cfg.agent, spec.obs_dim, spec.act_dim,
                                     Rng::derive(seed, kTorchStream));
    agent_->set_threads(threads);
    replay_ = std::make_unique<ReplayBuffer>(cfg.agent.buffer_size, spec.obs_dim, spec.act_dim);
    noise_ = make_noise(cfg.noise, spec.act_dim, Rng::derive(seed, kNoiseStream));
    if (cfg.noise.type == "param") agent_->enable_param_noise(cfg.noise);
    nstep_ = std::make_unique<NStepAccumulator>(cfg.agent.n_step, cfg.agent.gamma, spec.obs_dim,
                                                spec.act_dim);
    action_rng_.seed_with(Rng::derive(seed, kActionStream));
    replay_rng_.seed_with(Rng::derive(seed, kReplayStream));
    action_.resize(spec.act_dim);
    agent_->observe(env_->reset(Rng::derive(seed, kEnvStream)));
    noise_->reset();
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
    out.i64(episode_length_);
    out.f64(episode_return_);
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
    env_->save_state(out);
    agent_->save(out);
    noise_->save(out);
    nstep_->save(out);
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
    episode_length_ = in.i64();
    episode_return_ = in.f64();
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
    env_->load_state(in);
    agent_->load(in);
    noise_->load(in);
    nstep_->load(in);
    replay_->load(in);
    if (!in.at_end()) throw Error("'" + path + "' has trailing data (mismatched layout)");
  }

  TrainSummary run() {
    const TrainerConfig& t = cfg_.trainer;
    const EnvSpec& spec = env_->spec();
    const bool tty = opts_.show_progress && ::isatty(2);
    start_time_ = Clock::now();
    start_step_ = step_;
    status_step_ = step_;
    auto last_line = Clock::now() - std::chrono::seconds(10);
    std::vector<double> env_action;
    g_stop_signal = 0;
    auto old_int = std::signal(SIGINT, on_signal);
    auto old_term = std::signal(SIGTERM, on_signal);
    bool interrupted = false;

    while (step_ < t.total_steps) {
      // act
      if (step_ < t.learning_starts) {
        for (auto& a : action_) a = static_cast<float>(action_rng_.uniform(-1.0, 1.0));
      } else {
        const double sigma = scheduled_sigma(cfg_.noise, step_);
        if (cfg_.noise.type == "param") {
          agent_->set_param_noise_target(sigma);
          agent_->act_perturbed(env_->obs(), action_.data());
        } else {
          agent_->act(env_->obs(), action_.data());
          noise_->set_sigma(sigma);
          noise_->add_to(action_.data());
        }
        for (auto& a : action_) a = std::clamp(a, -1.0f, 1.0f);
      }
      rescale_action(action_.data(), spec, env_action);
      obs_ = env_->obs();
      const StepResult r = env_->step(env_action);
      // store: terminated stops the bootstrap, truncated does not
      nstep_->add(obs_, action_.data(), r.reward, env_->obs(), r.terminated,
                  r.terminated || r.truncated, *replay_);
      agent_->observe(env_->obs());
      ++step_;
      episode_return_ += r.reward;
      ++episode_length_;
      if (r.terminated || r.truncated) end_episode();

      // learn
      if (step_ >= t.learning_starts && step_ % t.update_every == 0 &&
          replay_->size() >= cfg_.agent.batch_size) {
        for (int g = 0; g < t.gradient_steps; ++g) learn();
      }
      if (t.eval_every > 0 && step_ % t.eval_every == 0) run_eval();
      const bool stop = g_stop_signal != 0;
      if (step_ % t.checkpoint_every == 0 || step_ == t.total_steps || stop) save_checkpoint();
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

    TrainSummary summary;
    summary.run_dir = dir_;
    summary.steps = step_;
    if (interrupted) {
      throw Error("interrupted at step " + std::to_string(step_) +
                  "; the checkpoint is saved: continue with 'ddpg train --resume " + dir_ + "'");
    }
    // The final evaluation, when the schedule did not just run one. The checkpoint above was
    // written before it, so a resumed run drops this row and evaluates on its own schedule.
    if (last_eval_step_ != step_) run_eval();
    save_policy(dir_ + "/policy_final.bin", *agent_);
    summary.final_eval_mean = last_eval_mean_;
    summary.final_eval_std = last_eval_std_;
    summary.best_eval_mean = best_eval_;
    summary.seconds = elapsed_before_ + seconds_since_start();
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
  double seconds_since_start() const {
    return std::chrono::duration<double>(Clock::now() - start_time_).count();
  }

  void learn() {
    Batch& b = agent_->batch();
    replay_->sample_indices(replay_rng_, cfg_.agent.batch_size, indices_);
    replay_->gather(indices_, b.obs.data_ptr<float>(), b.action.data_ptr<float>(),
                    b.reward.data_ptr<float>(), b.next_obs.data_ptr<float>(),
                    b.terminated.data_ptr<float>(), b.discount.data_ptr<float>());
    last_stats_ = agent_->update(b);
  }

  void end_episode() {
    ++episode_;
    const double secs = seconds_since_start();
    // steps/s over this episode (or the part of it run in this process)
    const double episode_secs = secs - episode_start_secs_;
    const int64_t episode_steps = std::min(episode_length_, step_ - start_step_);
    const double rate = episode_secs > 0 ? episode_steps / episode_secs : 0.0;
    episode_start_secs_ = secs;
    progress_.append(
        std::to_string(step_) + "," + std::to_string(episode_) + "," +
        format_double(episode_return_) + "," + std::to_string(episode_length_) + "," +
        format_double(last_stats_.critic_loss) + "," + format_double(last_stats_.actor_loss) + "," +
        format_double(last_stats_.mean_q) + "," + std::to_string(agent_->updates()) + "," +
        param_columns() + "," + fmt("%.1f", rate) + "," + fmt("%.2f", elapsed_before_ + secs));
    last_episode_return_ = episode_return_;
    episode_return_ = 0;
    episode_length_ = 0;
    agent_->observe(env_->reset());
    noise_->reset();
    agent_->resample_perturbation();  // parameter noise: a new θ̃ per episode
  }

  std::string param_columns() const {
    const ParamNoiseState* p = agent_->param_noise();
    return p ? format_double(p->sigma) + "," + format_double(p->distance) : ",";
  }

  void run_eval() {
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
    const bool on_schedule = cfg_.trainer.eval_every > 0 && step_ % cfg_.trainer.eval_every == 0;
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
  std::unique_ptr<Env> env_, eval_env_;
  std::unique_ptr<Agent> agent_;
  std::unique_ptr<ReplayBuffer> replay_;
  std::unique_ptr<ActionNoise> noise_;
  std::unique_ptr<NStepAccumulator> nstep_;
  Rng action_rng_, replay_rng_;
  std::vector<float> action_;
  std::vector<double> obs_;
  std::vector<int64_t> indices_;
  LineLog progress_, eval_log_;
  uint64_t progress_size_ = 0, eval_size_ = 0;

  int64_t step_ = 0, episode_ = 0, episode_length_ = 0;
  double episode_return_ = 0, last_episode_return_ = 0;
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

void write_meta(const Config& cfg, const std::string& dir) {
  nlohmann::json meta = {{"ddpg_version", DDPG_VERSION},
                         {"env", cfg.env.id},
                         {"seed", cfg.trainer.seed},
                         {"torch_threads", cfg.trainer.threads}};
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
