// EnvPool: see env_pool.h. The threads are OpenMP's (the same team the update engine uses), so no
// extra threads compete for the cores.
#include "ddpg/env_pool.h"

#include <omp.h>

#include <algorithm>
#include <exception>

namespace ddpg {

EnvPool::EnvPool(std::vector<std::unique_ptr<Env>> envs, int threads)
    : envs_(std::move(envs)),
      final_obs_(envs_.size()),
      threads_(std::max(1, std::min<int>(threads, envs_.size()))) {}

void EnvPool::step_one(int i, const std::vector<double>& action, StepResult& result,
                       bool autoreset) {
  Env& env = *envs_[i];
  result = env.step(action);
  if (autoreset && (result.terminated || result.truncated)) {
    final_obs_[i] = env.obs();
    env.reset();
  }
}

void EnvPool::step(const std::vector<std::vector<double>>& actions,
                   std::vector<StepResult>& results, bool autoreset) {
  const int n = size();
  results.resize(n);
  if (threads_ == 1) {
    for (int i = 0; i < n; ++i) step_one(i, actions[i], results[i], autoreset);
    return;
  }
  std::vector<std::exception_ptr> errors(n);
#pragma omp parallel for num_threads(threads_) schedule(static)
  for (int i = 0; i < n; ++i) {
    try {
      step_one(i, actions[i], results[i], autoreset);
    } catch (...) {
      errors[i] = std::current_exception();
    }
  }
  for (auto& e : errors) {
    if (e) std::rethrow_exception(e);
  }
}

}  // namespace ddpg
