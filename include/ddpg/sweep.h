// Sweep: an ablation study as (config deltas × envs × seeds), one run folder each, run by parallel
// worker processes, resumable, with a manifest that the report reads.
//
// A grid file (YAML) names the study:
//
//   question: Does the exploration noise matter?   # shown in the report
//   axis: noise                                    # what the variants vary (bar chart title)
//   baseline: gaussian   # optional: the variant the report compares the others with (default:
//                        # the first)
//   envs: [Pendulum-v1, InvertedPendulum-v4]
//   seeds: [0, 1, 2]
//   preset: zoo          # optional base preset ("" or none: library defaults; default: zoo where
//                        # the env has one); or per env: {Pendulum-v1: zoo, default: ourddpg}
//   steps: 20000         # optional trainer.total_steps for every run, or per env as preset
//                        # ({Pendulum-v1: 20000, default: 300000})
//   base: {trainer: {eval_every: 2000}}   # optional deltas for every run
//   per_env:             # optional deltas for the runs of one env, applied after base
//     Pendulum-v1: {trainer: {eval_every: 1000}}
//   variants:            # name → deltas, applied after base; a variant's `preset:` replaces the
//     gaussian: {noise: {type: gaussian}}          # grid's preset for its runs
//     td3: {preset: td3}
//     ou: {noise: {type: ou, sigma: 0.2}}
//
// Runs live in OUT/<variant>/<env>/seed_<k>. A finished run (summary.json at its total steps) is
// skipped; a run with a checkpoint is resumed; others start. Each worker is a `ddpg train --resume`
// child process with one thread unless the grid sets trainer.threads. One sweep per output
// folder at a time (a lock on OUT/.lock); a grid expands to at most 10,000 runs.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ddpg/config.h"

namespace ddpg {

struct SweepOptions {
  std::string grid_file;
  std::string out;
  int jobs = 0;  // 0: number of cores
  bool dry_run = false;
  std::vector<std::string> envs;      // override the grid's envs
  std::vector<uint64_t> seeds;        // override the grid's seeds
  std::optional<int64_t> steps;       // override the grid's steps
  std::vector<std::string> sets;      // section.key=value for every run
  std::vector<std::string> variants;  // run only these variants
  bool quiet = false;
  std::string self_exe;  // the ddpg binary that runs the workers
};

struct SweepRun {
  std::string variant, env;
  uint64_t seed = 0;
  std::string dir;
  Config config;
  std::string status;  // done, partial, new
};

// Expands the grid (with overrides) into runs and resolves every config; throws Error listing all
// problems.
std::vector<SweepRun> plan_sweep(const SweepOptions& opts);
// Workers beyond this process's own child processes (the MPI ranks of a distributed sweep,
// sweep_mpi.h): run_sweep hands them runs as they ask for them and records what they report.
class RemoteWorkers {
 public:
  struct Report {
    int worker = -1;
    int64_t run = -1;  // the run it finished, -1 when it only asks for one
    int status = 0;    // the `ddpg train` child's exit status (0: done)
    bool interrupted = false;
  };
  virtual ~RemoteWorkers() = default;
  // A report from a worker that is now idle, if one came (does not block).
  virtual std::optional<Report> poll() = 0;
  // A worker that has reported and waits for a run, if any.
  virtual std::optional<int> idle_worker() const = 0;
  // Workers running a run now.
  virtual int busy() const = 0;
  // Gives idle `worker` run number `run` (its folder and steps).
  virtual void assign(int worker, int64_t run, const SweepRun& r) = 0;
  // Asks every busy worker to stop its run (it checkpoints and reports it partial).
  virtual void interrupt() = 0;
  // Tells every worker that no more runs will come, once it is idle (blocks until all were told).
  virtual void finish() = 0;
};

// Runs the sweep; returns the number of failed runs. With `remote`, its workers take runs from
// the same queue beside the `jobs` local ones.
int run_sweep(const SweepOptions& opts, RemoteWorkers* remote = nullptr);
// Runs one sweep run as a `ddpg train --resume DIR --restart --steps N -q` child of this process
// (its output appended to DIR/train.log); returns its pid.
pid_t start_sweep_child(const std::string& self_exe, const std::string& dir, int64_t steps);

}  // namespace ddpg
