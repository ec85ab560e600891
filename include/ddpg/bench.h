// Benchmarks behind `ddpg bench ...`: each returns named figures, printed as name=value lines.
// docs/performance.md explains the method and records the figures of our machine.
//
// bench peak   the FP32 multiply-add peak of one core and of `threads` cores at once, and of one
//              core at each vector width, with the 512-bit FMA units per core inferred from them.
// bench update one update (agent.update on a full batch) beside the time of its matrix multiplies
//              alone, run with the same shapes and the same threading in the same process ("gemm
//              floor"): ratio = update_ms / gemm_floor_ms; and against the FLOP limit of the cores
//              it uses: flop_fraction = update FLOP / (update time × measured peak of those cores).
// bench gemm   each distinct matrix multiply of one update (its shapes on one shard), alone on one
//              core with its operands hot, on every multiply path the CPU can run (our AVX-512 and
//              AVX2 kernels, and cblas_sgemm on one thread): GFLOP/s and the fraction of the
//              one-core peak, per multiply and for the whole list.
// bench act    one action for one observation (Agent::act, the float kernels), and the same actor
//              through the dependency-free policy runtime (runtime/policy.h), alone and in batches.
// bench env    env steps per second under random actions, for one env or `num_envs` envs stepped
//              together; for MuJoCo envs also the raw mj_step rate of the same model.
// bench train  the whole training loop (act, step, store, sample, update) on an env, in steps
//              per second after learning starts, beside the rate the update time alone allows:
//              update_bound_steps_per_s = update_every / (gradient_steps × update_ms); and
//              against the FLOP limit: flop_fraction = steps_per_s / flop_limit_steps_per_s, the
//              limit being the measured peak of the cores used over the update FLOP per env step.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "ddpg/config.h"

namespace ddpg {

using BenchFigures = std::vector<std::pair<std::string, double>>;

// The machine every figure comes from, printed before them: the CPU (vendor name, family and
// model), the multiply path in use (gemm_path: avx512, avx2 or blas) and the ISA of the other
// vectorised kernels (simd_isa).
std::vector<std::pair<std::string, std::string>> bench_machine();

BenchFigures bench_peak(double seconds, int threads);

// The agent (and for bench train the whole run) of a benchmark is a config like a run's, from the
// same sources: --env, --preset, --config files, --set (the short flags such as --hidden and
// --batch are aliases of --set). Without a preset or config file, the agent starts from the
// benchmarks' reference sizes (256-256, batch 256) so that figures stay comparable over time.
struct UpdateBenchOptions {
  ConfigSources sources;
  int obs_dim = 17;  // HalfCheetah's sizes, unless --env names an env
  int act_dim = 6;
  double seconds = 2.0;  // measuring time per figure
};

// One update on a full random batch, with trainer.threads (default 2) cores.
BenchFigures bench_update(const UpdateBenchOptions& opts);

struct GemmBenchOptions {
  ConfigSources sources;
  int obs_dim = 17;
  int act_dim = 6;
  double seconds = 0.3;  // measuring time per multiply and path
};

// The update's multiplies one by one; see above. Leaves the multiply path as it found it.
BenchFigures bench_gemm(const GemmBenchOptions& opts);

struct ActBenchOptions {
  ConfigSources sources;
  int obs_dim = 17;
  int act_dim = 6;
  double seconds = 1.0;
};

BenchFigures bench_act(const ActBenchOptions& opts);

// bench env: env steps per second under random actions (one env, and `num_envs` together).
BenchFigures bench_env(const std::string& env_id, double seconds, int num_envs, int threads);

struct TrainBenchOptions {
  ConfigSources sources;  // env required; trainer.total_steps default 15000, learning_starts 5000
};

BenchFigures bench_train(const TrainBenchOptions& opts);

// The speed of one run's config, measured by training it briefly (as bench train, on the config's
// own threads): env steps/s while learning, and during the uniform-random warm-up (the env and
// the loop alone, which also prices evaluation episodes).
struct RunCost {
  double learn_steps_per_s = 0;
  double random_steps_per_s = 0;
};
RunCost measure_run_cost(Config cfg, int64_t timed_steps);
// The wall seconds a whole run of `cfg` takes at that speed: warm-up, learning, and its
// evaluations (counted as full-length episodes, an upper bound for envs that terminate early).
double estimate_run_seconds(const Config& cfg, const RunCost& cost);

}  // namespace ddpg
