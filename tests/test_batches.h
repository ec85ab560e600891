// Test helper: fills an agent's preallocated batch with random transitions (none terminated).
#pragma once

#include "ddpg/agent.h"

namespace ddpg {

inline void fill_random(Batch& b) {
  b.obs.normal_();
  b.next_obs.normal_();
  b.action.uniform_(-1, 1);
  b.reward.normal_();
  b.terminated.zero_();
}

}  // namespace ddpg
