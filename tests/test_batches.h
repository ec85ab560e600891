// Test helper: fills an agent's preallocated batch with random transitions (none terminated, the
// discount column left as the agent set it).
#pragma once

#include <algorithm>

#include "ddpg/agent.h"
#include "ddpg/rng.h"

namespace ddpg {

inline void fill_random(Batch& b, Rng& rng) {
  for (auto& x : b.obs) x = static_cast<float>(rng.normal());
  for (auto& x : b.next_obs) x = static_cast<float>(rng.normal());
  for (auto& x : b.action) x = static_cast<float>(rng.uniform(-1, 1));
  for (auto& x : b.reward) x = static_cast<float>(rng.normal());
  std::fill(b.terminated.begin(), b.terminated.end(), 0.0f);
}

// The same from one stream shared by the test binary (each call a new batch).
inline void fill_random(Batch& b) {
  static Rng rng(11);
  fill_random(b, rng);
}

}  // namespace ddpg
