// The `ddpg` subcommands: see commands.h.
#include "apps/commands.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <thread>

#include "ddpg/agent.h"
#include "ddpg/embedded.h"
#include "ddpg/env.h"
#include "ddpg/evaluate.h"
#include "ddpg/io.h"
#include "ddpg/onnx_export.h"
#include "ddpg/rng.h"
#include "ddpg/rollout.h"
#include "ddpg/sweep_mpi.h"
#include "ddpg/trainer.h"
#include "src/distributed.h"

namespace ddpg::cli {
namespace {

std::string default_run_dir(const Config& cfg, const std::string& preset) {
  char stamp[32];
  const std::time_t now = std::time(nullptr);
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", std::localtime(&now));
  return "runs/" + cfg.env.id + (preset.empty() ? "" : "_" + preset) + "_s" +
         std::to_string(cfg.trainer.seed) + "_" + stamp;
}

void print_summary(const TrainSummary& s, const std::string& env_id) {
  char best[64] = "no evaluation on the schedule";
  if (s.has_best) std::snprintf(best, sizeof best, "best %.2f", s.best_eval_mean);
  std::printf("%s: %ld steps in %.1f s; final eval %.2f +- %.2f, %s\n", env_id.c_str(),
              static_cast<long>(s.steps), s.seconds, s.final_eval_mean, s.final_eval_std, best);
  std::printf("run folder: %s\n", s.run_dir.c_str());
}

// Without --preset, an env with a zoo preset gets it (so plain `ddpg train` is the zoo's
// Pendulum-v1); `--preset none` asks for the library defaults.
ConfigSources with_default_preset(ConfigSources src) {
  if (src.preset == "none") {
    src.preset.clear();
  } else if (src.preset.empty()) {
    ConfigSources probe = src;
    probe.preset.clear();
    const std::string env_id = resolve_config(probe).env.id;
    try {
      preset_text("zoo", env_id);
      src.preset = "zoo";
    } catch (const Error&) {
      // no zoo preset for this env: library defaults
    }
  }
  return src;
}

}  // namespace

namespace {

int train_once(const TrainArgs& args, ActorLinks* actors) {
  TrainOptions opts;
  opts.actors = actors;
  opts.quiet = args.quiet;
  opts.show_progress = !args.quiet;
  if (args.restart && args.resume.empty()) {
    throw Error("--restart goes with --resume DIR (it lets a run without a checkpoint start over)");
  }
  if (!args.resume.empty()) {
    // A resumed run keeps the config it started with; only its length can change.
    std::vector<std::string> fixed;
    if (!args.sources.env_id.empty()) fixed.push_back("--env");
    if (!args.sources.preset.empty()) fixed.push_back("--preset");
    if (!args.sources.files.empty()) fixed.push_back("--config");
    if (!args.sources.sets.empty()) fixed.push_back("--set");
    if (args.sources.seed) fixed.push_back("--seed");
    if (!args.out.empty()) fixed.push_back("--out");
    if (!fixed.empty()) {
      std::string names;
      for (const auto& f : fixed) names += (names.empty() ? "" : ", ") + f;
      throw Error(names + " cannot change a run on --resume: it continues with the config in " +
                  args.resume +
                  "/config.yaml (only --steps can extend it); to train with other "
                  "settings, start a new run with --out");
    }
    const TrainSummary s = train_resume(args.resume, args.sources.total_steps, opts, args.restart);
    print_summary(s, load_run_config(args.resume).env.id);
    return 0;
  }
  const ConfigSources src = with_default_preset(args.sources);
  const Config cfg = resolve_config(src);
  const std::string dir = args.out.empty() ? default_run_dir(cfg, src.preset) : args.out;
  if (!args.quiet) std::fprintf(stderr, "training %s into %s\n", cfg.env.id.c_str(), dir.c_str());
  const TrainSummary s = train_new(cfg, dir, opts);
  print_summary(s, cfg.env.id);
  return 0;
}

}  // namespace

int cmd_train(const TrainArgs& args) {
  // Under an MPI launcher: rank 0 is this command (the learner of a trainer.distributed = actors
  // run), the other ranks its actors.
  if (launched_by_mpi()) {
    return train_mpi([&](ActorLinks* actors) { return train_once(args, actors); });
  }
  return train_once(args, nullptr);
}

namespace {

// A run folder's policy (`which`: final or best) and the env of its config, checked against each
// other. With `best_if_unfinished`, a run without policy_final.bin gives its policy_best.bin (with
// a note on stderr); without it, the missing file is the error.
struct RunPolicy {
  Config cfg;
  std::string path;
  DeployedPolicy policy;
  std::unique_ptr<Env> env;
};

RunPolicy open_run_policy(const std::string& run_dir, const std::string& which,
                          bool best_if_unfinished) {
  Config cfg = load_run_config(run_dir);
  if (which != "final" && which != "best") {
    throw Error("--which must be 'final' or 'best', got '" + which + "'");
  }
  std::string path = run_dir + "/policy_" + which + ".bin";
  if (!file_exists(path) && which == "final" && best_if_unfinished) {
    const std::string best = run_dir + "/policy_best.bin";
    if (!file_exists(best)) {
      throw Error("'" + run_dir + "' has no policy yet (no policy_final.bin or " +
                  "policy_best.bin); finish or resume the run first");
    }
    std::fprintf(stderr, "no policy_final.bin (run not finished); using policy_best.bin\n");
    path = best;
  }
  if (!file_exists(path) && which == "final") {
    throw Error("'" + path + "' does not exist (the run has not finished); finish it with " +
                "'ddpg train --resume " + run_dir + "', or use its best policy with --which best");
  }
  if (!file_exists(path)) {
    throw Error("'" + path + "' does not exist (no evaluation on the schedule has run yet); " +
                "use --which final, or resume the run until it has evaluated");
  }
  DeployedPolicy deployed = load_policy(path);
  auto env = make_env(cfg.env.id, cfg.env.options);
  if (deployed.obs_dim() != env->spec().obs_dim || deployed.act_dim() != env->spec().act_dim) {
    throw Error("'" + path + "' is a policy for obs/act sizes " +
                std::to_string(deployed.obs_dim()) + "/" + std::to_string(deployed.act_dim()) +
                ", but " + cfg.env.id + " has " + std::to_string(env->spec().obs_dim) + "/" +
                std::to_string(env->spec().act_dim));
  }
  return {std::move(cfg), path, std::move(deployed), std::move(env)};
}

// A file an option names for writing: not a folder, and in a folder that exists. Checked before
// any work, so that a mistyped path costs nothing.
void check_output_file(const std::string& path, const char* option, const char* example) {
  const std::filesystem::path p(path);
  if (std::filesystem::is_directory(p)) {
    throw Error(std::string(option) + " '" + path + "' is a folder; name the file to write, e.g. " +
                (p / example).string());
  }
  const std::filesystem::path folder = p.parent_path();
  if (!folder.empty() && !std::filesystem::is_directory(folder)) {
    throw Error("cannot write '" + path + "': the folder '" + folder.string() +
                "' does not exist; create it or choose another " + option);
  }
}

}  // namespace

int cmd_eval(const EvalArgs& args) {
  if (!args.per_episode.empty()) check_output_file(args.per_episode, "--per-episode", "eval.csv");
  RunPolicy run = open_run_policy(args.run_dir, args.which, true);
  Policy policy = [&](const std::vector<double>& o, float* a) { run.policy.act(o, a); };
  const uint64_t seed = args.seed ? *args.seed : Rng::derive(run.cfg.trainer.seed, 4);
  const EvalResult r = evaluate(policy, *run.env, args.episodes, seed);
  std::printf("%s (%s): %.2f +- %.2f over %d episodes\n", run.cfg.env.id.c_str(), run.path.c_str(),
              r.mean_return, r.std_return, args.episodes);
  int terminated = 0;
  for (bool t : r.terminated) terminated += t ? 1 : 0;
  std::printf("mean_return=%s\nstd_return=%s\nepisodes=%d\nmean_length=%s\nterminated=%d\n",
              format_double(r.mean_return).c_str(), format_double(r.std_return).c_str(),
              args.episodes, format_double(r.mean_length).c_str(), terminated);
  if (!args.per_episode.empty()) {
    std::string csv = "episode,return,length,end\n";
    for (size_t i = 0; i < r.returns.size(); ++i) {
      csv += std::to_string(i) + "," + format_double(r.returns[i]) + "," +
             std::to_string(r.lengths[i]) + "," + (r.terminated[i] ? "terminated" : "truncated") +
             "\n";
    }
    write_file_atomic(args.per_episode, csv);
  }
  return 0;
}

namespace {

// The commit (and its dirty flag) of the build that started a run, from its meta.json; "unknown"
// without one (a run folder copied without it).
std::pair<std::string, std::string> run_commit(const std::string& run_dir) {
  const std::string path = run_dir + "/meta.json";
  if (!file_exists(path)) {
    std::fprintf(stderr, "'%s' does not exist; the model's run_commit is 'unknown'\n",
                 path.c_str());
    return {"unknown", "unknown"};
  }
  nlohmann::json meta;
  try {
    meta = nlohmann::json::parse(read_file(path, kTextFileLimit));
  } catch (const nlohmann::json::exception& e) {
    throw Error("'" + path + "' is damaged (" + e.what() +
                "); restore it from a copy of the run, or delete it to export with an unknown "
                "run commit");
  }
  const auto text = [&](const char* key) -> std::string {
    if (!meta.is_object() || !meta.contains(key)) return "unknown";
    return meta[key].is_string() ? meta[key].get<std::string>() : meta[key].dump();
  };
  return {text("commit"), text("commit_dirty")};
}

}  // namespace

int cmd_export(const ExportArgs& args) {
  if (args.format != "onnx") {
    throw Error("--format '" + args.format + "' is not supported; the formats are: onnx");
  }
  RunPolicy run = open_run_policy(args.run_dir, args.which, false);
  const std::string out =
      !args.out.empty()
          ? args.out
          : args.run_dir + (args.which == "final" ? "/policy.onnx" : "/policy_best.onnx");
  check_output_file(out, "--out", "policy.onnx");
  const EnvSpec& spec = run.env->spec();
  const auto [commit, dirty] = run_commit(args.run_dir);
  OnnxExportOptions opts;
  opts.act_low = spec.act_low;
  opts.act_high = spec.act_high;
  opts.metadata = {{"env_id", run.cfg.env.id},
                   {"env_options", nlohmann::json(run.cfg.env.options).dump()},
                   {"ddpg_version", DDPG_VERSION},
                   {"run_commit", commit},
                   {"run_commit_dirty", dirty},
                   {"which", args.which},
                   {"policy_file", std::filesystem::path(run.path).filename().string()}};
  const std::string model = policy_to_onnx(run.policy, opts);
  write_file_atomic(out, model);
  const MlpShape& shape = run.policy.shape();
  std::string hidden;
  for (int h : shape.hidden) hidden += (hidden.empty() ? "" : "-") + std::to_string(h);
  std::printf(
      "%s: %s policy (%s) as ONNX opset %d: obs (batch, %d) -> action (batch, %d) in env "
      "units; actor %s %s%s, %s; %zu bytes\n",
      out.c_str(), run.cfg.env.id.c_str(), args.which.c_str(), static_cast<int>(kOnnxOpset),
      shape.in, shape.out, hidden.c_str(), run.cfg.agent.activation.c_str(),
      shape.layer_norm ? " + LayerNorm" : "",
      run.policy.obs_normalizer() ? "observation normalisation" : "raw observations", model.size());
  return 0;
}

int cmd_render(const RenderArgs& args) {
  if (args.run_dir.empty() == args.env_id.empty()) {
    throw Error(
        "render: give a run folder (ddpg render RUN --out F) or an env (ddpg render --env " +
        std::string("ID --out F, random actions), not ") +
        (args.run_dir.empty() ? "neither" : "both"));
  }
  if (args.zero_actions && args.env_id.empty()) {
    throw Error("--zero-actions goes with --env (a run is drawn with its own policy)");
  }
  RenderOptions opts = args.options;
  std::unique_ptr<Env> env;
  PolicyFactory policy;
  std::optional<RunPolicy> run;
  std::string what;
  if (!args.env_id.empty()) {
    env = make_env(args.env_id);
    opts.seed = args.seed.value_or(0);
    policy = random_policy(env->spec().act_dim, Rng::derive(opts.seed, 1), args.zero_actions);
    what = args.zero_actions ? "zero actions" : "random actions";
  } else {
    run.emplace(open_run_policy(args.run_dir, args.which, true));
    env = std::move(run->env);
    // the evaluation's seed, so that the picture shows the episodes `ddpg eval` scores
    opts.seed = args.seed.value_or(Rng::derive(run->cfg.trainer.seed, 4));
    DeployedPolicy* deployed = &run->policy;
    policy = [deployed]() -> ActionFn {
      return [deployed](const std::vector<double>& o, float* a) { deployed->act(o, a); };
    };
    what = run->path;
  }
  const RenderResult r = render_to_file(*env, policy, args.out, opts);
  std::string returns;
  for (const double x : r.played.returns) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%s%.1f", returns.empty() ? "" : ", ", x);
    returns += buf;
  }
  if (!opts.quiet) {
    std::printf("%s: %d frames of %d x %d", args.out.c_str(), r.frames, r.width, r.height);
    if (r.fps > 0) std::printf(" at %.3g fps", r.fps);
    std::printf(" (%s, %s; episode returns %s)\n", env->spec().id.c_str(), what.c_str(),
                returns.c_str());
  }
  return 0;
}

