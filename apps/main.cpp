// `ddpg`: the command line of the project. Each subcommand is one function in commands.cpp.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <sstream>

#include "apps/commands.h"
#include "ddpg/io.h"

namespace {

void add_config_options(CLI::App* cmd, ddpg::ConfigSources& src) {
  cmd->add_option("--env", src.env_id, "env id (see 'ddpg envs'); default Pendulum-v1");
  cmd->add_option("--preset", src.preset,
                  "preset: zoo (default where the env has one), paper, ourddpg, none");
  cmd->add_option("--config", src.files, "YAML file(s) of config deltas, applied in order");
  cmd->add_option("--set", src.sets, "override one key: section.key=value (repeatable)");
  cmd->add_option_function<uint64_t>(
      "--seed", [&src](const uint64_t& s) { src.seed = s; }, "run seed (trainer.seed)");
  cmd->add_option_function<int64_t>(
      "--steps", [&src](const int64_t& n) { src.total_steps = n; },
      "total env steps (trainer.total_steps)");
}

// The running binary, so that sweep workers run the same build.
std::string self_path() {
  char buf[4096];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) throw ddpg::Error("cannot find the running binary (/proc/self/exe)");
  return std::string(buf, n);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ddpg: DDPG-family reinforcement learning in C++"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("ddpg ") + DDPG_VERSION);

  ddpg::cli::TrainArgs train;
  auto* t = app.add_subcommand("train", "train an agent (default: Pendulum-v1, zoo preset)");
  add_config_options(t, train.sources);
  t->add_option("--out", train.out, "run folder (default runs/ENV_PRESET_sSEED_TIME)");
  t->add_option("--resume", train.resume, "continue the run in this folder from its checkpoint");
  t->add_flag("--quiet,-q", train.quiet, "no progress output");

  ddpg::cli::EvalArgs eval;
  auto* e = app.add_subcommand("eval", "evaluate a run's policy without noise");
  e->add_option("run_dir", eval.run_dir, "run folder")->required();
  e->add_option("--episodes", eval.episodes, "episodes")->check(CLI::PositiveNumber);
  e->add_option("--which", eval.which, "final or best");
  e->add_option_function<uint64_t>(
      "--seed", [&eval](const uint64_t& s) { eval.seed = s; },
      "seed of the first evaluation episode");

  bool envs_json = false;
  auto* envs = app.add_subcommand("envs", "list env ids with their sizes and bounds");
  envs->add_flag("--json", envs_json, "print a JSON array");

  ddpg::cli::RolloutArgs rollout;
  auto* ro = app.add_subcommand(
      "rollout", "step an env from reset(seed) through actions from a CSV; print a CSV trajectory");
  ro->add_option("env", rollout.env_id, "env id")->required();
  ro->add_option("--seed", rollout.seed, "reset seed");
  ro->add_option("--set", rollout.sets, "env option env.KEY=VALUE (repeatable)");
  ro->add_option("--actions", rollout.actions_file, "CSV: one row per step, one column per action")
      ->required();

  ddpg::ConfigSources show;
  auto* cfg = app.add_subcommand("config", "print the fully resolved config and exit");
  add_config_options(cfg, show);

  auto* bench = app.add_subcommand("bench", "benchmarks, printed as name=value lines");
  bench->require_subcommand(1);
  auto parse_hidden = [](const std::string& text) {
    std::vector<int> out;
    std::stringstream ss(text);
    std::string item;
    while (std::getline(ss, item, ',')) {
      try {
        size_t used = 0;
        const int h = std::stoi(item, &used);
        if (used != item.size() || h <= 0) throw std::invalid_argument(item);
        out.push_back(h);
      } catch (const std::exception&) {
        throw ddpg::Error("--hidden '" + text +
                          "' must be positive sizes separated by commas, e.g. 256,256");
      }
    }
    return out;
  };
  double peak_seconds = 1.0;
  int peak_threads = 0;
  auto* bp = bench->add_subcommand("peak", "the FP32 multiply-add peak per core and for all cores");
  bp->add_option("--seconds", peak_seconds, "measuring time per figure");
  bp->add_option("--threads", peak_threads, "cores measured together (default all)");

