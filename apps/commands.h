// The `ddpg` subcommands, one function each; main.cpp wires them to the command line.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "ddpg/bench.h"
#include "ddpg/config.h"
#include "ddpg/render.h"
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
  std::string per_episode;  // CSV file of each episode's return, length and ending; "" none
};
int cmd_eval(const EvalArgs& args);

struct ExportArgs {
  std::string run_dir;
  std::string which = "final";  // final or best
  std::string format = "onnx";  // the only format so far
  std::string out;              // "": RUN/policy.onnx (final) or RUN/policy_best.onnx (best)
};
// Writes a run's policy as one self-contained model file: observations in the env's units in,
// actions in the env's units out (onnx_export.h, docs/deploy.md).
int cmd_export(const ExportArgs& args);

struct RolloutArgs {
  std::string env_id;
  uint64_t seed = 0;
  std::vector<std::string> sets;  // env.KEY=VALUE
  std::string actions_file;
};
int cmd_rollout(const RolloutArgs& args);

// Draws a run's policy, or an env under random actions, into a .png strip, .gif or .mp4
// (render.h, docs/render.md).
struct RenderArgs {
  std::string run_dir;        // a run folder; or "" with env_id
  std::string env_id;         // without a run: this env, with random actions
  bool zero_actions = false;  // with env_id: the middle of the action bounds instead
  std::string which = "final";
  std::string out;
  std::optional<uint64_t> seed;  // default: the run's evaluation seed (0 with env_id)
  RenderOptions options;
};
int cmd_render(const RenderArgs& args);

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
  bool media = true;     // render each env's best policy into OUT/media (`ddpg render`)
  std::string self_exe;  // this binary, which the report script runs for the pictures
};
int cmd_report(const std::vector<std::string>& paths, const ReportOptions& opts);

}  // namespace ddpg::cli