int cmd_rollout(const RolloutArgs& args) {
  std::map<std::string, std::string> options;
  for (const auto& set : args.sets) {
    const auto eq = set.find('=');
    if (set.rfind("env.", 0) != 0 || eq == std::string::npos) {
      throw Error("--set '" + set + "': rollout takes env options only, as env.KEY=VALUE");
    }
    options[set.substr(4, eq - 4)] = set.substr(eq + 1);
  }
  auto env = make_env(args.env_id, options);
  const auto actions = parse_actions_csv(read_file(args.actions_file, kTextFileLimit),
                                         env->spec().act_dim, args.actions_file, env->spec().id);
  size_t unused = 0;
  const std::string out = rollout_csv(*env, args.seed, actions, &unused);
  if (unused > 0) {
    std::fprintf(stderr, "episode ended at step %zu; %zu action rows not used\n",
                 actions.size() - unused, unused);
  }
  std::fputs(out.c_str(), stdout);
  return 0;
}

int cmd_envs(bool json) {
  nlohmann::json all = nlohmann::json::array();
  if (!json)
    std::printf("%-36s %5s %5s  %-16s %6s  %s\n", "id", "obs", "act", "action bounds", "steps",
                "family");
  for (const auto& info : env_registry()) {
    auto env = make_env(info.id);
    const EnvSpec& s = env->spec();
    if (json) {
      all.push_back({{"id", s.id},
                     {"family", info.family},
                     {"obs_dim", s.obs_dim},
                     {"act_dim", s.act_dim},
                     {"act_low", s.act_low},
                     {"act_high", s.act_high},
                     {"max_episode_steps", s.max_episode_steps},
                     {"description", info.description}});
    } else {
      std::string bounds;
      double lo = s.act_low[0], hi = s.act_high[0];
      bool uniform = true;
      for (int i = 0; i < s.act_dim; ++i) uniform &= s.act_low[i] == lo && s.act_high[i] == hi;
      bounds = uniform ? "[" + format_double(lo) + ", " + format_double(hi) + "]" : "per dimension";
      std::printf("%-36s %5d %5d  %-16s %6d  %s\n", s.id.c_str(), s.obs_dim, s.act_dim,
                  bounds.c_str(), s.max_episode_steps, info.family.c_str());
    }
  }
  if (json) std::cout << all.dump(2) << "\n";
  return 0;
}