  ddpg::UpdateBenchOptions ub;
  std::string hidden = "256,256";
  auto* bu = bench->add_subcommand("update", "one DDPG update beside its matrix-multiply floor");
  bu->add_option("--hidden", hidden, "hidden sizes, e.g. 256,256");
  bu->add_option("--batch", ub.batch, "batch size");
  bu->add_option("--threads", ub.threads, "cores (at most --shards)");
  bu->add_option("--shards", ub.shards, "batch shards (agent.batch_shards)");
  bu->add_option("--critics", ub.critics, "critics (TD3: 2)");
  bu->add_option("--obs-dim", ub.obs_dim, "observation size");
  bu->add_option("--act-dim", ub.act_dim, "action size");
  bu->add_option("--seconds", ub.seconds, "measuring time per figure");

  ddpg::ActBenchOptions ab;
  std::string act_hidden = "256,256";
  auto* ba =
      bench->add_subcommand("act", "one action for one observation, beside LibTorch's forward");
  ba->add_option("--hidden", act_hidden, "hidden sizes");
  ba->add_option("--obs-dim", ab.obs_dim, "observation size");
  ba->add_option("--act-dim", ab.act_dim, "action size");
  ba->add_option("--seconds", ab.seconds, "measuring time per figure");

  std::string bench_env_id;
  double bench_env_seconds = 3.0;
  int bench_env_n = 1, bench_env_threads = 0;
  auto* be = bench->add_subcommand("env", "env steps/s beside the raw mj_step rate of its model");
  be->add_option("env", bench_env_id, "env id")->required();
  be->add_option("--seconds", bench_env_seconds, "measuring time per figure");
  be->add_option("--num-envs", bench_env_n, "envs stepped together (beside one env)");
  be->add_option("--threads", bench_env_threads, "threads for --num-envs (default all cores)");

  ddpg::TrainBenchOptions tb;
  std::string train_hidden = "256,256";
  auto* bt = bench->add_subcommand("train", "whole-loop steps/s beside the update-bound rate");
  bt->add_option("env", tb.env_id, "env id")->required();
  bt->add_option("--steps", tb.steps, "env steps in all");
  bt->add_option("--learning-starts", tb.learning_starts, "random steps before the timed part");
  bt->add_option("--hidden", train_hidden, "hidden sizes");
  bt->add_option("--batch", tb.batch, "batch size");
  bt->add_option("--threads", tb.threads, "cores (0 all)");
  bt->add_option("--update-every", tb.update_every, "env steps between update phases");
  bt->add_option("--gradient-steps", tb.gradient_steps, "updates per phase");
  bt->add_option("--num-envs", tb.num_envs, "envs stepped together");
  bt->add_option("--set", tb.sets, "section.key=value (repeatable)");

  std::string model_env;
  auto* model = app.add_subcommand("model", "print the MJCF model a MuJoCo env uses");
  model->add_option("env", model_env, "env id")->required();

