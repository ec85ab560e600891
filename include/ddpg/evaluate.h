// Deterministic evaluation: the policy without noise, over whole episodes of a separately seeded
// env. Each evaluation starts its env from the same seed, so evaluations at different points of a
// run (and of a resumed run) see the same start states and are comparable.
#pragma once

#include <functional>
#include <vector>

#include "ddpg/env.h"

namespace ddpg {

struct EvalResult {
  double mean_return = 0.0;
  double std_return = 0.0;  // population std over episodes
  double mean_length = 0.0;
  // Per episode, in order: the return, the number of steps, and whether the task ended it
  // (terminated) rather than the time limit (truncated) — SB3's evaluate_policy with
  // return_episode_rewards=True gives the first two.
  std::vector<double> returns;
  std::vector<int> lengths;
  std::vector<bool> terminated;
};

// Maps one observation to an action in [-1, 1] (act_dim floats).
using Policy = std::function<void(const std::vector<double>& obs, float* action)>;

// Runs `episodes` episodes; the first reset uses `seed`, later ones continue the env's RNG.
EvalResult evaluate(const Policy& policy, Env& env, int episodes, uint64_t seed);

}  // namespace ddpg
