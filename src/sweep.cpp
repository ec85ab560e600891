// Sweep runner: see sweep.h.
#include "ddpg/sweep.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "ddpg/dir_lock.h"
#include "ddpg/embedded.h"
#include "ddpg/env.h"
#include "ddpg/io.h"
#include "src/yaml_doc.h"

namespace ddpg {
namespace {

std::atomic<int> g_sweep_signal{0};
void on_sweep_signal(int sig) { g_sweep_signal = sig; }

std::string yaml_text(const YAML::Node& n) {
  YAML::Emitter e;
  e << n;
  return e.c_str();
}

// A per-env grid value: one value for every env, or a map env → value with an optional `default`;
// null when neither names this env.
YAML::Node per_env(const YAML::Node& node, const std::string& env) {
  if (!node || !node.IsMap()) return node;
  if (node[env]) return node[env];
  if (node["default"]) return node["default"];
  return YAML::Node(YAML::NodeType::Undefined);  // tests false, as an absent key does
}

// A scalar of the grid as T, or an error naming the key, the env and the line.
template <class T>
std::optional<T> grid_scalar(const YAML::Node& node, const std::string& key, const std::string& env,
                             const char* what, ConfigErrors& errors) {
  try {
    return node.as<T>();
  } catch (const YAML::Exception& e) {
    errors.add("grid: '" + key + "' for " + env + " must be " + what + " (line " +
               std::to_string(e.mark.line + 1) + ")");
    return std::nullopt;
  }
}

// The config of one run: preset → base → per_env → variant → --set → steps, seed; one thread per
// worker unless the grid or --set says otherwise. The preset is the variant's `preset:` if it names
// one, else the grid's (one name, or a map env → name with a `default`), else zoo where the env has
// one.
Config run_config(const YAML::Node& grid, const std::string& variant_yaml, const std::string& env,
                  uint64_t seed, const SweepOptions& opts, ConfigErrors& errors) {
  Config c;
  c.env.id = env;
  c.trainer.threads = 1;
  YAML::Node variant =
      variant_yaml.empty() ? YAML::Node(YAML::NodeType::Map) : YAML::Load(variant_yaml);
  std::string preset;
  bool preset_named = false;
  if (variant.IsMap() && variant["preset"]) {
    preset = grid_scalar<std::string>(variant["preset"], "preset", env, "a preset name", errors)
                 .value_or("");
    variant.remove("preset");
    preset_named = true;
  } else if (const YAML::Node p = per_env(grid["preset"], env); p && !p.IsNull()) {
    preset = grid_scalar<std::string>(p, "preset", env, "a preset name", errors).value_or("");
    preset_named = true;
  }
  if (!preset_named) {
    try {
      preset_text("zoo", env);
      preset = "zoo";
    } catch (const Error&) {
    }
  }
  if (!preset.empty() && preset != "none") {
    try {
      apply_yaml(c, preset_text(preset, env), "preset " + preset, errors);
    } catch (const Error& e) {
      errors.add(e.what());
    }
  }
  c.trainer.threads = 1;
  if (grid["base"]) apply_yaml(c, yaml_text(grid["base"]), "grid base", errors);
  if (grid["per_env"] && grid["per_env"][env]) {
    apply_yaml(c, yaml_text(grid["per_env"][env]), "grid per_env " + env, errors);
  }
  if (variant.size() > 0) apply_yaml(c, yaml_text(variant), "variant", errors);
  for (const auto& s : opts.sets) apply_set(c, s, errors);
  // steps: one number for every env, or a map env → steps with an optional `default`
  if (const YAML::Node steps = per_env(grid["steps"], env); steps && !steps.IsNull()) {
    if (auto n = grid_scalar<int64_t>(steps, "steps", env, "an integer", errors)) {
      c.trainer.total_steps = *n;
    }
  }
  if (opts.steps) c.trainer.total_steps = *opts.steps;
  c.env.id = env;
  c.trainer.seed = seed;
  return c;
}

// The config text with total_steps blanked: runs may be continued to more steps.
std::string comparable(Config c) {
  c.trainer.total_steps = 0;
  return to_yaml(c);
}

int64_t summary_steps(const std::string& dir) {
  if (!file_exists(dir + "/summary.json")) return -1;
  try {
    return nlohmann::json::parse(read_file(dir + "/summary.json")).at("steps").get<int64_t>();
  } catch (const std::exception&) {
    return -1;
  }
}

// The step of a run's last logged episode (0 when none), read from the end of progress.csv.
int64_t logged_step(const std::string& dir) {
  std::ifstream in(dir + "/progress.csv", std::ios::binary | std::ios::ate);
  if (!in) return 0;
  const std::streamoff size = in.tellg();
  const std::streamoff from = std::max<std::streamoff>(0, size - 4096);
  in.seekg(from);
  std::string tail((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!tail.empty() && tail.back() == '\n') tail.pop_back();
  const auto nl = tail.find_last_of('\n');
  const std::string last = nl == std::string::npos ? tail : tail.substr(nl + 1);
  try {
    return std::stoll(last.substr(0, last.find(',')));
  } catch (const std::exception&) {
    return 0;
  }
}

void write_manifest(const SweepOptions& opts, const YAML::Node& grid,
                    const std::vector<SweepRun>& runs) {
  nlohmann::json js;
  js["grid"] = opts.grid_file;
  js["question"] = grid["question"] ? grid["question"].as<std::string>() : "";
  js["axis"] = grid["axis"] ? grid["axis"].as<std::string>() : "variant";
  if (grid["baseline"]) js["baseline"] = grid["baseline"].as<std::string>();
  js["runs"] = nlohmann::json::array();
  // Runs that an earlier call listed and this one does not plan (it chose a subset with --envs,
  // --seeds or --variants) stay listed, so that the report of the folder still finds them.
  std::set<std::string> planned;
  for (const auto& r : runs) planned.insert(r.dir.substr(opts.out.size() + 1));
  const std::string path = opts.out + "/manifest.json";
  if (file_exists(path)) {
    try {
      const nlohmann::json earlier = nlohmann::json::parse(read_file(path));
      for (const auto& old : earlier.at("runs")) {
        if (!planned.count(old.at("dir").get<std::string>())) js["runs"].push_back(old);
      }
    } catch (const std::exception& e) {
      throw std::runtime_error("sweep: the existing " + path + " is unreadable (" + e.what() +
                               "); move it aside and run again");
    }
  }
  for (const auto& r : runs) {
    js["runs"].push_back({{"variant", r.variant},
                          {"env", r.env},
                          {"seed", r.seed},
                          {"dir", r.dir.substr(opts.out.size() + 1)},
                          {"status", r.status},
                          {"total_steps", r.config.trainer.total_steps}});
  }
  write_file_atomic(path, js.dump(2) + "\n");
}

// A grid file's text: the path itself, or a grid shipped in configs/ablations or
// configs/benchmarks by name.
std::string grid_text(const std::string& path) {
  if (file_exists(path)) return read_file(path, kTextFileLimit);
  for (const std::string& key :
       {"configs/ablations/" + path + ".yaml", "configs/benchmarks/" + path + ".yaml", path}) {
    if (const std::string* text = embedded_file(key)) return *text;
  }
  std::string shipped;
  for (const auto& [key, text] : embedded_files()) {
    for (const std::string dir : {"configs/ablations/", "configs/benchmarks/"}) {
      if (key.rfind(dir, 0) == 0 && key != "configs/benchmarks/anchors.yaml") {
        shipped += " " + key.substr(dir.size(), key.size() - dir.size() - 5);
      }
    }
  }
  throw Error("grid file '" + path + "' does not exist (shipped grids:" + shipped + ")");
}

YAML::Node load_grid(const std::string& path) {
  YAML::Node grid = load_single_document(grid_text(path), "grid file '" + path + "'");
  if (!grid.IsMap()) throw Error("grid file '" + path + "' must be a YAML mapping");
  return grid;
}

// The most runs one sweep may expand to (the project's grids have 10–160): more is a typo in a
// list, and would take minutes to plan.
constexpr size_t kMaxSweepRuns = 10000;

std::vector<SweepRun> plan_sweep_checked(const SweepOptions& opts);

}  // namespace

// Any structural surprise in the grid (a map where a name belongs, and so on) is an Error naming
// the grid and the line.
std::vector<SweepRun> plan_sweep(const SweepOptions& opts) {
  try {
    return plan_sweep_checked(opts);
  } catch (const YAML::Exception& e) {
    throw Error("grid '" + opts.grid_file + "': unexpected structure at line " +
                std::to_string(e.mark.line + 1) + " (" + e.msg +
                "); see 'ddpg sweep --help' for the grid's keys");
  }
}

namespace {

std::vector<SweepRun> plan_sweep_checked(const SweepOptions& opts) {
  const YAML::Node grid = load_grid(opts.grid_file);
  ConfigErrors errors;
  for (const auto& kv : grid) {
    const std::string key = kv.first.as<std::string>();
    static const std::vector<std::string> known = {"question", "axis",    "baseline", "envs",
                                                   "seeds",    "preset",  "steps",    "base",
                                                   "per_env",  "variants"};
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      errors.add("grid '" + opts.grid_file + "': unknown key '" + key +
                 "' (keys: question, axis, baseline, envs, seeds, preset, steps, base, per_env, "
                 "variants)");
    }
  }
  for (const char* key : {"question", "axis", "baseline"}) {
    if (grid[key] && !grid[key].IsScalar()) {
      errors.add("grid '" + opts.grid_file + "': '" + key + "' must be text (line " +
                 std::to_string(grid[key].Mark().line + 1) + ")");
    }
  }
  // A list under `key`, or a clear error naming the key and the expected type.
  auto list_of = [&](const char* key, auto example, const char* what) {
    using T = decltype(example);
    try {
      return grid[key].as<std::vector<T>>();
    } catch (const YAML::Exception& e) {
      errors.add("grid '" + opts.grid_file + "': '" + key + "' must be a list of " + what +
                 " (line " + std::to_string(e.mark.line + 1) + ")");
      return std::vector<T>{};
    }
  };
  std::vector<std::string> envs = opts.envs;
  if (envs.empty() && grid["envs"]) envs = list_of("envs", std::string(), "env ids");
  std::vector<uint64_t> seeds = opts.seeds;
  if (seeds.empty()) {
    seeds = grid["seeds"] ? list_of("seeds", uint64_t{0}, "non-negative integers")
                          : std::vector<uint64_t>{0, 1, 2};
  }
  for (uint64_t seed : seeds) {
    if (seed > static_cast<uint64_t>(INT64_MAX)) {
      errors.add("grid '" + opts.grid_file + "': seed " + std::to_string(seed) +
                 " is out of range (seeds are 0 to 2^63-1)");
    }
  }
  if (envs.empty() && !(grid["envs"] && !grid["envs"].IsSequence())) {
    errors.add("grid '" + opts.grid_file + "' names no envs (add envs: [...])");
  }
  std::vector<std::pair<std::string, std::string>> variants;  // (name, deltas yaml)
  if (grid["variants"]) {
    if (!grid["variants"].IsMap()) errors.add("grid 'variants' must map names to config deltas");
    for (const auto& v : grid["variants"]) {
      const std::string name = v.first.as<std::string>();
      if (!opts.variants.empty() &&
          std::find(opts.variants.begin(), opts.variants.end(), name) == opts.variants.end()) {
        continue;
      }
      variants.push_back({name, v.second.IsNull() ? "" : yaml_text(v.second)});
    }
  } else {
    variants.push_back({"default", ""});
  }
  // --variants must name the grid's variants; a variant's name is a folder name under --out.
  for (const auto& want : opts.variants) {
    const bool known = std::any_of(variants.begin(), variants.end(),
                                   [&](const auto& v) { return v.first == want; });
    if (!known) {
      std::string names;
      if (grid["variants"] && grid["variants"].IsMap()) {
        for (const auto& v : grid["variants"]) names += " " + v.first.as<std::string>();
      }
      errors.add("--variants: the grid has no variant '" + want + "' (its variants:" + names + ")");
    }
  }
  for (const auto& v : variants) {
    const std::string& name = v.first;
    const bool safe =
        !name.empty() && name[0] != '.' && std::all_of(name.begin(), name.end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' ||
                 c == '+';
        });
    if (!safe) {
      errors.add("grid '" + opts.grid_file + "': variant name '" + name +
                 "' is not a plain folder name (use letters, digits, _ - . +; no leading dot)");
    }
  }
  if (grid["baseline"] && grid["baseline"].IsScalar() &&
      !(grid["variants"] && grid["variants"].IsMap() &&
        grid["variants"][grid["baseline"].as<std::string>()])) {
    errors.add("grid '" + opts.grid_file + "': baseline '" + grid["baseline"].as<std::string>() +
               "' is not one of its variants");
  }
  // every (variant, env, seed) is its own folder: no name twice, and a bounded count
  auto no_repeats = [&](const auto& list, const char* what) {
    for (size_t i = 0; i < list.size(); ++i) {
      if (std::find(list.begin(), list.begin() + i, list[i]) != list.begin() + i) {
        std::ostringstream item;
        item << list[i];
        errors.add("grid '" + opts.grid_file + "': " + what + " '" + item.str() +
                   "' is listed twice (each is one run folder)");
      }
    }
  };
  no_repeats(envs, "env");
  no_repeats(seeds, "seed");
  std::vector<std::string> names;
  for (const auto& v : variants) names.push_back(v.first);
  no_repeats(names, "variant");
  const double count = static_cast<double>(variants.size()) * envs.size() * seeds.size();
  if (count > kMaxSweepRuns) {
    errors.add("grid '" + opts.grid_file + "' expands to " + format_double(count) +
               " runs; a sweep takes at most " + std::to_string(kMaxSweepRuns) +
               " (split it with --variants, --envs or --seeds)");
    errors.throw_if_any("invalid sweep");
  }
  std::vector<SweepRun> runs;
  for (const auto& [name, deltas] : variants) {
    for (const auto& env : envs) {
      for (uint64_t seed : seeds) {
        ConfigErrors run_errors;
        SweepRun r;
        r.variant = name;
        r.env = env;
        r.seed = seed;
        r.dir = opts.out + "/" + name + "/" + env + "/seed_" + std::to_string(seed);
        r.config = run_config(grid, deltas, env, seed, opts, run_errors);
        validate(r.config, run_errors);
        if (!run_errors.empty()) {
          try {
            run_errors.throw_if_any("variant " + name + ", " + env);
          } catch (const Error& e) {
            errors.add(e.what());
          }
          continue;
        }
        const int64_t done_steps = summary_steps(r.dir);
        if (done_steps >= r.config.trainer.total_steps) {
          r.status = "done";
        } else if (file_exists(r.dir + "/checkpoints/last.ckpt")) {
          r.status = "partial";
        } else {
          r.status = "new";
        }
        if (file_exists(r.dir + "/config.yaml")) {
          Config existing;
          ConfigErrors ignored;
          apply_yaml(existing, read_file(r.dir + "/config.yaml"), r.dir, ignored);
          if (comparable(existing) != comparable(r.config)) {
            errors.add(r.dir +
                       " was started with a different config than the grid now gives; "
                       "use another --out, or delete that run");
          }
        }
        runs.push_back(std::move(r));
      }
    }
  }
  errors.throw_if_any("invalid sweep");
  return runs;
}

}  // namespace

