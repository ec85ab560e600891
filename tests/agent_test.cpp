// Agent: Polyak averaging and Bellman targets against their formulas, target networks are deep
// copies, Adam matches LibTorch's, the paper's critic variant, save/load, and a one-step bandit the
// actor must solve.
#include "ddpg/agent.h"

#include <gtest/gtest.h>

#include "ddpg/rng.h"
#include "tests/test_batches.h"

namespace ddpg {
namespace {

AgentConfig small_config() {
  AgentConfig c;
  c.hidden = {32, 32};
  c.batch_size = 8;
  return c;
}

TEST(Networks, PolyakMatchesFormula) {
  AgentConfig c = small_config();
  torch::manual_seed(0);
  MlpActor online(3, 2, c), target(3, 2, c);
  std::vector<torch::Tensor> before;
  for (auto& p : target->parameters()) before.push_back(p.detach().clone());
  polyak_update(*target, *online, 0.1);
  auto t = target->parameters();
  auto o = online->parameters();
  for (size_t i = 0; i < t.size(); ++i) {
    EXPECT_TRUE(torch::allclose(t[i], 0.1 * o[i] + 0.9 * before[i], 1e-6, 1e-7));
  }
}

TEST(Agent, TargetsAreDeepCopies) {
  Agent agent(small_config(), 3, 2, 0);
  auto a = agent.actor()->parameters();
  auto at = agent.actor_target()->parameters();
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_TRUE(torch::equal(a[i], at[i]));
    EXPECT_NE(a[i].data_ptr(), at[i].data_ptr());
  }
  {
    torch::NoGradGuard g;
    a[0].add_(1.0);
  }
  EXPECT_FALSE(torch::equal(a[0], at[0]));
}

TEST(Agent, BellmanTargetStopsOnlyAtTermination) {
  AgentConfig c = small_config();
  c.gamma = 0.9;
  Agent agent(c, 3, 2, 1);
  Batch& b = agent.batch();
  fill_random(b);
  b.terminated[0][0] = 1.0;  // terminated: y = r
  // row 1 is a time-limit cut: stored as not terminated, so it bootstraps like any other row
  const torch::Tensor y = agent.bellman_target(b);
  torch::NoGradGuard g;
  const torch::Tensor q_next =
      agent.critic_target()->forward(b.next_obs, agent.actor_target()->forward(b.next_obs));
  EXPECT_FLOAT_EQ(y[0][0].item<float>(), b.reward[0][0].item<float>());
  for (int i = 1; i < 8; ++i) {
    EXPECT_NEAR(y[i][0].item<float>(),
                b.reward[i][0].item<float>() + 0.9f * q_next[i][0].item<float>(), 1e-5);
  }
}

TEST(Agent, FlatAdamMatchesLibTorch) {
  torch::manual_seed(3);
  torch::Tensor p1 = torch::randn({5, 4});
  torch::Tensor p2 = p1.clone().requires_grad_(true);
  FlatAdam ours(20, 0.01, 0.1);
  torch::optim::Adam ref({p2}, torch::optim::AdamOptions(0.01).weight_decay(0.1));
  for (int i = 0; i < 20; ++i) {
    const torch::Tensor x = torch::randn({4});
    // ∂/∂p Σ (p x)² = 2 (p x) xᵀ
    const torch::Tensor g = (2 * p1.matmul(x)).unsqueeze(1) * x.unsqueeze(0);
    const simd::AdamCoefficients c = ours.next_step();
    ours.apply(p1.data_ptr<float>(), g.contiguous().data_ptr<float>(), 0, 20, c);
    ref.zero_grad();
    (p2.matmul(x).pow(2).sum()).backward();
    ref.step();
  }
  EXPECT_EQ(ours.steps(), 20);
  EXPECT_TRUE(torch::allclose(p1, p2.detach(), 1e-5, 1e-6));
}

TEST(Agent, PaperCriticTakesTheActionAtTheSecondLayer) {
  AgentConfig c = small_config();
  c.critic_action_layer = 1;
  c.final_init = 3e-3;
  c.layer_norm = "both";
  Agent agent(c, 3, 2, 0);
  auto params = agent.critic()->named_parameters();
  EXPECT_EQ(params["fc0.weight"].size(1), 3);       // observation only
  EXPECT_EQ(params["fc1.weight"].size(1), 32 + 2);  // hidden + action
  EXPECT_LE(params["out.weight"].abs().max().item<float>(), 3e-3f);
  EXPECT_TRUE(params.contains("ln0.weight"));
  EXPECT_TRUE(agent.actor()->named_parameters().contains("ln1.weight"));
  Batch& b = agent.batch();
  fill_random(b);
  EXPECT_NO_THROW(agent.update(b));
}

TEST(Agent, SaveLoadRestoresEverything) {
  AgentConfig c = small_config();
  Agent a(c, 3, 2, 0), b(c, 3, 2, 99);
  for (Agent* ag : {&a}) {
    Batch& bt = ag->batch();
    fill_random(bt);
    for (int i = 0; i < 5; ++i) ag->update(bt);
  }
  ArchiveWriter w("AGENT___", 1);
  a.save(w);
  ArchiveReader r(w.finish(), "AGENT___", 1, "t");
  b.load(r);
  b.batch().copy_from_for_test(a.batch());
  const UpdateStats sa = a.update(a.batch()), sb = b.update(b.batch());
  EXPECT_EQ(sa.critic_loss, sb.critic_loss);
  EXPECT_EQ(sa.actor_loss, sb.actor_loss);
  EXPECT_EQ(a.updates(), b.updates());
}

TEST(Agent, LoadRefusesOtherArchitecture) {
  AgentConfig c = small_config();
  Agent a(c, 3, 2, 0);
  c.hidden = {16, 32};
  Agent b(c, 3, 2, 0);
  ArchiveWriter w("AGENT___", 1);
  a.save(w);
  ArchiveReader r(w.finish(), "AGENT___", 1, "t");
  EXPECT_THROW(b.load(r), Error);
}

TEST(Agent, TwinCriticsTargetTakesTheMin) {
  AgentConfig c = small_config();
  c.n_critics = 2;
  c.gamma = 0.5;
  Agent agent(c, 3, 2, 4);
  Batch& b = agent.batch();
  fill_random(b);
  const torch::Tensor y = agent.bellman_target(b);
  torch::NoGradGuard g;
  const torch::Tensor a = agent.actor_target()->forward(b.next_obs);
  const torch::Tensor q1 = agent.critic_target(0)->forward(b.next_obs, a);
  const torch::Tensor q2 = agent.critic_target(1)->forward(b.next_obs, a);
  EXPECT_FALSE(torch::equal(q1, q2));  // independently initialised
  EXPECT_TRUE(torch::allclose(y, b.reward + 0.5 * torch::min(q1, q2), 1e-5, 1e-6));
}

TEST(Agent, PolicyDelayUpdatesActorAndTargetsEveryOtherStep) {
  AgentConfig c = small_config();
  c.policy_delay = 2;
  Agent agent(c, 3, 2, 0);
  fill_random(agent.batch());
  auto snapshot = [](torch::nn::Module& m) {
    std::vector<torch::Tensor> v;
    for (auto& p : m.parameters()) v.push_back(p.detach().clone());
    return v;
  };
  auto same = [](torch::nn::Module& m, const std::vector<torch::Tensor>& v) {
    auto p = m.parameters();
    for (size_t i = 0; i < p.size(); ++i) {
      if (!torch::equal(p[i], v[i])) return false;
    }
    return true;
  };
  const auto actor0 = snapshot(*agent.actor()), target0 = snapshot(*agent.critic_target());
  const auto critic0 = snapshot(*agent.critic());
  agent.update(agent.batch());
  EXPECT_TRUE(same(*agent.actor(), actor0));
  EXPECT_TRUE(same(*agent.critic_target(), target0));
  EXPECT_FALSE(same(*agent.critic(), critic0));
  agent.update(agent.batch());
  EXPECT_FALSE(same(*agent.actor(), actor0));
  EXPECT_FALSE(same(*agent.critic_target(), target0));
}

TEST(Agent, TargetSmoothingNoiseIsClipped) {
  AgentConfig c = small_config();
  c.gamma = 1.0;
  Agent plain(c, 3, 2, 0);
  c.target_noise = 10.0;  // huge noise: every draw is clipped
  c.target_noise_clip = 0.05;
  Agent smooth(c, 3, 2, 0);
  fill_random(plain.batch());
  smooth.batch().copy_from_for_test(plain.batch());
  const torch::Tensor y0 = plain.bellman_target(plain.batch());
  const torch::Tensor y1 = smooth.bellman_target(smooth.batch());
  EXPECT_FALSE(torch::equal(y0, y1));
  // the noisy target action stays within ±clip of π'(s'), so Q' moves by a bounded amount
  EXPECT_LT((y0 - y1).abs().max().item<float>(), 1.0f);
}

// A one-step bandit: any observation, reward −(a − 0.5)², the episode ends at once (γ irrelevant).
// The actor must learn a ≈ 0.5 from the critic alone.
TEST(Agent, SolvesOneStepBandit) {
  AgentConfig c;
  c.hidden = {32, 32};
  c.batch_size = 64;
  c.actor_lr = 1e-3;
  c.critic_lr = 1e-2;
  Agent agent(c, 2, 1, 0);
  Rng rng(0);
  Batch& b = agent.batch();
  for (int it = 0; it < 2000; ++it) {
    for (int i = 0; i < c.batch_size; ++i) {
      const float a = static_cast<float>(rng.uniform(-1, 1));
      b.obs[i][0] = static_cast<float>(rng.normal());
      b.obs[i][1] = static_cast<float>(rng.normal());
      b.action[i][0] = a;
      b.reward[i][0] = -(a - 0.5f) * (a - 0.5f);
      b.terminated[i][0] = 1.0f;
    }
    b.next_obs.copy_(b.obs);
    agent.update(b);
  }
  float action;
  double worst = 0;
  for (int k = 0; k < 20; ++k) {
    agent.act({rng.normal(), rng.normal()}, &action);
    worst = std::max(worst, std::abs(action - 0.5));
  }
  EXPECT_LT(worst, 0.1) << "the actor did not find the bandit's best action 0.5";
}

}  // namespace
}  // namespace ddpg