void print_figures(const BenchFigures& figures) {
  for (const auto& [name, value] : bench_machine())
    std::printf("%s=%s\n", name.c_str(), value.c_str());
  for (const auto& [name, value] : figures) {
    std::printf("%s=%s\n", name.c_str(), format_double(std::round(value * 1e4) / 1e4).c_str());
  }
}

int cmd_bench_update(const UpdateBenchOptions& opts) {
  print_figures(bench_update(opts));
  return 0;
}

int cmd_model(const std::string& env_id) {
  std::fputs(env_model_xml(env_id).c_str(), stdout);
  return 0;
}

int cmd_config(const ConfigSources& sources) {
  std::fputs(to_yaml(resolve_config(with_default_preset(sources))).c_str(), stdout);
  return 0;
}

int cmd_sweep(const SweepOptions& opts) {
  // Under mpirun/srun the ranks share the grid (sweep_mpi.h); otherwise it runs here.
  const int failed = launched_by_mpi() ? run_sweep_mpi(opts) : run_sweep(opts);
  return failed == 0 ? 0 : 1;
}

int cmd_sweep_estimate(const SweepOptions& opts, int64_t timed_steps) {
  const std::vector<SweepRun> runs = plan_sweep(opts);
  // one measurement per distinct config (seeds and budgets do not change the speed)
  std::map<std::string, RunCost> costs;
  auto key = [](Config c) {
    c.trainer.seed = 0;
    c.trainer.total_steps = 0;
    return to_yaml(c);
  };
  struct Row {
    std::string variant, env;
    double learn_rate = 0, run_hours = 0;
    int runs = 0, left = 0;
  };
  std::vector<Row> rows;
  double all_hours = 0, left_hours = 0;
  for (const SweepRun& r : runs) {
    const std::string k = key(r.config);
    if (!costs.count(k)) {
      if (!opts.quiet) {
        std::fprintf(stderr, "measuring %s on %s ...\n", r.variant.c_str(), r.env.c_str());
      }
      costs[k] = measure_run_cost(r.config, timed_steps);
    }
    const double hours = estimate_run_seconds(r.config, costs[k]) / 3600.0;
    const int threads = std::max(1, r.config.trainer.threads);
    all_hours += hours * threads;
    if (r.status != "done") left_hours += hours * threads;
    if (rows.empty() || rows.back().variant != r.variant || rows.back().env != r.env) {
      rows.push_back({r.variant, r.env, costs[k].learn_steps_per_s, 0, 0, 0});
    }
    rows.back().run_hours = std::max(rows.back().run_hours, hours);
    ++rows.back().runs;
    rows.back().left += r.status != "done";
  }
  std::printf("%-20s %-28s %12s %10s %6s %6s\n", "variant", "env", "learn_st/s", "h/run", "runs",
              "left");
  for (const Row& w : rows) {
    std::printf("%-20s %-28s %12.1f %10.2f %6d %6d\n", w.variant.c_str(), w.env.c_str(),
                w.learn_rate, w.run_hours, w.runs, w.left);
  }
  const int jobs =
      opts.jobs > 0 ? opts.jobs : static_cast<int>(std::thread::hardware_concurrency());
  std::printf("core_hours_all=%.2f\ncore_hours_left=%.2f\nwall_hours_left_at_%d_jobs=%.2f\n",
              all_hours, left_hours, jobs, left_hours / std::max(1, jobs));
  return 0;
}

