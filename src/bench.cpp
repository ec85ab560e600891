// Benchmarks: see bench.h.
#include "ddpg/bench.h"

#include <chrono>

#include "ddpg/agent.h"

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

}  // namespace ddpg
