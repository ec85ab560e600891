// `ddpg`: the command line of the project. Each subcommand is one function in commands.cpp.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <sstream>

#include "apps/commands.h"
#include "ddpg/config.h"
#include "ddpg/io.h"

namespace {

// Number checks whose messages state the rule (CLI11's PositiveNumber prints its double range).
CLI::Validator number_check(bool zero_ok) {
  return CLI::Validator(
      [zero_ok](std::string& v) -> std::string {
        try {
          size_t used = 0;
          const double x = std::stod(v, &used);
          if (used == v.size() && (x > 0 || (zero_ok && x == 0))) return "";
        } catch (const std::exception&) {
        }
        return std::string("must be a ") + (zero_ok ? "non-negative" : "positive") +
               " number, got '" + v + "'";
      },
      zero_ok ? "NONNEGATIVE" : "POSITIVE");
}
const CLI::Validator kPositive = number_check(false);
const CLI::Validator kNonNegative = number_check(true);

// A seed: an integer from 0 to 2^63-1 on every path (the config file, --set, --seed, sweeps).
CLI::Validator seed_check() {
  return CLI::Validator(
      [](std::string& v) -> std::string {
        const bool digits =
            !v.empty() && v.size() <= 19 && std::all_of(v.begin(), v.end(), [](char c) {
              return std::isdigit(static_cast<unsigned char>(c));
            });
        if (digits && std::stoull(v) <= static_cast<uint64_t>(INT64_MAX)) return "";
        return "must be an integer from 0 to 2^63-1, got '" + v + "'";
      },
      "SEED");
}

// The presets a run can name ("none": the library's defaults).
std::vector<std::string> preset_choices() {
  std::vector<std::string> names = ddpg::preset_names();
  names.push_back("none");
  return names;
}

void add_config_options(CLI::App* cmd, ddpg::ConfigSources& src) {
  cmd->add_option("--env", src.env_id, "env id (see 'ddpg envs'); default Pendulum-v1");
  cmd->add_option("--preset", src.preset,
                  "preset: zoo (default where the env has one), paper, ourddpg, td3, none")
      ->check(CLI::IsMember(preset_choices()));
  cmd->add_option("--config", src.files, "YAML file(s) of config deltas, applied in order")
      ->check(CLI::ExistingFile);
  cmd->add_option("--set", src.sets, "override one key: section.key=value (repeatable)");
  cmd->add_option_function<int64_t>(
         "--seed", [&src](const int64_t& s) { src.seed = static_cast<uint64_t>(s); },
         "run seed (trainer.seed), 0 to 2^63-1")
      ->check(seed_check());
  cmd->add_option_function<int64_t>(
         "--steps", [&src](const int64_t& n) { src.total_steps = n; },
         "total env steps (trainer.total_steps)")
      ->check(kPositive);
}

// A short flag that is an alias of `--set key=VALUE` (collected in `aliases`); with `list`, the
// value is comma-separated sizes, e.g. --hidden 256,256 → agent.hidden=[256,256].
void add_set_alias(CLI::App* cmd, std::vector<std::string>& aliases, const std::string& flag,
                   const std::string& key, const std::string& help, bool list = false) {
  cmd->add_option_function<std::string>(
      flag,
      [&aliases, key, list, flag](const std::string& v) {
        if (!list) {
          aliases.push_back(key + "=" + v);
          return;
        }
        for (char ch : v) {
          if (!std::isdigit(static_cast<unsigned char>(ch)) && ch != ',') {
            throw CLI::ValidationError(
                flag, "'" + v + "' must be positive sizes separated by commas, e.g. 256,256");
          }
        }
        aliases.push_back(key + "=[" + v + "]");
      },
      help + " (alias of --set " + key + "=...)");
}

// A benchmark's config sources (see bench.h): --env, --preset, --config, --set, and short flags
// that are aliases of --set, collected in `aliases` and applied before the --set options.
void add_bench_config(CLI::App* cmd, ddpg::ConfigSources& src, std::vector<std::string>& aliases,
                      bool env_positional) {
  if (env_positional) {
    cmd->add_option("env,--env", src.env_id, "env id (also as --env)")->required();
  } else {
    cmd->add_option("--env", src.env_id, "env whose sizes (and zoo preset) to take");
  }
  cmd->add_option("--preset", src.preset, "preset (default: the benchmark's reference sizes)")
      ->check(CLI::IsMember(preset_choices()));
  cmd->add_option("--config", src.files, "YAML file(s) of config deltas")->check(CLI::ExistingFile);
  cmd->add_option("--set", src.sets, "section.key=value (repeatable; after the aliases)");
  add_set_alias(cmd, aliases, "--hidden", "agent.hidden", "hidden sizes, e.g. 256,256", true);
  add_set_alias(cmd, aliases, "--batch", "agent.batch_size", "batch size");
  add_set_alias(cmd, aliases, "--critics", "agent.n_critics", "critics (TD3: 2)");
  add_set_alias(cmd, aliases, "--shards", "agent.batch_shards", "batch shards");
  add_set_alias(cmd, aliases, "--threads", "trainer.threads", "cores (0: all)");
}

// Levenshtein distance, for "did you mean".
size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t prev = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t cur = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] == b[j - 1] ? 0 : 1)});
      prev = cur;
    }
  }
  return row[b.size()];
}

