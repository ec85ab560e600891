// RunFiles and StatusLine: see run_files.h.
#include "src/run_files.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <thread>

#include "ddpg/build_info.h"

namespace ddpg {
namespace {

const char* kProgressHeader =
    "step,episode,return,length,critic_loss,actor_loss,mean_q,updates,param_noise_sigma,"
    "param_noise_distance,steps_per_s,time_s";
const char* kEvalHeader = "step,mean_return,std_return,episodes,mean_length";

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

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

}  // namespace

nlohmann::json provenance(const Config& cfg) {
  const BuildInfo& b = build_info();
  return {{"commit", b.commit},
          {"commit_dirty", b.dirty},
          {"build_type", b.build_type},
          {"compiler", b.compiler},
          {"cpu", cpu_model()},
          {"cores", std::thread::hardware_concurrency()},
          {"threads", cfg.trainer.threads > 0 ? cfg.trainer.threads
                      : cfg.trainer.distributed == "actors"
                          ? 1  // (the learner: one rank per core)
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

void RunFiles::start_logs() {
  progress_.open(dir_ + "/progress.csv", kProgressHeader);
  eval_.open(dir_ + "/eval.csv", kEvalHeader);
}

void RunFiles::reopen_logs(uint64_t progress_size, uint64_t eval_size) {
  start_logs();
  progress_.truncate_to(progress_size);
  eval_.truncate_to(eval_size);
}

void RunFiles::write_checkpoint(ArchiveWriter& out) const {
  write_file_atomic(checkpoint_path(), out.finish());
}

void RunFiles::save_policy(const std::string& which, Agent& agent, const EnvSpec& env) const {
  ddpg::save_policy(dir_ + "/policy_" + which + ".bin", agent, env);
}

void RunFiles::record_segment(const Config& cfg, int64_t from_step, int64_t to_step, double seconds,
                              double total_seconds, bool finished) const {
  const std::string path = dir_ + "/meta.json";
  nlohmann::json meta;
  try {
    meta = nlohmann::json::parse(read_file(path));
  } catch (const std::exception&) {
    meta = nlohmann::json::object();  // missing or unreadable: rebuilt from what is known
  }
  if (!meta.is_object()) meta = nlohmann::json::object();
  if (!meta.contains("env")) meta["env"] = cfg.env.id;
  if (!meta.contains("seed")) meta["seed"] = cfg.trainer.seed;
  if (!meta.contains("segments") || !meta["segments"].is_array()) {
    meta["segments"] = nlohmann::json::array();
  }
  nlohmann::json seg = provenance(cfg);
  seg["from_step"] = from_step;
  seg["to_step"] = to_step;
  seg["seconds"] = seconds;
  seg["ended_utc"] = utc_now();
  seg["finished"] = finished;
  meta["segments"].push_back(seg);
  meta["wall_seconds"] = total_seconds;
  write_file_atomic(path, meta.dump(2) + "\n");
}

void RunFiles::write_summary(const TrainSummary& s) const {
  // best_eval_mean is null when no evaluation ran on the schedule (eval_every 0)
  const nlohmann::json js = {
      {"steps", s.steps},
      {"final_eval_mean", s.final_eval_mean},
      {"final_eval_std", s.final_eval_std},
      {"best_eval_mean", s.has_best ? nlohmann::json(s.best_eval_mean) : nlohmann::json()},
      {"seconds", s.seconds}};
  write_file_atomic(dir_ + "/summary.json", js.dump(2) + "\n");
}

void StatusLine::print(const std::string& env_id, int64_t step, int64_t total_steps, double seconds,
                       bool have_episode, double last_return, int64_t last_eval_step,
                       double last_eval, bool live) {
  const double dt = seconds - secs_;
  if (dt > 0) {
    const double inst = (step - step_) / dt;
    const double w = std::min(1.0, dt / 3.0);
    rate_ = rate_ > 0 ? (1 - w) * rate_ + w * inst : inst;
  }
  secs_ = seconds;
  step_ = step;
  const double eta = rate_ > 0 ? (total_steps - step) / rate_ : NAN;
  const double pct = 100.0 * step / total_steps;
  std::string line = "\r[" + env_id + "] step " + std::to_string(step) + "/" +
                     std::to_string(total_steps) + " (" + fmt("%.0f", pct) + "%)  " +
                     fmt("%.0f", rate_) + " steps/s  ETA " + format_duration(eta);
  if (have_episode) line += "  last episode " + fmt("%.1f", last_return);
  if (last_eval_step >= 0) {
    line += "  eval " + fmt("%.1f", last_eval) + " @" + std::to_string(last_eval_step);
  }
  line += "\x1b[K";
  if (!live) line += "\n";
  std::fputs(line.c_str(), stderr);
  std::fflush(stderr);
}

}  // namespace ddpg
