// Fuzz target: MJCF text through this project's parser for the Bullet envs (envs/bullet), then
// each model built into a Bullet world, stepped and removed. Any input may be refused, only with
// ddpg::Error.
#include "envs/bullet/bullet_env.h"
#include "envs/bullet/mjcf_to_bullet.h"
#include "fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ddpg;
  std::vector<mjcf::Model> models;
  try {
    models = mjcf::parse_mjcf(fuzz::as_text(data, size), "fuzz.xml");
  } catch (const Error&) {
    return 0;
  }
  BulletWorld world(9.8, 0.0165 / 4, 4);
  for (const mjcf::Model& m : models) {
    mjcf::Built built = mjcf::add_to_world(m, world.dynamics(), true);
    world.step();
    mjcf::remove_from_world(built, world.dynamics());
  }
  return 0;
}
