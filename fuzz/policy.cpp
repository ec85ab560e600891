// Fuzz target: a policy file as `ddpg eval` and deployments load it (the project's load_policy and
// the dependency-free runtime, runtime/policy.h), then one action from each. Any input may be
// refused, only with ddpg::Error or ddpg::runtime::Error; a loaded policy acts without fault.
// Bit 1 of the first byte picks the format version (2, or 3 with the env's id and bounds).
#include "ddpg/runtime/policy.h"

#include <vector>

#include "ddpg/agent.h"
#include "fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ddpg;
  const std::string path = fuzz::scratch_dir() + "/policy.bin";
  const uint32_t version = size > 0 && (data[0] & 2) ? 3 : 2;
  const std::string file = fuzz::archive_from(data, size, "DDPGPOLI", version);
  write_file_atomic(path, file);
  try {
    DeployedPolicy policy = load_policy(path);
    std::vector<double> obs(policy.obs_dim(), 0.5);
    std::vector<float> action(policy.act_dim());
    policy.act(obs, action.data());
  } catch (const Error&) {
  }
  try {
    runtime::Policy policy = runtime::Policy::from_bytes(file, "fuzz");
    std::vector<double> obs(2 * static_cast<size_t>(policy.obs_dim()), 0.5);
    std::vector<double> actions(2 * static_cast<size_t>(policy.act_dim()));
    policy.act_batch(obs.data(), 2, actions.data());
  } catch (const runtime::Error&) {
  }
  return 0;
}
