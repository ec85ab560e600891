// Deterministic evaluation: see evaluate.h.
#include "ddpg/evaluate.h"

#include <cmath>

namespace ddpg {

EvalResult evaluate(const Policy& policy, Env& env, int episodes, uint64_t seed) {
  EvalResult r;
  const EnvSpec& spec = env.spec();
  std::vector<float> action(spec.act_dim);
  std::vector<double> env_action;
  double total_length = 0;
  for (int ep = 0; ep < episodes; ++ep) {
    env.reset(ep == 0 ? std::optional<uint64_t>(seed) : std::nullopt);
    double ret = 0;
    int length = 0;
    bool ended_by_task = false;
    for (;;) {
      policy(env.obs(), action.data());
      rescale_action(action.data(), spec, env_action);
      const StepResult s = env.step(env_action);
      ret += s.reward;
      ++length;
      if (s.terminated || s.truncated) {
        ended_by_task = s.terminated;
        break;
      }
      if (spec.max_episode_steps == 0 && env.elapsed_steps() >= 100000) break;  // safety net
    }
    r.returns.push_back(ret);
    r.lengths.push_back(length);
    r.terminated.push_back(ended_by_task);
    total_length += length;
  }
  double sum = 0, sq = 0;
  for (double x : r.returns) sum += x;
  r.mean_return = sum / episodes;
  for (double x : r.returns) sq += (x - r.mean_return) * (x - r.mean_return);
  r.std_return = std::sqrt(sq / episodes);
  r.mean_length = total_length / episodes;
  return r;
}

}  // namespace ddpg
