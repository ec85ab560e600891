// Benchmarks: see bench.h.
#include "ddpg/bench.h"

#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>
#include <thread>
#include <tuple>

#include "ddpg/agent.h"
#include "ddpg/build_info.h"
#include "ddpg/env.h"
#include "ddpg/env_pool.h"
#include "ddpg/gemm.h"
#include "ddpg/rng.h"
#include "ddpg/runtime/policy.h"
#include "ddpg/simd.h"
#include "ddpg/trainer.h"
#include "envs/box2d/box2d_env.h"
#include "envs/mujoco/mujoco_env.h"

namespace ddpg {
namespace {

using Clock = std::chrono::steady_clock;

// Runs `fn` repeatedly for about `seconds` after a warm-up; returns the median of 5 rounds, in ms.
template <class F>
double time_ms(F&& fn, double seconds) {
  for (int i = 0; i < 3; ++i) fn();
  const auto t0 = Clock::now();
  int n = 0;
  while (std::chrono::duration<double>(Clock::now() - t0).count() < seconds / 5 || n < 3) {
    fn();
    ++n;
  }
  std::vector<double> rounds;
  for (int r = 0; r < 5; ++r) {
    const auto a = Clock::now();
    for (int i = 0; i < n; ++i) fn();
    rounds.push_back(std::chrono::duration<double, std::milli>(Clock::now() - a).count() / n);
  }
  std::sort(rounds.begin(), rounds.end());
  return rounds[2];
}

// The fastest of 7 rounds of `fn` (about `seconds` in all, after a warm-up), in ms per call: for
// kernels on hot operands, where anything slower than the best is interference, not the kernel.
template <class F>
double best_ms(F&& fn, double seconds) {
  for (int i = 0; i < 3; ++i) fn();
  const auto t0 = Clock::now();
  int n = 0;
  while (std::chrono::duration<double>(Clock::now() - t0).count() < seconds / 8 || n < 3) {
    fn();
    ++n;
  }
  double best = 1e300;
  for (int r = 0; r < 7; ++r) {
    const auto a = Clock::now();
    for (int i = 0; i < n; ++i) fn();
    best = std::min(best, std::chrono::duration<double, std::milli>(Clock::now() - a).count() / n);
  }
  return best;
}

// Peak of `threads` cores at once: each thread measures its own core over the same window.
double peak_of(int threads, double seconds, int* width) {
  if (threads <= 1) return simd::fma_peak_gflops(seconds, width);
  std::vector<double> rates(threads);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back(
        [&, t] { rates[t] = simd::fma_peak_gflops(seconds, t == 0 ? width : nullptr); });
  }
  for (auto& th : pool) th.join();
  double sum = 0;
  for (double r : rates) sum += r;
  return sum;
}

// The agent's batch filled with seeded random transitions (none terminated).
Batch& random_batch(Agent& agent) {
  Batch& b = agent.batch();
  Rng rng(0);
  for (auto& x : b.obs) x = static_cast<float>(rng.normal());
  for (auto& x : b.next_obs) x = static_cast<float>(rng.normal());
  for (auto& x : b.action) x = static_cast<float>(rng.uniform(-1, 1));
  for (auto& x : b.reward) x = static_cast<float>(rng.normal());
  std::fill(b.terminated.begin(), b.terminated.end(), 0.0f);
  return b;
}

int all_cores() { return static_cast<int>(std::max(1u, std::thread::hardware_concurrency())); }

// A benchmark's config, resolved as `ddpg train` resolves a run's: `always` first (settings every
// figure of this benchmark is taken with unless the command line overrides them), then without a
// preset or config file the benchmark's reference sizes, then the sources' own --set (the short
// flags are aliases of --set) and shortcuts. "--preset none" is the library's defaults.
Config bench_config(ConfigSources src, const std::vector<std::string>& always,
                    const std::vector<std::string>& reference) {
  std::vector<std::string> sets = always;
  if (src.preset.empty() && src.files.empty())
    sets.insert(sets.end(), reference.begin(), reference.end());
  sets.insert(sets.end(), src.sets.begin(), src.sets.end());
  src.sets = sets;
  if (src.preset == "none") src.preset.clear();
  return resolve_config(src);
}

// The observation and action sizes: those of --env when given, else the options'.
std::pair<int, int> bench_sizes(const ConfigSources& src, const Config& c, int obs_dim,
                                int act_dim) {
  if (src.env_id.empty()) return {obs_dim, act_dim};
  const auto env = make_env(c.env.id, c.env.options);
  return {env->spec().obs_dim, env->spec().act_dim};
}

const std::vector<std::string> kReferenceAgent = {"agent.hidden=[256, 256]",
                                                  "agent.batch_size=256"};

// With a policy delay d, one update in d has the actor step. The time of one update, as the mean
// over whole cycles (each timed call is d updates), and the FLOP of the same mix.
int policy_delay(const Config& c) { return std::max(1, c.agent.policy_delay); }

double mean_update_ms(Agent& agent, const Batch& b, int delay, double seconds) {
  return time_ms(
             [&] {
               for (int i = 0; i < delay; ++i) agent.update(b);
             },
             seconds) /
         delay;
}

double mean_update_flop(const UpdateEngine& engine, int delay) {
  return (engine.update_flop(true) + (delay - 1) * engine.update_flop(false)) / delay;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> bench_machine() {
  return {{"cpu", cpu_model()},
          {"gemm_path", gemm::path_name(gemm::path())},
          {"simd_isa", simd::isa()}};
}

BenchFigures bench_peak(double seconds, int threads) {
  if (threads <= 0) threads = all_cores();
  const simd::FmaPeaks per_isa = simd::fma_peaks(seconds);
  int width = 0;
  const double one = per_isa.best(&width);
  const double all = peak_of(threads, seconds, nullptr);
  return {{"peak_gflops_per_core", one},
          {"peak_gflops_all_cores", all},
          {"cores", static_cast<double>(threads)},
          {"vector_width_floats", static_cast<double>(width)},
          {"peak_avx512_gflops_per_core", per_isa.avx512},
          {"peak_avx2_gflops_per_core", per_isa.avx2},
          // 512-bit FMAs per cycle per core: 2 where AVX-512 runs at twice the AVX2 rate
          {"fma_units_512bit", static_cast<double>(per_isa.fma_units_512bit())}};
}

BenchFigures bench_update(const UpdateBenchOptions& o) {
  const Config c = bench_config(o.sources, {"trainer.threads=0"}, kReferenceAgent);
  const auto [obs_dim, act_dim] = bench_sizes(o.sources, c, o.obs_dim, o.act_dim);
  Agent agent(c.agent, obs_dim, act_dim, 0);
  agent.set_threads(c.trainer.threads > 0 ? c.trainer.threads : all_cores());
  const int threads = agent.engine().threads();
  Batch& b = random_batch(agent);
  // The peak first, then update and floor interleaved twice (the lower of each), so that a change
  // in clock speed during the run touches both alike.
  int width = 0;
  const double peak = peak_of(threads, std::min(1.0, o.seconds / 2), &width);
  UpdateEngine& engine = agent.engine();
  // The floor is the same mix as the updates (one full update, d − 1 critic-only).
  const int delay = policy_delay(c);
  const auto floor_mix = [&] {
    engine.run_gemm_floor(true);
    for (int i = 1; i < delay; ++i) engine.run_gemm_floor(false);
  };
  double update_ms = 1e300, floor_ms = 1e300;
  for (int round = 0; round < 2; ++round) {
    update_ms = std::min(update_ms, mean_update_ms(agent, b, delay, o.seconds / 2));
    floor_ms = std::min(floor_ms, time_ms(floor_mix, o.seconds / 2) / delay);
  }
  const double flop = mean_update_flop(engine, delay);
  const double limit_ms = flop / (peak * 1e9) * 1e3;
  return {{"update_ms", update_ms},
          {"gemm_floor_ms", floor_ms},
          {"ratio", update_ms / floor_ms},
          {"flop_limit_ms", limit_ms},
          {"flop_fraction", limit_ms / update_ms},
          {"floor_flop_fraction", limit_ms / floor_ms},
          {"peak_gflops", peak},
          {"update_gflops", flop / (update_ms * 1e-3) / 1e9},
          {"update_mflop", flop / 1e6},
          {"gemm_count", static_cast<double>(engine.thread_gemms(true).size())},
          // 1: the AVX-512 kernels of gemm.h; 0: not (gemm_path below says which)
          {"avx512_gemm", gemm::path() == gemm::Path::kAvx512 ? 1.0 : 0.0},
          {"threads", static_cast<double>(threads)},
          {"shards", static_cast<double>(engine.shards())},
          {"critics", static_cast<double>(c.agent.n_critics)},
          {"batch", static_cast<double>(c.agent.batch_size)}};
}

BenchFigures bench_gemm(const GemmBenchOptions& o) {
  const Config c = bench_config(o.sources, {}, kReferenceAgent);
  const auto [obs_dim, act_dim] = bench_sizes(o.sources, c, o.obs_dim, o.act_dim);
  Agent agent(c.agent, obs_dim, act_dim, 0);
  agent.set_threads(c.trainer.threads > 0 ? c.trainer.threads : all_cores());
  // Thread 0's multiplies (one shard's at two threads), each shape once, in the order the update
  // first runs it.
  std::vector<GemmShape> shapes;
  std::map<std::tuple<bool, bool, int, int, int>, int> count;
  size_t biggest = 0;
  for (const GemmShape& g : agent.engine().thread_gemms(true)) {
    if (count[{g.trans_a, g.trans_b, g.m, g.n, g.k}]++ == 0) shapes.push_back(g);
    biggest = std::max({biggest, size_t(g.m) * g.k, size_t(g.k) * g.n, size_t(g.m) * g.n});
  }
  std::vector<float> scratch(3 * biggest, 0.01f);
  float* a = scratch.data();
  float* b = a + biggest;
  float* out = b + biggest;
  const double peak = simd::fma_peak_gflops(std::min(1.0, o.seconds * 2), nullptr);
  BenchFigures f = {{"peak_gflops_per_core", peak},
                    {"batch", static_cast<double>(c.agent.batch_size)},
                    {"shards", static_cast<double>(agent.engine().shards())}};
  // cblas_sgemm on one thread, as the engine runs it on one; the path and threads restored after
  struct Restore {
    gemm::Path path = gemm::path();
    int omp = omp_get_max_threads();
    ~Restore() {
      gemm::force(path);
      omp_set_num_threads(omp);
    }
  } restore;
  omp_set_num_threads(1);
  std::vector<gemm::Path> paths;
  for (const gemm::Path p : {gemm::Path::kAvx512, gemm::Path::kAvx2, gemm::Path::kBlas}) {
    if (gemm::supported(p)) {
      paths.push_back(p);
    } else {
      f.emplace_back(std::string(gemm::path_name(p)) + "_supported", 0.0);  // the CPU lacks it
    }
  }
  // Shape by shape, every path in turn, so that a change of clock speed touches the paths alike.
  std::vector<double> all_ms(paths.size(), 0.0);
  double all_flop = 0;
  for (const GemmShape& g : shapes) {
    const std::vector<GemmShape> one = {g};
    const double flop = gemm_flop(one);
    const int times = count[{g.trans_a, g.trans_b, g.m, g.n, g.k}];
    all_flop += times * flop;
    for (size_t i = 0; i < paths.size(); ++i) {
      gemm::force(paths[i]);
      const double ms = best_ms([&] { run_gemms(one, a, b, out); }, o.seconds);
      all_ms[i] += times * ms;
      const std::string name = std::string(g.trans_a ? "t" : "n") + (g.trans_b ? "t" : "n") + "_" +
                               std::to_string(g.m) + "x" + std::to_string(g.n) + "x" +
                               std::to_string(g.k) + "_" + gemm::path_name(paths[i]);
      f.emplace_back(name + "_gflops", flop / (ms * 1e-3) / 1e9);
    }
  }
  // the whole list, each multiply as often as one update runs it on a shard
  for (size_t i = 0; i < paths.size(); ++i) {
    const double gflops = all_flop / (all_ms[i] * 1e-3) / 1e9;
    f.emplace_back(std::string(gemm::path_name(paths[i])) + "_all_gflops", gflops);
    f.emplace_back(std::string(gemm::path_name(paths[i])) + "_all_fraction", gflops / peak);
  }
  return f;
}

BenchFigures bench_act(const ActBenchOptions& o) {
  const Config c = bench_config(o.sources, {}, {"agent.hidden=[256, 256]"});
  const auto [obs_dim, act_dim] = bench_sizes(o.sources, c, o.obs_dim, o.act_dim);
  Agent agent(c.agent, obs_dim, act_dim, 0);
  Rng rng(0);
  std::vector<double> obs(obs_dim);
  for (auto& x : obs) x = rng.normal();
  std::vector<float> action(act_dim);
  const int kCalls = 1000;
  // A fixed policy (evaluation; a DeployedPolicy acts the same way): the transposed copy.
  const double act_us = time_ms(
                            [&] {
                              for (int i = 0; i < kCalls; ++i) agent.act_fixed(obs, action.data());
                            },
                            o.seconds) *
                        1e3 / kCalls;
  // The training loop's act, between updates: the actor's own layout.
  const double act_train_us = time_ms(
                                  [&] {
                                    for (int i = 0; i < kCalls; ++i) agent.act(obs, action.data());
                                  },
                                  o.seconds) *
                              1e3 / kCalls;
  // Making that copy, which a fixed policy does once.
  const MlpShape& shape = agent.engine().actor_shape();
  FloatBuffer packed(shape.size());
  const double pack_us =
      time_ms([&] { mlp_pack_act(shape, agent.actor(), packed.data()); }, o.seconds) * 1e3;
  // The same actor through the dependency-free runtime (runtime/policy.h), from a policy file:
  // one observation, and a batch of 256 (per observation).
  EnvSpec spec;
  spec.id = "Bench-v0";
  spec.obs_dim = obs_dim;
  spec.act_dim = act_dim;
  spec.act_low.assign(act_dim, -1.0);
  spec.act_high.assign(act_dim, 1.0);
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("ddpg_bench_policy_" + std::to_string(::getpid()) + ".bin"))
                               .string();
  save_policy(path, agent, spec);
  runtime::Policy runtime_policy(path);
  std::filesystem::remove(path);
  std::vector<double> runtime_action(act_dim);
  const double runtime_us = time_ms(
                                [&] {
                                  for (int i = 0; i < kCalls; ++i)
                                    runtime_policy.act(obs.data(), runtime_action.data());
                                },
                                o.seconds) *
                            1e3 / kCalls;
  const int kRows = 256;
  std::vector<double> rows(static_cast<size_t>(kRows) * obs_dim), row_actions(kRows * act_dim);
  for (auto& x : rows) x = rng.normal();
  const double runtime_batch_us =
      time_ms([&] { runtime_policy.act_batch(rows.data(), kRows, row_actions.data()); },
              o.seconds) *
      1e3 / kRows;
  // The floor under act: one action reads every weight once, and on one core those weights (281
  // KiB for 17-256-256-6) sit in L2 between calls. Reading that many hot bytes, with nothing else
  // to do, takes weights_read_us; act_us over it says how far act is from that floor.
  const double weight_bytes = 4.0 * static_cast<double>(shape.size());
  const double read_gbps = simd::read_gbps(static_cast<int64_t>(weight_bytes), o.seconds);
  const double weights_read_us = weight_bytes / (read_gbps * 1e3);
  return {{"act_us", act_us},
          {"act_train_us", act_train_us},
          {"pack_us", pack_us},
          {"runtime_act_us", runtime_us},
          {"runtime_batch256_us_per_obs", runtime_batch_us},
          {"macs", static_cast<double>(shape.macs_per_row())},
          {"weights_kb", weight_bytes / 1024.0},
          {"weights_read_gbps", read_gbps},
          {"weights_read_us", weights_read_us},
          {"act_over_read_floor", act_us / weights_read_us}};
}

namespace {

// Trains `c` in a temporary folder (no evaluations but one episode at the end, no checkpoints
// before the end) and returns its summary.
TrainSummary train_briefly(Config c) {
  c.trainer.eval_every = 0;
  c.trainer.eval_episodes = 1;
  c.trainer.checkpoint_every = 1000000000000;
  char tmpl[] = "/tmp/ddpg_bench_XXXXXX";
  if (!mkdtemp(tmpl)) throw Error("bench: cannot create a folder in /tmp");
  const std::string dir = std::string(tmpl) + "/run";
  TrainOptions opts;
  opts.show_progress = false;
  opts.quiet = true;
  try {
    TrainSummary sum = train_new(c, dir, opts);
    std::filesystem::remove_all(tmpl);
    return sum;
  } catch (...) {
    std::filesystem::remove_all(tmpl);
    throw;
  }
}

}  // namespace

BenchFigures bench_train(const TrainBenchOptions& o) {
  if (o.sources.env_id.empty()) throw Error("bench train: name the env (--env ID)");
  std::vector<std::string> reference = kReferenceAgent;
  reference.push_back("trainer.learning_starts=5000");
  const Config c =
      bench_config(o.sources, {"trainer.threads=0", "trainer.total_steps=15000"}, reference);
  if (c.trainer.learning_starts >= c.trainer.total_steps) {
    throw Error("bench train: --steps must exceed --learning-starts (the timed part is after it)");
  }
  const TrainSummary sum = train_briefly(c);
  const int threads = c.trainer.threads > 0 ? c.trainer.threads : all_cores();

  // The update alone, same config and sizes, same threads.
  auto env = make_env(c.env.id, c.env.options);
  Agent agent(c.agent, env->spec().obs_dim, env->spec().act_dim, 0);
  agent.set_threads(threads);
  Batch& b = random_batch(agent);
  const int delay = policy_delay(c);
  const double update_ms = mean_update_ms(agent, b, delay, 2.0);
  const double steps_per_s = sum.learn_steps / sum.learn_seconds;
  // Updates per env step: the config's ratio, or what the run made (episode phases, -1).
  const bool fixed_ratio = c.trainer.update_unit == "step" && c.trainer.gradient_steps > 0;
  const double updates_per_step =
      fixed_ratio ? static_cast<double>(c.trainer.gradient_steps) / c.trainer.update_every
                  : static_cast<double>(sum.updates) / std::max<int64_t>(sum.learn_steps, 1);
  const double bound = 1e3 / (updates_per_step * update_ms);
  // The FLOP limit: the multiplies of one env step's updates at the measured peak of the cores
  // used.
  const double update_flop = mean_update_flop(agent.engine(), delay);
  const double peak_gflops = peak_of(threads, 1.0, nullptr);
  const double flop_limit = peak_gflops * 1e9 / (updates_per_step * update_flop);
  return {{"steps_per_s", steps_per_s},
          {"update_bound_steps_per_s", bound},
          {"ratio", steps_per_s / bound},
          {"flop_limit_steps_per_s", flop_limit},
          {"flop_fraction", steps_per_s / flop_limit},
          {"peak_gflops", peak_gflops},
          {"update_ms", update_ms},
          {"loop_update_ms", sum.updates > 0 ? 1e3 * sum.update_seconds / sum.updates : 0.0},
          {"timed_steps", static_cast<double>(sum.learn_steps)},
          {"updates", static_cast<double>(sum.updates)},
          {"num_envs", static_cast<double>(c.trainer.num_envs)},
          {"threads", static_cast<double>(threads)},
          {"update_every", static_cast<double>(c.trainer.update_every)},
          {"gradient_steps", static_cast<double>(c.trainer.gradient_steps)},
          {"batch", static_cast<double>(c.agent.batch_size)}};
}

namespace {

// Steps/s of `num_envs` envs stepped together by an EnvPool on `threads` threads, random actions.
double pooled_rate(const std::string& env_id, double seconds, int num_envs, int threads) {
  std::vector<std::unique_ptr<Env>> envs;
  for (int i = 0; i < num_envs; ++i) envs.push_back(make_env(env_id));
  EnvPool pool(std::move(envs), threads);
  const EnvSpec& spec = pool.env(0).spec();
  Rng rng(0);
  std::vector<std::vector<double>> actions(num_envs, std::vector<double>(spec.act_dim));
  std::vector<StepResult> results;
  for (int i = 0; i < num_envs; ++i) pool.env(i).reset(i);
  auto run = [&](int64_t n) {
    for (int64_t k = 0; k < n; ++k) {
      for (auto& a : actions) {
        for (int j = 0; j < spec.act_dim; ++j)
          a[j] = rng.uniform(spec.act_low[j], spec.act_high[j]);
      }
      pool.step(actions, results, true);
    }
  };
  run(50);
  int64_t n = 0;
  const auto t0 = Clock::now();
  double elapsed = 0;
  while (elapsed < seconds) {
    run(50);
    n += 50;
    elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
  }
  return n * num_envs / elapsed;
}

}  // namespace

BenchFigures bench_env(const std::string& env_id, double seconds, int num_envs, int threads) {
  if (num_envs > 1) {
    if (threads <= 0) threads = all_cores();
    const double one = pooled_rate(env_id, seconds, 1, 1);
    const double many = pooled_rate(env_id, seconds, num_envs, threads);
    return {{"env_steps_per_s", many},
            {"single_env_steps_per_s", one},
            {"speedup", many / one},
            {"num_envs", static_cast<double>(num_envs)},
            {"threads", static_cast<double>(std::min(threads, num_envs))}};
  }
  auto env = make_env(env_id);
  const EnvSpec& spec = env->spec();
  Rng rng(0);
  // Pregenerated random actions, so that drawing them is not timed.
  const int kActions = 4096;
  std::vector<std::vector<double>> actions(kActions, std::vector<double>(spec.act_dim));
  for (auto& a : actions) {
    for (int i = 0; i < spec.act_dim; ++i) a[i] = rng.uniform(spec.act_low[i], spec.act_high[i]);
  }
  env->reset(0);
  int64_t k = 0;
  std::vector<int64_t> episode_lengths;  // replayed by the raw loop, so both see the same states
  auto run_env = [&](int64_t n) {
    for (int64_t i = 0; i < n; ++i, ++k) {
      const StepResult r = env->step(actions[k % kActions]);
      if (r.terminated || r.truncated) {
        episode_lengths.push_back(env->elapsed_steps());
        env->reset();
      }
    }
  };
  auto rate = [&](auto&& fn) {
    fn(100);  // warm-up
    int64_t n = 0, chunk = 100;
    const auto t0 = Clock::now();
    double elapsed = 0;
    while (elapsed < seconds) {
      fn(chunk);
      n += chunk;
      elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
    }
    return n / elapsed;
  };
  BenchFigures figures;
  const double env_rate = rate(run_env);
  figures.push_back({"env_steps_per_s", env_rate});
  // The env's physics stepped bare: `step(action)` per env step with the same actions, and
  // `reset()` at the episode lengths the env had, so that both loops visit the same kind of states
  // (a fallen robot steps slower than a standing one, a resting Box2D body faster).
  if (episode_lengths.empty()) episode_lengths.push_back(spec.max_episode_steps);
  auto bare_rate = [&](auto&& reset, auto&& step) {
    int64_t j = 0, in_episode = 0;
    size_t episode = 0;
    return rate([&](int64_t n) {
      for (int64_t i = 0; i < n; ++i, ++j) {
        if (in_episode == 0) reset();
        step(actions[j % kActions]);
        if (++in_episode == episode_lengths[episode % episode_lengths.size()]) {
          in_episode = 0;
          ++episode;
        }
      }
    });
  };
  if (auto* mj = dynamic_cast<MujocoEnv*>(env.get())) {
    // The same model: frame_skip × mj_step per env step and nothing else.
    const mjModel* m = mj->model();
    mjData* d = mj_makeData(m);
    const int skip = mj->frame_skip();
    const double raw_rate = bare_rate([&] { mj_resetData(m, d); },
                                      [&](const std::vector<double>& a) {
                                        for (int u = 0; u < m->nu; ++u) d->ctrl[u] = a[u];
                                        for (int s = 0; s < skip; ++s) mj_step(m, d);
                                      });
    mj_deleteData(d);
    figures.push_back({"raw_steps_per_s", raw_rate});
    figures.push_back({"ratio", env_rate / raw_rate});
    figures.push_back({"frame_skip", static_cast<double>(skip)});
  } else if (auto* box = dynamic_cast<Box2dEnv*>(env.get())) {
    // The same worlds: the action applied to the bodies and one b2World::Step per env step (no
    // observation, lidar or reward).
    const double raw_rate =
        bare_rate([&] { box->reset(); }, [&](const std::vector<double>& a) { box->step_world(a); });
    figures.push_back({"raw_steps_per_s", raw_rate});
    figures.push_back({"ratio", env_rate / raw_rate});
  }
  return figures;
}

RunCost measure_run_cost(Config c, int64_t timed_steps) {
  // a warm-up long enough to fill a batch, short enough to be quick
  c.trainer.learning_starts = std::max<int64_t>(c.agent.batch_size, 1000);
  c.trainer.total_steps = c.trainer.learning_starts + timed_steps;
  const TrainSummary sum = train_briefly(c);
  RunCost cost;
  cost.learn_steps_per_s = sum.learn_steps / std::max(1e-9, sum.learn_seconds);
  // the warm-up and the evaluations step the env without updates
  cost.random_steps_per_s = pooled_rate(c.env.id, 0.5, 1, 1);
  return cost;
}

double estimate_run_seconds(const Config& c, const RunCost& cost) {
  const double total = static_cast<double>(c.trainer.total_steps);
  const double warm = std::min(total, static_cast<double>(c.trainer.learning_starts));
  auto env = make_env(c.env.id, c.env.options);
  const double episode = std::max(1, env->spec().max_episode_steps);
  const double evals = c.trainer.eval_every > 0 ? std::floor(total / c.trainer.eval_every) : 1;
  return warm / cost.random_steps_per_s + (total - warm) / cost.learn_steps_per_s +
         evals * c.trainer.eval_episodes * episode / cost.random_steps_per_s;
}

}  // namespace ddpg
