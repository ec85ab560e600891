// library_demo POLICY: with the whole library, makes the policy's env, runs one episode of 50 steps
// with the project's DeployedPolicy and with the runtime side by side, and prints the largest
// difference between their actions and the episode's return.
#include <ddpg/agent.h>
#include <ddpg/env.h>
#include <ddpg/runtime/policy.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: library_demo POLICY\n");
    return 2;
  }
  try {
    ddpg::DeployedPolicy deployed = ddpg::load_policy(argv[1]);
    ddpg::runtime::Policy runtime(argv[1]);
    auto env = ddpg::make_env(deployed.env().id);
    std::vector<float> unit(env->spec().act_dim);
    std::vector<double> action;
    double worst = 0.0, ret = 0.0;
    env->reset(0);
    for (int t = 0; t < 50; ++t) {
      deployed.act(env->obs(), unit.data());
      ddpg::rescale_action(unit.data(), env->spec(), action);
      const std::vector<double> other = runtime.act(env->obs());
      for (size_t j = 0; j < action.size(); ++j)
        worst = std::max(worst, std::abs(action[j] - other[j]));
      ret += env->step(action).reward;
    }
    std::printf("env=%s return=%.6g max_diff=%.3g\n", env->spec().id.c_str(), ret, worst);
    return worst <= 1e-5 ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "library_demo: %s\n", e.what());
    return 1;
  }
}
