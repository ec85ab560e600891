// Rollout: an env stepped from reset(seed) through given actions, as `ddpg rollout` prints it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ddpg/env.h"

namespace ddpg {

// Actions from CSV text: one row per step, `act_dim` comma-separated finite numbers per row (blank
// lines are skipped). Throws Error naming `what`, the line and the fault (not a number, not
// finite, the wrong count for `env_id`).
std::vector<std::vector<double>> parse_actions_csv(const std::string& text, int act_dim,
                                                   const std::string& what,
                                                   const std::string& env_id);

// The trajectory as CSV: `step,reward,terminated,truncated,obs_0,...`, row 0 the reset
// observation, then one row per action until the actions or the episode end. `unused` (if given)
// receives the number of action rows left when the episode ended first.
std::string rollout_csv(Env& env, uint64_t seed, const std::vector<std::vector<double>>& actions,
                        size_t* unused = nullptr);

}  // namespace ddpg
