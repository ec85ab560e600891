// The product's update against the oracle (oracle.h): the hand-written forward/backward passes,
// fused Adam and Polyak averaging give the same parameters as LibTorch autograd with
// torch.optim.Adam on the same batch, for every switch the engine implements (several critics,
// delay, action at a later layer, LayerNorm, activations, weight decay, gradient clipping,
// observation normalisation, uneven shards, target-action noise per sample and shared, target
// actor weight noise for all matrices and per matrix, n-step discounts, terminated rows), with our
// multiply kernels and with BLAS, the agent's random draws replayed in the reference. Also: acting
// equals the module's forward, Adam equals torch.optim.Adam, and initialisation has nn.Linear's
// distribution.
#include "tests/oracle.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <string>

#include "ddpg/agent.h"
#include "ddpg/gemm.h"
#include "tests/test_batches.h"

namespace ddpg {
namespace {

struct Case {
  const char* name;
  void (*edit)(AgentConfig&);
};

class EngineMatchesAutograd : public testing::TestWithParam<Case> {};

// Puts a multiply path in place for a scope, then the initial one back.
struct ForcePath {
  explicit ForcePath(gemm::Path p) { gemm::force(p); }
  ~ForcePath() { gemm::reset(); }
};

// Every multiply path this CPU has: the AVX-512 and AVX2 kernels, and BLAS.
TEST_P(EngineMatchesAutograd, AfterSeveralUpdates) {
  for (gemm::Path path : {gemm::Path::kAvx512, gemm::Path::kAvx2, gemm::Path::kBlas}) {
    if (!gemm::supported(path)) {
      std::printf("(this CPU lacks the %s multiply path: not tested here)\n",
                  gemm::path_name(path));
      continue;
    }
    SCOPED_TRACE(std::string("multiply path ") + gemm::path_name(path));
    const ForcePath force(path);
    AgentConfig c;
    c.hidden = {32, 24};
    c.batch_size = 16;
    c.actor_lr = 3e-3;
    c.critic_lr = 3e-3;
    c.tau = 0.05;
    GetParam().edit(c);
    const int obs_dim = 5, act_dim = 3;
    Agent agent(c, obs_dim, act_dim, 7);
    agent.set_threads(2);
    if (c.obs_norm) {
      Rng rng(4);
      for (int i = 0; i < 50; ++i) {
        std::vector<double> o(obs_dim);
        for (int j = 0; j < obs_dim; ++j) o[j] = 3.0 * j + (j + 1) * rng.normal();
        agent.observe(o);
      }
    }
    oracle::Reference ref(agent);
    Rng rng(11);
    for (int k = 0; k < 4; ++k) {
      Batch& b = agent.batch();
      fill_random(b, rng);
      if (c.obs_norm) {
        for (auto& x : b.obs) x = 4 * x + 2;
      }
      // Rows that end the episode (no bootstrap) and, with n-step, shorter bootstraps γ^k.
      b.terminated[1] = b.terminated[6] = 1.0f;
      if (c.n_step > 1) {
        for (int i = 0; i < b.size; ++i) {
          b.discount[i] = static_cast<float>(std::pow(c.gamma, 1 + i % c.n_step));
        }
      }
      agent.update(b);
      ref.update(b, agent.obs_normalizer(), agent.last_target_draws());
      EXPECT_LT(ref.max_difference(agent), 2e-5) << "after update " << k + 1;
      // terminated rows: y = r exactly
      EXPECT_FLOAT_EQ(ref.last_target()[1][0].item<float>(), b.reward[1]);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Switches, EngineMatchesAutograd,
                         testing::Values(Case{"ddpg", [](AgentConfig&) {}},
                                         Case{"td3_paper_critic_layer_norm",
                                              [](AgentConfig& c) {
                                                c.n_critics = 2;
                                                c.policy_delay = 2;
                                                c.critic_action_layer = 1;
                                                c.layer_norm = "both";
                                                c.activation = "elu";
                                                c.critic_weight_decay = 0.01;
                                              }},
                                         Case{"clip_tanh_three_uneven_shards",
                                              [](AgentConfig& c) {
                                                c.grad_clip =
                                                    0.05;  // small enough to act on every update
                                                c.activation = "tanh";
                                                c.batch_shards = 3;
                                              }},
                                         Case{"obs_norm_leaky_actor_layer_norm",
                                              [](AgentConfig& c) {
                                                c.obs_norm = true;
                                                c.obs_norm_clip = 1.5;
                                                c.activation = "leaky_relu";
                                                c.layer_norm = "actor";
                                                c.batch_shards = 1;
                                              }},
                                         Case{"td3_target_noise_per_sample_n_step",
                                              [](AgentConfig& c) {
                                                c.n_critics = 2;
                                                c.policy_delay = 2;
                                                c.target_noise = 0.3;  // some draws clipped at 0.5
                                                c.target_noise_clip = 0.5;
                                                c.n_step = 3;
                                              }},
                                         Case{"target_noise_shared",
                                              [](AgentConfig& c) {
                                                c.target_noise = 0.3;
                                                c.target_noise_draw = "shared";
                                              }},
                                         Case{"critic_action_scale_td3",
                                              [](AgentConfig& c) {
                                                c.critic_action_scale = 3.0;
                                                c.n_critics = 2;
                                                c.target_noise = 0.3;
                                              }},
                                         Case{"critic_action_scale_paper_critic",
                                              [](AgentConfig& c) {
                                                c.critic_action_scale = 0.4;
                                                c.critic_action_layer = 1;
                                              }},
                                         Case{"target_weight_noise_all",
                                              [](AgentConfig& c) {
                                                c.target_weight_noise = 0.05;
                                                c.layer_norm = "actor";
                                              }},
                                         Case{"target_weight_noise_per_matrix_with_action_noise",
                                              [](AgentConfig& c) {
                                                c.target_weight_noise = 0.2;
                                                c.target_weight_noise_draw = "per_matrix";
                                                c.target_noise = 0.1;
                                                c.n_critics = 2;
                                              }}),
                         [](const testing::TestParamInfo<Case>& info) {
                           return std::string(info.param.name);
                         });

TEST(Oracle, ActingEqualsTheModuleForward) {
  AgentConfig c;
  c.hidden = {48, 40};
  c.layer_norm = "both";
  c.activation = "elu";
  Agent agent(c, 17, 6, 2);
  oracle::Actor actor(17, 6, c);
  oracle::load_flat(*actor, agent.engine().actor_shape(), agent.actor());
  Rng rng(1);
  for (int k = 0; k < 10; ++k) {
    std::vector<double> obs(17);
    for (auto& o : obs) o = 2.0 * rng.normal();
    float a[6];
    agent.act(obs, a);
    torch::Tensor x = torch::zeros({1, 17});
    for (int j = 0; j < 17; ++j) x[0][j] = static_cast<float>(obs[j]);
    torch::NoGradGuard g;
    const torch::Tensor ref = actor->forward(x);
    for (int j = 0; j < 6; ++j) EXPECT_NEAR(a[j], ref[0][j].item<float>(), 2e-6);
  }
}

TEST(Oracle, FlatAdamMatchesLibTorch) {
  torch::manual_seed(3);
  torch::Tensor p1 = torch::randn({5, 4});
  torch::Tensor p2 = p1.clone().requires_grad_(true);
  FlatAdam ours(20, 0.01, 0.1);
  torch::optim::Adam ref({p2}, torch::optim::AdamOptions(0.01).weight_decay(0.1));
  for (int i = 0; i < 20; ++i) {
    const torch::Tensor x = torch::randn({4});
    // ∂/∂p Σ (p x)² = 2 (p x) xᵀ
    const torch::Tensor g = (2 * p1.matmul(x)).unsqueeze(1) * x.unsqueeze(0);
    const simd::AdamCoefficients co = ours.next_step();
    ours.apply(p1.data_ptr<float>(), g.contiguous().data_ptr<float>(), 0, 20, co);
    ref.zero_grad();
    (p2.matmul(x).pow(2).sum()).backward();
    ref.step();
  }
  EXPECT_EQ(ours.steps(), 20);
  EXPECT_TRUE(torch::allclose(p1, p2.detach(), 1e-5, 1e-6));
}

// mlp_init draws as nn.Linear's reset_parameters does: U(±1/√fan_in) for weights and biases. The
// distributions are compared by their range and second moment (uniform: bound²/3).
TEST(Oracle, InitialisationHasTheDistributionOfNnLinear) {
  AgentConfig c;
  c.hidden = {256, 128};
  Agent agent(c, 20, 4, 5);
  torch::manual_seed(5);
  oracle::Critic torch_critic(20, 4, c);
  const MlpShape& s = agent.engine().critic_shape();
  auto params = torch_critic->parameters();
  const std::vector<MlpTensor> tensors = mlp_tensors(s);
  ASSERT_EQ(params.size(), tensors.size());
  for (size_t k = 0; k < tensors.size(); ++k) {
    const int layer = static_cast<int>(k / 2);
    const double bound = 1.0 / std::sqrt(s.layer_in(layer));
    const float* p = agent.critic() + tensors[k].offset;
    double ours_sq = 0.0, max_abs = 0.0;
    for (int64_t i = 0; i < tensors[k].size; ++i) {
      ours_sq += double{p[i]} * p[i];
      max_abs = std::max(max_abs, double{std::abs(p[i])});
    }
    ours_sq /= static_cast<double>(tensors[k].size);
    const double torch_sq = params[k].pow(2).mean().item<double>();
    const double torch_max = params[k].abs().max().item<double>();
    EXPECT_LE(max_abs, bound) << "tensor " << k;
    EXPECT_LE(torch_max, bound * (1 + 1e-6)) << "tensor " << k;
    if (tensors[k].size >= 1000) {  // enough draws for the moments to agree closely
      EXPECT_NEAR(ours_sq, bound * bound / 3, 0.1 * bound * bound / 3) << "tensor " << k;
      EXPECT_NEAR(torch_sq, bound * bound / 3, 0.1 * bound * bound / 3) << "tensor " << k;
    }
  }
}

}  // namespace
}  // namespace ddpg
