// runtime_demo POLICY: loads a policy file with the runtime alone and prints its action for an
// all-zero observation and for a batch of two (the outside-project test compares them).
#include <ddpg/runtime/policy.h>

#include <cstdio>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: runtime_demo POLICY\n");
    return 2;
  }
  try {
    ddpg::runtime::Policy policy(argv[1]);
    std::vector<double> obs(policy.obs_dim(), 0.0);
    const std::vector<double> action = policy.act(obs);
    std::printf("env=%s obs_dim=%d act_dim=%d action=", policy.info().env_id.c_str(),
                policy.obs_dim(), policy.act_dim());
    for (double a : action) std::printf("%.9g ", a);
    std::vector<double> two(2 * policy.obs_dim(), 0.0), actions(2 * policy.act_dim());
    policy.act_batch(two.data(), 2, actions.data());
    std::printf("\nbatch=");
    for (double a : actions) std::printf("%.9g ", a);
    std::printf("\n");
  } catch (const ddpg::runtime::Error& e) {
    std::fprintf(stderr, "runtime_demo: %s\n", e.what());
    return 1;
  }
  return 0;
}