  ddpg::SweepOptions sweep;
  std::string sweep_envs, sweep_seeds, sweep_variants;
  auto* sw = app.add_subcommand("sweep", "run a grid of (variants x envs x seeds), resumably");
  sw->add_option("grid", sweep.grid_file, "grid YAML (see configs/ablations)")->required();
  sw->add_option("--out", sweep.out, "sweep folder")->required();
  sw->add_option("--jobs", sweep.jobs, "parallel runs (default: number of cores)");
  sw->add_flag("--dry-run", sweep.dry_run, "list the runs and their status, run nothing");
  sw->add_option("--envs", sweep_envs, "comma-separated env ids (replace the grid's)");
  sw->add_option("--seeds", sweep_seeds, "comma-separated seeds (replace the grid's)");
  sw->add_option("--variants", sweep_variants, "comma-separated variants to run (default all)");
  sw->add_option_function<int64_t>(
      "--steps", [&sweep](const int64_t& n) { sweep.steps = n; }, "total steps of every run");
  sw->add_option("--set", sweep.sets, "section.key=value for every run (repeatable)");
  sw->add_flag("--quiet,-q", sweep.quiet, "no progress output");
  int64_t estimate_steps = 0;
  sw->add_option("--estimate", estimate_steps,
                 "run nothing: time N learning steps of each distinct config and print the "
                 "grid's estimated core-hours (e.g. --estimate 3000)")
      ->check(CLI::Range(int64_t{100}, int64_t{1000000}));

  std::vector<std::string> report_paths;
  ddpg::cli::ReportOptions report_opts;
  auto* rep = app.add_subcommand("report", "figures and a Markdown summary of a sweep or runs");
  rep->add_option("paths", report_paths, "sweep folder(s) or run folders")->required();
  rep->add_option("--out", report_opts.out, "output folder (default SWEEP/report or ./report)");
  rep->add_option("--anchors", report_opts.anchors,
                  "published numbers to draw beside ours (default: the shipped "
                  "configs/benchmarks/anchors.yaml; 'none' for none)");
  rep->add_option("--title", report_opts.title, "the report's title");
  rep->add_flag("--include-unfinished", report_opts.include_unfinished,
                "also report runs that have not reached their total steps");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& err) {
    return app.exit(err);
  }

  try {
    if (*t) return ddpg::cli::cmd_train(train);
    if (*e) return ddpg::cli::cmd_eval(eval);
    if (*sw) {
      auto split = [](const std::string& text) {
        std::vector<std::string> out;
        std::stringstream ss(text);
        std::string item;
        while (std::getline(ss, item, ',')) {
          if (!item.empty()) out.push_back(item);
        }
        return out;
      };
      sweep.envs = split(sweep_envs);
      sweep.variants = split(sweep_variants);
      for (const auto& s : split(sweep_seeds)) sweep.seeds.push_back(std::stoull(s));
      sweep.self_exe = self_path();
      if (estimate_steps > 0) return ddpg::cli::cmd_sweep_estimate(sweep, estimate_steps);
      return ddpg::cli::cmd_sweep(sweep);
    }
    if (*rep) return ddpg::cli::cmd_report(report_paths, report_opts);
    if (*be) {
      ddpg::cli::print_figures(
          ddpg::bench_env(bench_env_id, bench_env_seconds, bench_env_n, bench_env_threads));
      return 0;
    }
    if (*bp) {
      ddpg::cli::print_figures(ddpg::bench_peak(peak_seconds, peak_threads));
      return 0;
    }
    if (*ba) {
      ab.hidden = parse_hidden(act_hidden);
      ddpg::cli::print_figures(ddpg::bench_act(ab));
      return 0;
    }
    if (*bt) {
      tb.hidden = parse_hidden(train_hidden);
      ddpg::cli::print_figures(ddpg::bench_train(tb));
      return 0;
    }
    if (*model) return ddpg::cli::cmd_model(model_env);
    if (*ro) return ddpg::cli::cmd_rollout(rollout);
    if (*envs) return ddpg::cli::cmd_envs(envs_json);
    if (*cfg) return ddpg::cli::cmd_config(show);
    if (*bu) {
      ub.hidden = parse_hidden(hidden);
      return ddpg::cli::cmd_bench_update(ub);
    }
  } catch (const ddpg::Error& err) {
    std::fprintf(stderr, "error: %s\n", err.what());
    return 1;
  } catch (const std::exception& err) {
    std::fprintf(stderr, "error: %s\n", err.what());
    return 1;
  }
  return 0;
}