// A word where `app` expects one of its subcommands: nothing if it is one, else the message.
std::string unknown_subcommand(const CLI::App& app, const std::string& word,
                               const std::string& where) {
  std::vector<std::string> names;
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    names.push_back(sub->get_name());
  }
  if (std::find(names.begin(), names.end(), word) != names.end()) return "";
  std::string best, list;
  size_t best_d = 3;  // suggest only close matches
  for (const auto& n : names) {
    list += (list.empty() ? "" : ", ") + n;
    const size_t d = edit_distance(word, n);
    if (d < best_d) {
      best_d = d;
      best = n;
    }
  }
  return "unknown " + where + " '" + word + "'" +
         (best.empty() ? "" : " (did you mean '" + best + "'?)") + "; the " + where +
         "s are: " + list;
}

// bench update/act: the network's sizes without an env, and the measuring time.
void add_sizes_and_time(CLI::App* cmd, int& obs_dim, int& act_dim, double& seconds) {
  cmd->add_option("--obs-dim", obs_dim, "observation size (without --env)")->check(kPositive);
  cmd->add_option("--act-dim", act_dim, "action size (without --env)")->check(kPositive);
  cmd->add_option("--seconds", seconds, "measuring time per figure")->check(kPositive);
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
  t->add_option("--resume", train.resume,
                "continue the run in this folder from its checkpoint; only --steps (a new total) "
                "and -q may change, the options that define the run are refused");
  t->add_flag("--restart", train.restart,
              "with --resume: a run that has results but no checkpoint starts over from step 0");
  t->add_flag("--quiet,-q", train.quiet, "no progress output");

  ddpg::cli::EvalArgs eval;
  auto* e = app.add_subcommand("eval", "evaluate a run's policy without noise");
  e->add_option("run_dir", eval.run_dir, "run folder")->required()->check(CLI::ExistingDirectory);
  e->add_option("--episodes", eval.episodes, "episodes")->check(kPositive);
  e->add_option("--which", eval.which, "final or best")->check(CLI::IsMember({"final", "best"}));
  e->add_option_function<int64_t>(
       "--seed", [&eval](const int64_t& s) { eval.seed = static_cast<uint64_t>(s); },
       "seed of the first evaluation episode, 0 to 2^63-1")
      ->check(seed_check());
  e->add_option("--per-episode", eval.per_episode,
                "also write each episode's return, length and ending (terminated or truncated) "
                "to this CSV file");

  ddpg::cli::ExportArgs exp;
  auto* ex = app.add_subcommand(
      "export", "write a run's policy as an ONNX model (env units in and out; docs/deploy.md)");
  ex->add_option("run_dir", exp.run_dir, "run folder")->required();
  ex->add_option("--which", exp.which, "final (default) or best");
  ex->add_option("--format", exp.format, "model format: onnx (default, the only one)");
  ex->add_option("--out", exp.out, "file to write (default RUN/policy.onnx, or policy_best.onnx)");

  ddpg::cli::RenderArgs rend;
  auto* rd = app.add_subcommand(
      "render", "draw a run's policy (or an env under random actions) into a .png, .gif or .mp4");
  rd->add_option("run_dir", rend.run_dir, "run folder (or --env)")->check(CLI::ExistingDirectory);
  rd->add_option("--env", rend.env_id, "draw this env under random actions instead of a run");
  rd->add_flag("--zero-actions", rend.zero_actions,
               "with --env: the middle of the action bounds instead of random actions");
  rd->add_option("--out", rend.out,
                 "file to write: .png (a strip of frames of the first episode), .gif, or .mp4 "
                 "(needs ffmpeg)")
      ->required();
  rd->add_option("--which", rend.which, "final (default) or best")
      ->check(CLI::IsMember({"final", "best"}));
  rd->add_option("--episodes", rend.options.episodes, "episodes, one after another (default 1)")
      ->check(kPositive);
  rd->add_option_function<int64_t>(
        "--seed", [&rend](const int64_t& s) { rend.seed = static_cast<uint64_t>(s); },
        "seed of the first episode (default: the run's evaluation seed; 0 with --env)")
      ->check(seed_check());
  rd->add_option("--width", rend.options.width,
                 "frame width in pixels (default 480; 240 per strip frame)")
      ->check(kPositive);
  rd->add_option("--height", rend.options.height,
                 "frame height in pixels (default 360; 180 per strip frame)")
      ->check(kPositive);
  rd->add_option("--fps", rend.options.fps,
                 "animation frames per second (default the env's rate, at most 30); every n-th "
                 "state is drawn, so the animation plays in real time")
      ->check(kPositive);
  rd->add_option("--frames", rend.options.frames, "frames of a .png strip (default 6)")
      ->check(kPositive);
  rd->add_option("--max-steps", rend.options.max_steps,
                 "steps per episode at most (default the env's time limit)")
      ->check(kPositive);
  rd->add_option("--max-frames", rend.options.max_frames,
                 "animation frames at most: fewer states are drawn (a lower frame rate)")
      ->check(kPositive);
  rd->add_flag("--quiet,-q", rend.options.quiet, "print nothing when done");

  bool envs_json = false;
  auto* envs = app.add_subcommand("envs", "list env ids with their sizes and bounds");
  envs->add_flag("--json", envs_json, "print a JSON array");

  ddpg::cli::RolloutArgs rollout;
  auto* ro = app.add_subcommand(
      "rollout", "step an env from reset(seed) through actions from a CSV; print a CSV trajectory");
  ro->add_option("env,--env", rollout.env_id, "env id (also as --env)")->required();
  ro->add_option("--seed", rollout.seed, "reset seed");
  ro->add_option("--set", rollout.sets, "env option env.KEY=VALUE (repeatable)");
  ro->add_option("--actions", rollout.actions_file, "CSV: one row per step, one column per action")
      ->required()
      ->check(CLI::ExistingFile);

  ddpg::ConfigSources show;
  auto* cfg = app.add_subcommand("config", "print the fully resolved config and exit");
  add_config_options(cfg, show);

  auto* bench = app.add_subcommand("bench", "benchmarks, printed as name=value lines");
  bench->require_subcommand(1);
  double peak_seconds = 1.0;
  int peak_threads = 0;
  auto* bp = bench->add_subcommand("peak", "the FP32 multiply-add peak per core and for all cores");
  bp->add_option("--seconds", peak_seconds, "measuring time per figure")->check(kPositive);
  bp->add_option("--threads", peak_threads, "cores measured together (default all)")
      ->check(kNonNegative);

  ddpg::UpdateBenchOptions ub;
  std::vector<std::string> ub_aliases;
  auto* bu = bench->add_subcommand("update", "one DDPG update beside its matrix-multiply floor");
  add_bench_config(bu, ub.sources, ub_aliases, false);
  add_sizes_and_time(bu, ub.obs_dim, ub.act_dim, ub.seconds);

  ddpg::GemmBenchOptions gb;
  std::vector<std::string> gb_aliases;
  auto* bg = bench->add_subcommand(
      "gemm", "the update's matrix multiplies one by one, on every path the CPU can run");
  add_bench_config(bg, gb.sources, gb_aliases, false);
  add_sizes_and_time(bg, gb.obs_dim, gb.act_dim, gb.seconds);

  ddpg::ActBenchOptions ab;
  std::vector<std::string> ab_aliases;
  auto* ba = bench->add_subcommand("act", "one action for one observation (the float kernels)");
  add_bench_config(ba, ab.sources, ab_aliases, false);
  add_sizes_and_time(ba, ab.obs_dim, ab.act_dim, ab.seconds);

  std::string bench_env_id;
  double bench_env_seconds = 3.0;
  int bench_env_n = 1, bench_env_threads = 0;
  auto* be = bench->add_subcommand("env", "env steps/s beside the raw mj_step rate of its model");
  be->add_option("env,--env", bench_env_id, "env id (also as --env)")->required();
  be->add_option("--seconds", bench_env_seconds, "measuring time per figure")->check(kPositive);
  be->add_option("--num-envs", bench_env_n, "envs stepped together (beside one env)")
      ->check(kPositive);
  be->add_option("--threads", bench_env_threads, "threads for --num-envs (default all cores)")
      ->check(kNonNegative);

  ddpg::TrainBenchOptions tb;
  std::vector<std::string> tb_aliases;
  auto* bt = bench->add_subcommand("train", "whole-loop steps/s beside the update-bound rate");
  add_bench_config(bt, tb.sources, tb_aliases, true);
  bt->add_option_function<int64_t>(
        "--steps", [&tb](const int64_t& n) { tb.sources.total_steps = n; },
        "env steps in all (default 15000)")
      ->check(kPositive);
  add_set_alias(bt, tb_aliases, "--learning-starts", "trainer.learning_starts",
                "random steps before the timed part");
  add_set_alias(bt, tb_aliases, "--update-every", "trainer.update_every",
                "env steps between update phases");
  add_set_alias(bt, tb_aliases, "--gradient-steps", "trainer.gradient_steps", "updates per phase");
  add_set_alias(bt, tb_aliases, "--num-envs", "trainer.num_envs", "envs stepped together");

  std::string model_env;
  auto* model = app.add_subcommand("model", "print the MJCF model a MuJoCo env uses");
  model->add_option("env,--env", model_env, "env id (also as --env)")->required();

  ddpg::SweepOptions sweep;
  std::string sweep_envs, sweep_seeds, sweep_variants;
  auto* sw = app.add_subcommand("sweep", "run a grid of (variants x envs x seeds), resumably");
  sw->add_option("grid", sweep.grid_file, "grid YAML (see configs/ablations)")->required();
  sw->add_option("--out", sweep.out, "sweep folder")->required();
  sw->add_option("--jobs", sweep.jobs, "parallel runs (default: number of cores)")
      ->check(kPositive);
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
  bool report_no_media = false;
  rep->add_flag("--no-media", report_no_media,
                "no pictures of the best policies (media/ENV.png strips and .gif animations)");

  // A misspelt command gets a name and a suggestion rather than "A subcommand is required".
  if (argc > 1 && argv[1][0] != '-') {
    std::string msg = unknown_subcommand(app, argv[1], "command");
    if (msg.empty() && std::string(argv[1]) == "bench" && argc > 2 && argv[2][0] != '-') {
      msg = unknown_subcommand(*bench, argv[2], "bench command");
    }
    if (!msg.empty()) {
      std::fprintf(stderr, "%s\n", msg.c_str());
      return 2;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& err) {
    // --help and --version exit 0; every usage error exits 2, as getopt-style tools do
    return app.exit(err) == 0 ? 0 : 2;
  }

  try {
    if (*t) return ddpg::cli::cmd_train(train);
    if (*e) return ddpg::cli::cmd_eval(eval);
    if (*ex) return ddpg::cli::cmd_export(exp);
    if (*rd) return ddpg::cli::cmd_render(rend);
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
      for (const auto& s : split(sweep_seeds)) {
        const bool digits =
            !s.empty() && s.size() <= 19 && std::all_of(s.begin(), s.end(), [](char c) {
              return std::isdigit(static_cast<unsigned char>(c));
            });
        if (!digits || std::stoull(s) > static_cast<uint64_t>(INT64_MAX)) {
          throw ddpg::Error("--seeds '" + sweep_seeds +
                            "' must be integers from 0 to 2^63-1 separated by commas, e.g. 0,1,2");
        }
        sweep.seeds.push_back(std::stoull(s));
      }
      sweep.self_exe = self_path();
      if (estimate_steps > 0) return ddpg::cli::cmd_sweep_estimate(sweep, estimate_steps);
      return ddpg::cli::cmd_sweep(sweep);
    }
    if (*rep) {
      report_opts.media = !report_no_media;
      report_opts.self_exe = self_path();
      return ddpg::cli::cmd_report(report_paths, report_opts);
    }
    if (*be) {
      ddpg::cli::print_figures(
          ddpg::bench_env(bench_env_id, bench_env_seconds, bench_env_n, bench_env_threads));
      return 0;
    }
    if (*bp) {
      ddpg::cli::print_figures(ddpg::bench_peak(peak_seconds, peak_threads));
      return 0;
    }
    // the short flags' --set lines go before the explicit --set options
    auto with_aliases = [](ddpg::ConfigSources& src, const std::vector<std::string>& aliases) {
      src.sets.insert(src.sets.begin(), aliases.begin(), aliases.end());
    };
    if (*bg) {
      with_aliases(gb.sources, gb_aliases);
      ddpg::cli::print_figures(ddpg::bench_gemm(gb));
      return 0;
    }
    if (*ba) {
      with_aliases(ab.sources, ab_aliases);
      ddpg::cli::print_figures(ddpg::bench_act(ab));
      return 0;
    }
    if (*bt) {
      with_aliases(tb.sources, tb_aliases);
      ddpg::cli::print_figures(ddpg::bench_train(tb));
      return 0;
    }
    if (*model) return ddpg::cli::cmd_model(model_env);
    if (*ro) return ddpg::cli::cmd_rollout(rollout);
    if (*envs) return ddpg::cli::cmd_envs(envs_json);
    if (*cfg) return ddpg::cli::cmd_config(show);
    if (*bu) {
      with_aliases(ub.sources, ub_aliases);
      return ddpg::cli::cmd_bench_update(ub);
    }
  } catch (const ddpg::Interrupted& err) {
    std::fprintf(stderr, "%s\n", err.what());
    return 128 + err.signal();  // 130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP
  } catch (const ddpg::Error& err) {
    std::fprintf(stderr, "error: %s\n", err.what());
    return 1;
  } catch (const std::exception& err) {
    std::fprintf(stderr, "error: %s\n", err.what());
    return 1;
  }
  return 0;
}