// The temporary copy of an embedded file, removed when this goes out of scope.
class TempCopy {
 public:
  explicit TempCopy(const std::string& text) {
    char tmpl[] = "/tmp/ddpg_report_XXXXXX";
    const int fd = mkstemp(tmpl);
    if (fd < 0) throw Error("cannot create a temporary file for the report");
    ::close(fd);
    path_ = tmpl;
    write_file_atomic(path_, text);
  }
  ~TempCopy() { ::unlink(path_.c_str()); }
  TempCopy(const TempCopy&) = delete;
  TempCopy& operator=(const TempCopy&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

int cmd_report(const std::vector<std::string>& paths, const ReportOptions& opts) {
  const std::string* script = embedded_file("scripts/report.py");
  if (!script) throw Error("this build carries no report script (scripts/report.py)");
  for (const auto& p : paths) {
    if (!file_exists(p)) throw Error("report: '" + p + "' does not exist");
  }
  if (!opts.anchors.empty() && opts.anchors != "none" && !file_exists(opts.anchors)) {
    throw Error("report: anchors file '" + opts.anchors + "' does not exist");
  }
  // Debian's python3 first: it is the one python3-matplotlib installs into (a python3 earlier on
  // PATH, e.g. pyenv's, may lack it).
  std::string python;
  for (const std::string candidate : {"/usr/bin/python3", "python3"}) {
    if (std::system((candidate + " -c 'import matplotlib, numpy, yaml' >/dev/null 2>&1").c_str()) ==
        0) {
      python = candidate;
      break;
    }
  }
  if (python.empty()) {
    throw Error(
        "'ddpg report' needs python3 with matplotlib, numpy and yaml: run scripts/build, which "
        "installs python3-matplotlib and python3-yaml");
  }
  std::string out = opts.out;
  if (out.empty()) {
    out = paths.size() == 1 && file_exists(paths[0] + "/manifest.json") ? paths[0] + "/report"
                                                                        : "report";
  }
  const TempCopy script_file(*script);
  std::optional<TempCopy> anchors_file;
  std::string anchors = opts.anchors;
  if (anchors.empty()) {
    const std::string* shipped = embedded_file("configs/benchmarks/anchors.yaml");
    if (shipped) {
      anchors_file.emplace(*shipped);
      anchors = anchors_file->path();
    }
  }
  std::vector<std::string> args = {python, script_file.path(), "--out", out};
  if (!anchors.empty() && anchors != "none") args.insert(args.end(), {"--anchors", anchors});
  if (!opts.title.empty()) args.insert(args.end(), {"--title", opts.title});
  if (opts.include_unfinished) args.push_back("--include-unfinished");
  if (!opts.media) args.push_back("--no-media");
  if (!opts.self_exe.empty()) args.insert(args.end(), {"--ddpg-binary", opts.self_exe});
  for (const auto& p : paths) args.push_back(p);
  const pid_t pid = fork();
  if (pid == 0) {
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execvp(python.c_str(), argv.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw Error("the report script failed (see its message above)");
  }
  return 0;
}

}  // namespace ddpg::cli
