// Trainer: the DDPG training loop over one env, with evaluation, logs and exact-resume checkpoints.
//
// Per vector step over the trainer.num_envs envs (`step` counts env steps of all envs):
//   action_i = uniform in [-1, 1]              while step < learning_starts
//            = clip(π(s_i) + noise_i, -1, 1)   afterwards (one actor pass for all envs)
//   step every env together; store (s_i, a_i, r_i, s'_i, terminated_i) in env order; on an
//   episode end reset that env and its noise
//   each time step crosses a multiple of update_every (or, with update_unit episode, the count of
//   finished episodes does), once step >= update_after (default learning_starts): gradient_steps
//   updates (-1: one per env step since the previous phase); crossing a multiple of eval_every:
//   evaluation → eval.csv; of checkpoint_every, and at the end: checkpoint → checkpoints/last.ckpt
// With one env this is the classic loop: one env step, then every update_every steps the updates.
// update_unit episode, gradient_steps -1, update_after 0 is the 2018 TD3/OurDDPG loop: at each
// episode end, as many updates as the episode had steps, from the first episode on.
//
// A run folder holds config.yaml (fully resolved), meta.json, progress.csv (one row per training
// episode), eval.csv, checkpoints/last.ckpt and the policies policy_final.bin / policy_best.bin.
// The checkpoint records how long each log was, so a run killed at any moment resumes from its last
// checkpoint with its logs cut back to match, and continues exactly as an uninterrupted run would.
#pragma once

#include <memory>
#include <string>

#include "ddpg/config.h"

namespace ddpg {

class ActorLinks;  // src/distributed.h

struct TrainOptions {
  bool show_progress = true;  // live status line on a terminal (stderr)
  bool quiet = false;         // no per-evaluation lines either
  // trainer.distributed = actors: this process is the learner of an MPI job, and these are its
  // actor ranks (which it starts and stops). A run with that setting needs them; one without
  // refuses them.
  ActorLinks* actors = nullptr;
};

struct TrainSummary {
  int64_t steps = 0;
  double final_eval_mean = 0.0, final_eval_std = 0.0;
  double best_eval_mean = 0.0;
  bool has_best = false;  // an evaluation on the schedule ran (else there is no best)
  double seconds = 0.0;
  std::string run_dir;
  // Throughput of this process's part of the run after learning started (for bench train):
  int64_t learn_steps = 0;      // env steps taken
  double learn_seconds = 0.0;   // wall time of those steps (acting, env, storing, updates)
  int64_t updates = 0;          // updates made in that time
  double update_seconds = 0.0;  // wall time inside those updates
};

// Starts a new run in `run_dir` (which must not already hold a run).
TrainSummary train_new(const Config& cfg, const std::string& run_dir, const TrainOptions& opts);
// Continues the run in `run_dir` from its last checkpoint up to `total_steps` (if given; else the
// config's). Refuses a folder without a run. Without a checkpoint, a folder that holds no results
// yet (a config only, as a sweep prepares it) starts at step 0; one that holds results (logged
// episodes, evaluations, policies) is refused unless `restart`, which starts it over from step 0.
TrainSummary train_resume(const std::string& run_dir, std::optional<int64_t> total_steps,
                          const TrainOptions& opts, bool restart = false);

// Reads a run folder's config.yaml.
Config load_run_config(const std::string& run_dir);

}  // namespace ddpg
