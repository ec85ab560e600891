// Registers the Box2D family: see box2d_envs.h.
#include "envs/box2d/bipedal_walker.h"
#include "envs/box2d/box2d_envs.h"
#include "envs/box2d/lunar_lander.h"

namespace ddpg {

void register_box2d_envs(std::vector<EnvInfo>& registry) {
  registry.push_back({"LunarLanderContinuous-v3", "box2d",
                      "land on the pad with a main and two side engines; +100 at rest, -100 on a "
                      "crash (Gymnasium)",
                      [](EnvOptions& options) -> std::unique_ptr<Env> {
                        return std::make_unique<LunarLander>(options);
                      }});
  registry.push_back({"BipedalWalker-v3", "box2d",
                      "a 2-legged walker on rough grass, scored on forward progress; -100 on a "
                      "fall (Gymnasium)",
                      [](EnvOptions& options) -> std::unique_ptr<Env> {
                        return std::make_unique<BipedalWalker>(options, false);
                      }});
  registry.push_back({"BipedalWalkerHardcore-v3", "box2d",
                      "BipedalWalker-v3 with stumps, stairs and pits on the way (Gymnasium)",
                      [](EnvOptions& options) -> std::unique_ptr<Env> {
                        return std::make_unique<BipedalWalker>(options, true);
                      }});
}

}  // namespace ddpg
