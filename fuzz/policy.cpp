// Fuzz target: a policy file as `ddpg eval` and deployments load it, then one action from it.
// Any input may be refused, only with ddpg::Error; a loaded policy acts without fault.
#include <vector>

#include "ddpg/agent.h"
#include "fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ddpg;
  const std::string path = fuzz::scratch_dir() + "/policy.bin";
  write_file_atomic(path, fuzz::archive_from(data, size, "DDPGPOLI", 2));
  try {
    DeployedPolicy policy = load_policy(path);
    std::vector<double> obs(policy.obs_dim(), 0.5);
    std::vector<float> action(policy.act_dim());
    policy.act(obs, action.data());
  } catch (const Error&) {
  }
  return 0;
}