pid_t start_sweep_child(const std::string& self_exe, const std::string& dir, int64_t steps) {
  const std::string steps_text = std::to_string(steps);
  const std::string log = dir + "/train.log";
  // Which host (and MPI rank, in a distributed sweep) runs this part of the run: the log's first
  // line. (Composed before fork: the child only calls async-signal-safe functions until exec.)
  char host[256] = "?";
  gethostname(host, sizeof host - 1);
  const char* rank = std::getenv("OMPI_COMM_WORLD_RANK");
  if (rank == nullptr) rank = std::getenv("PMI_RANK");
  const std::string banner = "[sweep] training to step " + steps_text + " on host " + host +
                             (rank ? std::string(", MPI rank ") + rank : std::string()) + "\n";
  // The run is a process of its own, not a rank of this sweep's MPI job: its environment drops
  // the launcher's variables (else `ddpg train` would take itself for a distributed run's rank).
  std::vector<std::string> env_text;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string v = *e;
    if (v.rfind("OMPI_", 0) == 0 || v.rfind("PMIX_", 0) == 0 || v.rfind("PMI_", 0) == 0) continue;
    env_text.push_back(v);
  }
  std::vector<char*> envp;
  for (std::string& v : env_text) envp.push_back(v.data());
  envp.push_back(nullptr);
  const char* const argv[] = {self_exe.c_str(),   "train",     "--resume",
                              dir.c_str(),        "--restart", "--steps",
                              steps_text.c_str(), "-q",        nullptr};
  const pid_t pid = fork();
  if (pid == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      if (::write(2, banner.data(), banner.size()) < 0) {
        // (a log that cannot be written shows up in the run's own output)
      }
    }
    // --restart: a run of this sweep that lost its checkpoint (or never wrote one) starts over
    execve(self_exe.c_str(), const_cast<char* const*>(argv), envp.data());
    _exit(127);
  }
  if (pid < 0) throw Error("cannot start a worker process (fork failed)");
  return pid;
}

