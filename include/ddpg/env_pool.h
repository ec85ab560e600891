// EnvPool: several envs stepped together on a few threads (the trainer's `trainer.num_envs`).
//
// step() advances every env by one step with its own action, spreading the envs over the threads in
// fixed contiguous blocks; each env is touched by one thread only, so results are the same for any
// thread count. Errors thrown by an env (a NaN observation, say) are caught on its thread and
// rethrown from step() on the caller's thread, the lowest env index first.
#pragma once

#include <memory>
#include <vector>

#include "ddpg/env.h"

namespace ddpg {

class EnvPool {
 public:
  EnvPool(std::vector<std::unique_ptr<Env>> envs, int threads);

  int size() const { return static_cast<int>(envs_.size()); }
  Env& env(int i) { return *envs_[i]; }
  int threads() const { return threads_; }

  // results[i] = env(i).step(actions[i]) for every i, in parallel. With `autoreset`, an env whose
  // episode ended (terminated or truncated) is reset on its thread right away: its last
  // observation is then final_obs(i) and env(i).obs() is the first of the next episode.
  void step(const std::vector<std::vector<double>>& actions, std::vector<StepResult>& results,
            bool autoreset = false);
  const std::vector<double>& final_obs(int i) const { return final_obs_[i]; }

 private:
  void step_one(int i, const std::vector<double>& action, StepResult& result, bool autoreset);
  std::vector<std::unique_ptr<Env>> envs_;
  std::vector<std::vector<double>> final_obs_;
  int threads_;
};

}  // namespace ddpg
