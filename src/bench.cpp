// Benchmarks: see bench.h.
#include "ddpg/bench.h"

#include <chrono>

#include "ddpg/agent.h"
#include "ddpg/env.h"
#include "ddpg/rng.h"
#include "envs/mujoco/mujoco_env.h"

namespace ddpg {
namespace {

using Clock = std::chrono::steady_clock;

// Runs `fn` repeatedly for about `seconds` after a warm-up; returns the median of 5 rounds, in ms.
template <class F>
double time_ms(F&& fn, double seconds) {
  for (int i = 0; i < 3; ++i) fn();
  const auto t0 = Clock::now();
  int n = 0;
  while (std::chrono::duration<double>(Clock::now() - t0).count() < seconds / 5 || n < 3) {
    fn();
    ++n;
  }
  std::vector<double> rounds;
  for (int r = 0; r < 5; ++r) {
    const auto a = Clock::now();
    for (int i = 0; i < n; ++i) fn();
    rounds.push_back(std::chrono::duration<double, std::milli>(Clock::now() - a).count() / n);
  }
  std::sort(rounds.begin(), rounds.end());
  return rounds[2];
}

struct Gemm {
  int64_t m, k, n;  // (m, k) x (k, n)
};

// The matrix multiplies one update needs: forward of every layer it evaluates, the weight gradients
// of the trained network, and the input gradients needed to reach earlier layers.
std::vector<Gemm> update_gemms(const UpdateBenchOptions& o) {
  const int64_t B = o.batch;
  std::vector<std::pair<int64_t, int64_t>> actor, critic;  // (in, out) per layer
  int64_t in = o.obs_dim;
  for (int h : o.hidden) {
    actor.push_back({in, h});
    in = h;
  }
  actor.push_back({in, o.act_dim});
  in = o.obs_dim + o.act_dim;
  for (int h : o.hidden) {
    critic.push_back({in, h});
    in = h;
  }
  critic.push_back({in, 1});
  std::vector<Gemm> g;
  auto forward = [&](const auto& net) {
    for (auto [i, out] : net) g.push_back({B, i, out});
  };
  auto weight_grads = [&](const auto& net) {
    for (auto [i, out] : net) g.push_back({out, B, i});
  };
  auto input_grads = [&](const auto& net, bool first_too) {
    for (size_t l = first_too ? 0 : 1; l < net.size(); ++l)
      g.push_back({B, net[l].second, net[l].first});
  };
  forward(actor);   // target actor on s'
  forward(critic);  // target critic
  forward(critic);  // critic on (s, a)
  weight_grads(critic);
  input_grads(critic, false);
  forward(actor);   // actor on s
  forward(critic);  // critic on (s, π(s))
  input_grads(critic, true);
  weight_grads(actor);
  input_grads(actor, false);
  return g;
}

}  // namespace

BenchFigures bench_update(const UpdateBenchOptions& o) {
  torch::set_num_threads(o.threads);
  AgentConfig cfg;
  cfg.hidden = o.hidden;
  cfg.batch_size = o.batch;
  Agent agent(cfg, o.obs_dim, o.act_dim, 0);
  Batch& b = agent.batch();
  b.obs.normal_();
  b.next_obs.normal_();
  b.action.uniform_(-1, 1);
  b.reward.normal_();
  b.terminated.zero_();
  const double update_ms = time_ms([&] { agent.update(b); }, o.seconds);

  const std::vector<Gemm> gemms = update_gemms(o);
  std::vector<torch::Tensor> lhs, rhs, outs;
  double flops = 0;
  for (const auto& g : gemms) {
    lhs.push_back(torch::randn({g.m, g.k}));
    rhs.push_back(torch::randn({g.k, g.n}));
    outs.push_back(torch::empty({g.m, g.n}));
    flops += 2.0 * g.m * g.k * g.n;
  }
  const double floor_ms = time_ms(
      [&] {
        for (size_t i = 0; i < gemms.size(); ++i) torch::mm_out(outs[i], lhs[i], rhs[i]);
      },
      o.seconds);
  return {{"update_ms", update_ms},
          {"gemm_floor_ms", floor_ms},
          {"ratio", update_ms / floor_ms},
          {"gemm_count", static_cast<double>(gemms.size())},
          {"update_mflop", flops / 1e6},
          {"update_gflops", flops / (update_ms * 1e-3) / 1e9},
          {"threads", static_cast<double>(o.threads)},
          {"batch", static_cast<double>(o.batch)}};
}

BenchFigures bench_env(const std::string& env_id, double seconds) {
  auto env = make_env(env_id);
  const EnvSpec& spec = env->spec();
  Rng rng(0);
  // Pregenerated random actions, so that drawing them is not timed.
  const int kActions = 4096;
  std::vector<std::vector<double>> actions(kActions, std::vector<double>(spec.act_dim));
  for (auto& a : actions) {
    for (int i = 0; i < spec.act_dim; ++i) a[i] = rng.uniform(spec.act_low[i], spec.act_high[i]);
  }
  env->reset(0);
  int64_t k = 0;
  std::vector<int64_t> episode_lengths;  // replayed by the raw loop, so both see the same states
  auto run_env = [&](int64_t n) {
    for (int64_t i = 0; i < n; ++i, ++k) {
      const StepResult r = env->step(actions[k % kActions]);
      if (r.terminated || r.truncated) {
        episode_lengths.push_back(env->elapsed_steps());
        env->reset();
      }
    }
  };
  auto rate = [&](auto&& fn) {
    fn(100);  // warm-up
    int64_t n = 0, chunk = 100;
    const auto t0 = Clock::now();
    double elapsed = 0;
    while (elapsed < seconds) {
      fn(chunk);
      n += chunk;
      elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
    }
    return n / elapsed;
  };
  BenchFigures figures;
  const double env_rate = rate(run_env);
  figures.push_back({"env_steps_per_s", env_rate});
  if (auto* mj = dynamic_cast<MujocoEnv*>(env.get())) {
    // The same model, stepped bare: frame_skip × mj_step per env step and nothing else, with the
    // same actions and the episode lengths the env had (a fallen robot steps slower than a
    // standing one, so the two loops must visit the same kind of states).
    const mjModel* m = mj->model();
    mjData* d = mj_makeData(m);
    const int skip = mj->frame_skip();
    if (episode_lengths.empty()) episode_lengths.push_back(spec.max_episode_steps);
    int64_t j = 0, in_episode = 0;
    size_t episode = 0;
    auto run_raw = [&](int64_t n) {
      for (int64_t i = 0; i < n; ++i, ++j) {
        if (in_episode == 0) mj_resetData(m, d);
        const auto& a = actions[j % kActions];
        for (int u = 0; u < m->nu; ++u) d->ctrl[u] = a[u];
        for (int s = 0; s < skip; ++s) mj_step(m, d);
        if (++in_episode == episode_lengths[episode % episode_lengths.size()]) {
          in_episode = 0;
          ++episode;
        }
      }
    };
    const double raw_rate = rate(run_raw);
    mj_deleteData(d);
    figures.push_back({"raw_steps_per_s", raw_rate});
    figures.push_back({"ratio", env_rate / raw_rate});
    figures.push_back({"frame_skip", static_cast<double>(skip)});
  }
  return figures;
}

}  // namespace ddpg