int run_sweep(const SweepOptions& opts, RemoteWorkers* remote) {
  std::vector<SweepRun> runs = plan_sweep(opts);
  const YAML::Node grid = load_grid(opts.grid_file);
  if (opts.dry_run) {
    std::printf("%-16s %-32s %6s  %-8s %10s  %s\n", "variant", "env", "seed", "status", "steps",
                "dir");
    for (const auto& r : runs) {
      std::printf("%-16s %-32s %6lu  %-8s %10ld  %s\n", r.variant.c_str(), r.env.c_str(),
                  static_cast<unsigned long>(r.seed), r.status.c_str(),
                  static_cast<long>(r.config.trainer.total_steps), r.dir.c_str());
    }
    std::printf("%zu runs\n", runs.size());
    return 0;
  }
  make_dirs(opts.out);
  const DirLock lock(opts.out);  // one sweep per output folder: the manifest has one writer
  write_manifest(opts, grid, runs);
  const int jobs = opts.jobs > 0
                       ? opts.jobs
                       : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::vector<size_t> queue;
  int64_t total_steps = 0;
  for (size_t i = 0; i < runs.size(); ++i) {
    total_steps += runs[i].config.trainer.total_steps;
    if (runs[i].status == "done") continue;
    queue.push_back(i);
    if (!file_exists(runs[i].dir + "/config.yaml")) {
      make_dirs(runs[i].dir);
      write_file_atomic(runs[i].dir + "/config.yaml", to_yaml(runs[i].config));
    }
  }
  std::map<pid_t, size_t> running;
  int failed = 0;
  size_t next = 0;
  g_sweep_signal = 0;
  bool forwarded = false;
  auto old_int = std::signal(SIGINT, on_sweep_signal);
  auto old_term = std::signal(SIGTERM, on_sweep_signal);
  auto old_hup = std::signal(SIGHUP, on_sweep_signal);
  const bool tty = !opts.quiet && ::isatty(2);
  const auto start = std::chrono::steady_clock::now();
  int64_t start_steps = -1;
  auto last_print = start - std::chrono::seconds(10);

  // A finished run: its status, and the manifest rewritten.
  auto finish_run = [&](SweepRun& r, bool ok, bool interrupted, const std::string& where) {
    if (ok) {
      r.status = "done";
    } else if (interrupted || g_sweep_signal != 0) {
      r.status = "partial";
    } else {
      r.status = "failed";
      ++failed;
      std::fprintf(stderr, "%srun %s failed%s; see %s/train.log\n", tty ? "\r\x1b[K" : "",
                   r.dir.c_str(), where.c_str(), r.dir.c_str());
    }
    write_manifest(opts, grid, runs);
  };
  bool remote_interrupted = false;
  const auto remote_busy = [&] { return remote ? remote->busy() : 0; };
  while (next < queue.size() || !running.empty() || remote_busy() > 0) {
    while (g_sweep_signal == 0 && next < queue.size() && static_cast<int>(running.size()) < jobs) {
      SweepRun& r = runs[queue[next++]];
      running[start_sweep_child(opts.self_exe, r.dir, r.config.trainer.total_steps)] =
          &r - runs.data();
      r.status = "running";
    }
    if (remote) {
      // Reports from the remote workers: a finished run, then a request for the next.
      while (auto rep = remote->poll()) {
        if (rep->run >= 0) {
          SweepRun& r = runs[static_cast<size_t>(rep->run)];
          finish_run(r, rep->status == 0 && !rep->interrupted, rep->interrupted,
                     " on worker " + std::to_string(rep->worker));
          if (rep->interrupted) remote_interrupted = true;  // the job is being stopped
        }
      }
      while (g_sweep_signal == 0 && !remote_interrupted && next < queue.size()) {
        const std::optional<int> w = remote->idle_worker();
        if (!w) break;
        SweepRun& r = runs[queue[next++]];
        remote->assign(*w, static_cast<int64_t>(&r - runs.data()), r);
        r.status = "running";
        write_manifest(opts, grid, runs);
      }
      if (remote_interrupted && next < queue.size()) next = queue.size();
    }
    if (g_sweep_signal != 0) {
      if (running.empty() && remote_busy() == 0) break;
      if (!forwarded) {
        for (auto& [pid, i] : running) kill(pid, SIGINT);  // workers checkpoint and stop
        if (remote) remote->interrupt();
        forwarded = true;
      }
    }
    int status = 0;
    const pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid > 0 && running.count(pid)) {
      SweepRun& r = runs[running[pid]];
      running.erase(pid);
      finish_run(r, WIFEXITED(status) && WEXITSTATUS(status) == 0, false, "");
      continue;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(remote ? 50 : 200));
    const auto now = std::chrono::steady_clock::now();
    if (!opts.quiet && now - last_print > std::chrono::seconds(tty ? 1 : 30)) {
      last_print = now;
      int64_t steps = 0;
      int done = 0;
      for (const auto& r : runs) {
        if (r.status == "done") {
          steps += r.config.trainer.total_steps;
          ++done;
        } else {
          steps += logged_step(r.dir);
        }
      }
      if (start_steps < 0) start_steps = steps;
      const double secs = std::chrono::duration<double>(now - start).count();
      const double rate = secs > 0 ? (steps - start_steps) / secs : 0;
      const double eta = rate > 0 ? (total_steps - steps) / rate : 0;
      std::fprintf(stderr,
                   "%s[sweep] %d/%zu runs done, %zu running, %d failed; %.0f%% of %ld steps, "
                   "%.0f steps/s, ETA %.0f s%s",
                   tty ? "\r" : "", done, runs.size(), running.size() + remote_busy(), failed,
                   100.0 * steps / std::max<int64_t>(1, total_steps),
                   static_cast<long>(total_steps), rate, eta, tty ? "\x1b[K" : "\n");
    }
  }
  if (remote) remote->finish();
  std::signal(SIGINT, old_int);
  std::signal(SIGTERM, old_term);
  std::signal(SIGHUP, old_hup);
  write_manifest(opts, grid, runs);
  if (tty) std::fputs("\n", stderr);
  if (g_sweep_signal != 0 || remote_interrupted) {
    throw Interrupted(
        "sweep interrupted; runs are checkpointed: run the same command again to resume",
        g_sweep_signal != 0 ? static_cast<int>(g_sweep_signal) : SIGINT);
  }
  int done = 0;
  for (const auto& r : runs) done += r.status == "done";
  if (!opts.quiet) {
    std::printf("sweep %s: %d/%zu runs done, %d failed; manifest %s/manifest.json\n",
                opts.out.c_str(), done, runs.size(), failed, opts.out.c_str());
  }
  return failed;
}

}  // namespace ddpg
