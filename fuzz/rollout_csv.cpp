// Fuzz target: an actions CSV as `ddpg rollout Hopper-v4 --actions FILE` reads it, then the
// rollout through those actions. Any input may be refused, only with ddpg::Error.
#include <memory>

#include "ddpg/env.h"
#include "ddpg/rollout.h"
#include "fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ddpg;
  static const std::unique_ptr<Env> env = make_env("Hopper-v4", {});
  try {
    const auto actions =
        parse_actions_csv(fuzz::as_text(data, size), env->spec().act_dim, "fuzz.csv", "Hopper-v4");
    rollout_csv(*env, 0, actions);
  } catch (const Error&) {
  }
  return 0;
}
