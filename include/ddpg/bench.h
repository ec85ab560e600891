// Benchmarks behind `ddpg bench ...`: each returns named figures, printed as name=value lines.
//
// bench update: the time of one DDPG update (agent.update on a full batch) beside the summed time
// of the matrix multiplies that update cannot avoid, for the same shapes, measured in the same run
// with the same thread count ("gemm floor"). ratio = update_ms / gemm_floor_ms.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace ddpg {

using BenchFigures = std::vector<std::pair<std::string, double>>;

struct UpdateBenchOptions {
  std::vector<int> hidden{256, 256};
  int batch = 256;
  int threads = 1;
  int obs_dim = 17;  // HalfCheetah's sizes by default
  int act_dim = 6;
  double seconds = 2.0;  // measuring time per figure
};

BenchFigures bench_update(const UpdateBenchOptions& opts);

// bench env: env steps per second under uniform random actions (resetting at episode ends), and for
// MuJoCo envs the raw mj_step rate of the same model divided by the frame skip, measured in the
// same run: env_steps_per_s, raw_steps_per_s, ratio = env / raw.
BenchFigures bench_env(const std::string& env_id, double seconds);

}  // namespace ddpg
