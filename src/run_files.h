// RunFiles: everything the training loop writes into its run folder (trainer.h lists the files) —
// the CSV logs, the checkpoint file, meta.json's provenance segments, summary.json and the policy
// files — and StatusLine, the live progress line. Private to the trainer.
#pragma once

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "ddpg/agent.h"
#include "ddpg/config.h"
#include "ddpg/dir_lock.h"
#include "ddpg/io.h"
#include "ddpg/trainer.h"

namespace ddpg {

// What produced a process's part of a run: the binary's commit and build, the CPU and threads.
nlohmann::json provenance(const Config& cfg);
// meta.json of a new run: version, env, seed, start time, provenance, no segments yet.
void write_meta(const Config& cfg, const std::string& dir);

// One writer per run folder: see ddpg/dir_lock.h.
using RunLock = DirLock;

class RunFiles {
 public:
  explicit RunFiles(std::string dir) : dir_(std::move(dir)) {}
  const std::string& dir() const { return dir_; }
  std::string checkpoint_path() const { return dir_ + "/checkpoints/last.ckpt"; }

  // A fresh run's logs: progress.csv and eval.csv with their headers only.
  void start_logs();
  // A resumed run's logs, cut back to the lengths its checkpoint recorded.
  void reopen_logs(uint64_t progress_size, uint64_t eval_size);
  void progress_row(const std::string& row) { progress_.append(row); }
  void eval_row(const std::string& row) { eval_.append(row); }
  uint64_t progress_size() const { return progress_.size(); }
  uint64_t eval_size() const { return eval_.size(); }

  void write_checkpoint(ArchiveWriter& out) const;
  std::string read_checkpoint() const { return read_file(checkpoint_path()); }
  void save_policy(const std::string& which, Agent& agent,
                   const EnvSpec& env) const;  // policy_<which>.bin

  // Appends this process's segment (steps, wall time, provenance) to meta.json, whose
  // wall_seconds is then the run's total over all its processes.
  void record_segment(const Config& cfg, int64_t from_step, int64_t to_step, double seconds,
                      double total_seconds, bool finished) const;
  // summary.json: marks a finished run (sweeps skip it) and holds its headline figures.
  void write_summary(const TrainSummary& s) const;

 private:
  std::string dir_;
  LineLog progress_, eval_;
};

// The live status line on a terminal: step, rate, ETA, last episode and evaluation. The rate is an
// exponential average over the last few seconds, so that the fast random-action phase does not
// make the ETA optimistic.
class StatusLine {
 public:
  void start(int64_t step) { step_ = step; }
  // `live`: rewrite the line in place; else end it with a newline.
  void print(const std::string& env_id, int64_t step, int64_t total_steps, double seconds,
             bool have_episode, double last_return, int64_t last_eval_step, double last_eval,
             bool live);

 private:
  double secs_ = 0, rate_ = 0;
  int64_t step_ = 0;
};

}  // namespace ddpg
