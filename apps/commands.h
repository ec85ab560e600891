// The `ddpg` subcommands, one function each; main.cpp wires them to the command line.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "ddpg/bench.h"
#include "ddpg/config.h"
#include "ddpg/sweep.h"

namespace ddpg::cli {

struct TrainArgs {
  ConfigSources sources;
  std::string out;
  std::string resume;
  bool restart = false;  // --restart: a --resume without checkpoint starts over
  bool quiet = false;
};
int cmd_train(const TrainArgs& args);

struct EvalArgs {
  std::string run_dir;
  int episodes = 10;
  std::string which = "final";  // final or best
  std::optional<uint64_t> seed;
};
int cmd_eval(const EvalArgs& args);

struct RolloutArgs {
  std::string env_id;
  uint64_t seed = 0;
  std::vector<std::string> sets;  // env.KEY=VALUE
  std::string actions_file;
};
int cmd_rollout(const RolloutArgs& args);

int cmd_envs(bool json);
int cmd_bench_update(const UpdateBenchOptions& opts);
void print_figures(const BenchFigures& figures);
int cmd_model(const std::string& env_id);
int cmd_config(const ConfigSources& sources);
int cmd_sweep(const SweepOptions& opts);
// Measures each distinct config of the grid briefly (`timed_steps` learning steps, on its own
// threads) and prints the estimated hours per run and core-hours of the whole grid and of its
// unfinished runs.
int cmd_sweep_estimate(const SweepOptions& opts, int64_t timed_steps);
struct ReportOptions {
  std::string out;      // output folder; "" for SWEEP/report or ./report
  std::string anchors;  // anchors file; "" for the shipped one, "none" for none
  std::string title;
  bool include_unfinished = false;
};
int cmd_report(const std::vector<std::string>& paths, const ReportOptions& opts);

}  // namespace ddpg::cli
