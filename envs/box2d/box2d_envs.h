// The Box2D family (Gymnasium's gymnasium/envs/box2d): LunarLanderContinuous-v3,
// BipedalWalker-v3 and BipedalWalkerHardcore-v3, registered for env_registry().
#pragma once

#include <vector>

#include "ddpg/env.h"

namespace ddpg {

void register_box2d_envs(std::vector<EnvInfo>& registry);

}  // namespace ddpg
