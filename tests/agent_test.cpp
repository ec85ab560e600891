// Agent: initialisation, target networks are copies, the paper's critic variant, target-noise
// draws, the policy delay, save/load, a one-step bandit the actor must solve; and the update
// engine's threading (results independent of the thread count, replicas in step) and its list of
// multiplies. The update's arithmetic is checked against LibTorch in oracle_test.cpp.
#include "ddpg/agent.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "ddpg/gemm.h"
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

std::vector<float> copy_of(const float* p, const MlpShape& s) { return {p, p + s.size()}; }
bool equal(const float* p, const std::vector<float>& v) {
  return std::equal(v.begin(), v.end(), p);
}

TEST(Agent, InitialisationIsSeededAndWithinTheLinearBounds) {
  AgentConfig c = small_config();
  c.layer_norm = "actor";
  Agent a(c, 3, 2, 0), b(c, 3, 2, 0), other(c, 3, 2, 1);
  const MlpShape& s = a.engine().actor_shape();
  EXPECT_TRUE(equal(b.actor(), copy_of(a.actor(), s)));
  EXPECT_FALSE(equal(other.actor(), copy_of(a.actor(), s)));
  for (const MlpTensor& t : mlp_tensors(s)) {
    const float* p = a.actor() + t.offset;
    if (t.layer_norm) {  // gains 1, then biases 0
      const float v = p[0];
      EXPECT_TRUE(v == 1.0f || v == 0.0f);
      for (int64_t i = 0; i < t.size; ++i) EXPECT_EQ(p[i], v);
      continue;
    }
    int layer = 0;  // the layer the tensor belongs to
    for (int i = 0; i < s.layers(); ++i) {
      if (t.offset >= s.weight_offset(i)) layer = i;
    }
    const double bound = 1.0 / std::sqrt(s.layer_in(layer));
    double max_abs = 0.0;
    for (int64_t i = 0; i < t.size; ++i) max_abs = std::max(max_abs, double{std::abs(p[i])});
    EXPECT_LE(max_abs, bound);
    EXPECT_GT(max_abs, 0.5 * bound);  // spread over the range, not a constant
  }
}

TEST(Agent, TargetsAreCopiesNotAliases) {
  Agent agent(small_config(), 3, 2, 0);
  const MlpShape& s = agent.engine().actor_shape();
  EXPECT_TRUE(equal(agent.actor_target(), copy_of(agent.actor(), s)));
  EXPECT_NE(agent.actor(), agent.actor_target());
  const std::vector<float> target = copy_of(agent.actor_target(), s);
  agent.actor()[0] += 1.0f;
  agent.parameters_changed();
  EXPECT_TRUE(equal(agent.actor_target(), target));
  const MlpShape& cs = agent.engine().critic_shape();
  EXPECT_TRUE(equal(agent.critic_target(), copy_of(agent.critic(), cs)));
}

TEST(Agent, PaperCriticTakesTheActionAtTheSecondLayer) {
  AgentConfig c = small_config();
  c.critic_action_layer = 1;
  c.final_init = 3e-3;
  c.layer_norm = "both";
  Agent agent(c, 3, 2, 0);
  const MlpShape& s = agent.engine().critic_shape();
  EXPECT_EQ(s.layer_in(0), 3);       // observation only
  EXPECT_EQ(s.layer_in(1), 32 + 2);  // hidden + action
  EXPECT_TRUE(s.layer_norm);
  EXPECT_TRUE(agent.engine().actor_shape().layer_norm);
  const int last = s.layers() - 1;
  for (int64_t i = s.weight_offset(last); i < s.size(); ++i) {
    EXPECT_LE(std::abs(agent.critic()[i]), 3e-3f);
  }
  fill_random(agent.batch());
  EXPECT_NO_THROW(agent.update(agent.batch()));
}

TEST(Agent, SaveLoadRestoresEverything) {
  AgentConfig c = small_config();
  c.target_noise = 0.2;  // the agent's own stream is part of its state
  Agent a(c, 3, 2, 0), b(c, 3, 2, 99);
  fill_random(a.batch());
  for (int i = 0; i < 5; ++i) a.update(a.batch());
  ArchiveWriter w("AGENT___", 1);
  a.save(w);
  ArchiveReader r(w.finish(), "AGENT___", 1, "t");
  b.load(r);
  b.batch() = a.batch();
  const UpdateStats sa = a.update(a.batch()), sb = b.update(b.batch());
  EXPECT_EQ(sa.critic_loss, sb.critic_loss);
  EXPECT_EQ(sa.actor_loss, sb.actor_loss);
  EXPECT_EQ(a.updates(), b.updates());
  EXPECT_TRUE(equal(b.actor(), copy_of(a.actor(), a.engine().actor_shape())));
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

TEST(Agent, PolicyDelayUpdatesActorAndTargetsEveryOtherStep) {
  AgentConfig c = small_config();
  c.policy_delay = 2;
  Agent agent(c, 3, 2, 0);
  fill_random(agent.batch());
  const MlpShape& as = agent.engine().actor_shape();
  const MlpShape& cs = agent.engine().critic_shape();
  const auto actor0 = copy_of(agent.actor(), as), target0 = copy_of(agent.critic_target(), cs);
  const auto critic0 = copy_of(agent.critic(), cs);
  agent.update(agent.batch());
  EXPECT_TRUE(equal(agent.actor(), actor0));
  EXPECT_TRUE(equal(agent.critic_target(), target0));
  EXPECT_FALSE(equal(agent.critic(), critic0));
  agent.update(agent.batch());
  EXPECT_FALSE(equal(agent.actor(), actor0));
  EXPECT_FALSE(equal(agent.critic_target(), target0));
}

// π(s) straight from the actor's buffer, in its own layout (no transposed copy).
// (Through the const accessor: the other one marks the actor changed.)
std::vector<float> reference_action(const Agent& agent, const std::vector<double>& obs) {
  const MlpShape& s = agent.engine().actor_shape();
  std::vector<float> x(obs.begin(), obs.end()), y(s.out), scratch(2 * s.max_width());
  mlp_act(s, agent.actor(), x.data(), nullptr, 1, y.data(), scratch.data());
  return y;
}

void expect_close(const std::vector<float>& a, const std::vector<float>& b, float tol) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], tol) << "action " << i;
}

TEST(Agent, ActFixedUsesATransposedCopyThatFollowsTheActor) {
  AgentConfig c = small_config();
  c.hidden = {64, 48};  // every layer but the output one gets transposed
  Agent agent(c, 5, 3, 0);
  const MlpShape& s = agent.engine().actor_shape();
  ASSERT_TRUE(mlp_act_transposed(s, 0) && mlp_act_transposed(s, 1));
  ASSERT_FALSE(mlp_act_transposed(s, 2));
  // The copy holds Wᵀ for the wide layers and everything else as it is.
  std::vector<float> packed(s.size());
  mlp_pack_act(s, agent.actor(), packed.data());
  const float* w1 = agent.actor() + s.weight_offset(1);
  EXPECT_EQ(packed[s.weight_offset(1) + 7 * 48 + 5], w1[5 * 64 + 7]);  // W[5, 7] at Wᵀ[7, 5]
  EXPECT_EQ(packed[s.bias_offset(1) + 3], agent.actor()[s.bias_offset(1) + 3]);
  EXPECT_EQ(packed[s.weight_offset(2) + 11], agent.actor()[s.weight_offset(2) + 11]);

  const std::vector<double> obs = {0.3, -1.2, 0.7, 2.0, -0.4};
  std::vector<float> a(3), b(3);
  // act() reads the actor's own layout (bit for bit the reference), act_fixed() the copy: the same
  // actions up to the order of the sums.
  const std::vector<float> want = reference_action(agent, obs);
  for (int i = 0; i < 3; ++i) {
    agent.act(obs, a.data());
    EXPECT_EQ(a, want);
    agent.act_fixed(obs, b.data());
    expect_close(b, want, 1e-5f);
  }
  // A write through actor() counts as a change: the next act_fixed sees it.
  agent.actor()[s.bias_offset(2)] += 0.5f;
  agent.parameters_changed();
  const std::vector<float> moved = reference_action(agent, obs);
  ASSERT_GT(std::abs(moved[0] - want[0]), 1e-3f);
  agent.act_fixed(obs, b.data());
  expect_close(b, moved, 1e-5f);
  // So does an update (the actor step changes every layer).
  fill_random(agent.batch());
  agent.update(agent.batch());
  const std::vector<float> updated = reference_action(agent, obs);
  agent.act_fixed(obs, b.data());
  expect_close(b, updated, 1e-5f);
  // And a load.
  ArchiveWriter w("AGTEST__", 1);
  Agent other(c, 5, 3, 7);
  other.act_fixed(obs, b.data());  // (its copy is of its own initial actor)
  agent.save(w);
  ArchiveReader r(w.finish(), "AGTEST__", 1, "test");
  other.load(r);
  other.act_fixed(obs, b.data());
  expect_close(b, updated, 1e-5f);
}

TEST(Agent, TargetSmoothingNoiseIsClippedAndDrawnPerSampleOrShared) {
  for (const std::string draw : {"per_sample", "shared"}) {
    AgentConfig c = small_config();
    c.target_noise = 10.0;  // huge noise: every draw is clipped
    c.target_noise_clip = 0.05;
    c.target_noise_draw = draw;
    Agent agent(c, 3, 2, 0);
    EXPECT_EQ(agent.last_target_draws().eps, nullptr);  // no update yet
    fill_random(agent.batch());
    agent.update(agent.batch());
    const TargetDraws d = agent.last_target_draws();
    ASSERT_NE(d.eps, nullptr);
    EXPECT_EQ(d.eps_rows, draw == "shared" ? 1 : 8);
    bool both_signs[2] = {false, false};
    for (int i = 0; i < d.eps_rows * 2; ++i) {
      EXPECT_EQ(std::abs(d.eps[i]), 0.05f) << draw;
      both_signs[d.eps[i] > 0] = true;
    }
    if (draw == "per_sample") {
      EXPECT_TRUE(both_signs[0] && both_signs[1]);
    }
    EXPECT_EQ(d.target_actor, nullptr);
  }
}

TEST(Agent, TargetWeightNoisePerturbsACopyNotTheTargetNet) {
  for (const std::string draw : {"all", "per_matrix"}) {
    AgentConfig c = small_config();
    c.layer_norm = "actor";
    c.target_weight_noise = 0.1;
    c.target_weight_noise_draw = draw;
    c.policy_delay = 2;  // the target stays put on the first update
    Agent agent(c, 3, 2, 0);
    const MlpShape& s = agent.engine().actor_shape();
    const auto target = copy_of(agent.actor_target(), s);
    fill_random(agent.batch());
    agent.update(agent.batch());
    EXPECT_TRUE(equal(agent.actor_target(), target)) << draw;
    const float* noisy = agent.last_target_draws().target_actor;
    ASSERT_NE(noisy, nullptr);
    for (const MlpTensor& t : mlp_tensors(s)) {
      double sq = 0.0, rms = 0.0;
      for (int64_t i = 0; i < t.size; ++i) {
        const double d = noisy[t.offset + i] - target[t.offset + i];
        sq += d * d;
        rms += double{target[t.offset + i]} * target[t.offset + i];
      }
      sq = std::sqrt(sq / t.size);
      rms = std::sqrt(rms / t.size);
      if (t.layer_norm) {
        EXPECT_EQ(sq, 0.0) << "LayerNorm is never perturbed";
      } else if (t.size >= 500) {  // the noise's std: σ, or σ × the tensor's RMS
        const double want = draw == "all" ? 0.1 : 0.1 * rms;
        EXPECT_NEAR(sq, want, 0.15 * want) << draw << " tensor at " << t.offset;
      }
    }
  }
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
      b.obs[2 * i] = static_cast<float>(rng.normal());
      b.obs[2 * i + 1] = static_cast<float>(rng.normal());
      b.action[i] = a;
      b.reward[i] = -(a - 0.5f) * (a - 0.5f);
      b.terminated[i] = 1.0f;
    }
    b.next_obs = b.obs;
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

TEST(Engine, ResultsDoNotDependOnTheThreadCount) {
  AgentConfig c;
  c.hidden = {32, 32};
  c.batch_size = 32;
  c.n_critics = 2;
  c.batch_shards = 4;
  Agent one(c, 4, 2, 3), two(c, 4, 2, 3);
  one.set_threads(1);
  two.set_threads(2);
  EXPECT_EQ(two.engine().threads(), 2);
  for (int k = 0; k < 5; ++k) {
    fill_random(one.batch());
    two.batch() = one.batch();
    const UpdateStats a = one.update(one.batch()), b = two.update(two.batch());
    EXPECT_EQ(a.critic_loss, b.critic_loss);
  }
  EXPECT_TRUE(equal(two.actor(), copy_of(one.actor(), one.engine().actor_shape())));
}

// Each thread beyond the first steps its own replica of the parameters, targets and moments; the
// replicas must stay equal to the bound buffers bit for bit, with clipping (its own reduction
// path) and a delayed actor, and follow a checkpoint load.
TEST(Engine, ReplicasStayEqualToTheBoundBuffers) {
  AgentConfig c;
  c.hidden = {32, 24};
  c.batch_size = 30;
  c.n_critics = 2;
  c.policy_delay = 2;
  c.batch_shards = 3;
  for (double clip : {0.0, 0.05}) {
    c.grad_clip = clip;
    Agent a(c, 5, 2, 7), b(c, 5, 2, 8);
    a.set_threads(2);
    b.set_threads(2);
    ASSERT_TRUE(a.engine().replicas_in_sync());
    for (int k = 0; k < 5; ++k) {
      fill_random(a.batch());
      a.update(a.batch());
      EXPECT_TRUE(a.engine().replicas_in_sync()) << "clip " << clip << ", update " << k;
    }
    ArchiveWriter w("AGENT___", 1);
    a.save(w);
    ArchiveReader r(w.finish(), "AGENT___", 1, "t");
    b.load(r);
    EXPECT_TRUE(b.engine().replicas_in_sync());
    b.batch() = a.batch();
    EXPECT_EQ(a.update(a.batch()).critic_loss, b.update(b.batch()).critic_loss);
  }
}

TEST(Engine, WritingTheBuffersNeedsParametersChanged) {
  AgentConfig c;
  c.hidden = {32, 24};
  c.batch_size = 16;
  Agent agent(c, 3, 1, 1);
  agent.set_threads(2);
  agent.critic()[0] += 0.5f;
  EXPECT_FALSE(agent.engine().replicas_in_sync());
  agent.parameters_changed();
  EXPECT_TRUE(agent.engine().replicas_in_sync());
}

TEST(Engine, FloorListsTheUpdatesMultiplies) {
  AgentConfig c;
  c.hidden = {256, 256};
  c.batch_size = 256;
  UpdateEngine e(c, 17, 6);
  e.set_threads(2);  // a shard per thread
  // Critic step: 3 (target actor) + 3 (target critic) + 3 (critic) + 3 (∂W) + 2 (∂x) = 14;
  // actor step: 3 + 3 + 3 (∂x through the critic, to the action) + 3 (∂W) + 2 (∂x) = 14.
  EXPECT_EQ(e.thread_gemms(true).size(), 28u);
  EXPECT_EQ(e.thread_gemms(false).size(), 14u);
  // ≈ 359 MFLOP for the whole batch (the "about 360").
  EXPECT_NEAR(e.update_flop(true) / 1e6, 359.0, 1.0);
  // One thread on our kernels runs both shards as one block of 256 rows: the ∂W of each shard
  // apart (3 more per step), everything else once.
  e.set_threads(1);
  if (gemm::native()) {
    EXPECT_EQ(e.thread_gemms(true).size(), 34u);
    EXPECT_EQ(e.thread_gemms(false).size(), 17u);
    EXPECT_EQ(e.thread_gemms(true)[0].m, 256);
  } else {
    EXPECT_EQ(e.thread_gemms(true).size(), 56u);
  }
  EXPECT_NEAR(e.update_flop(true) / 1e6, 359.0, 1.0);
}

// A thread's consecutive shards run as one block of rows (forward, input gradients, LayerNorm,
// losses once over the block; each shard's parameter gradient apart): the bits must be those of
// one shard at a time, which 4 threads for 4 shards run. TD3's switches, LayerNorm in both
// networks, observation normalisation and uneven shards (batch 203: 50, 51, 51, 51 rows).
TEST(Engine, BlocksOfShardsGiveTheBitsOfOneShardAtATime) {
  AgentConfig c;
  c.hidden = {32, 32};
  c.batch_size = 203;
  c.batch_shards = 4;
  c.n_critics = 2;
  c.policy_delay = 2;
  c.target_noise = 0.2;
  c.layer_norm = "both";
  c.obs_norm = true;
  Agent one(c, 5, 2, 11), two(c, 5, 2, 11), four(c, 5, 2, 11);
  one.set_threads(1);
  two.set_threads(2);
  four.set_threads(4);
  if (gemm::native()) {
    // one block of 4 shards: 3 + 2·3 (target) + 2·(3 + 4·3 + 2) (critics) + 3 + 3 + 3 + 4·3 + 2
    EXPECT_EQ(one.engine().thread_gemms(true).size(), 66u);
  } else {
    std::printf("[  NOTE    ] no native gemm path: shards run one at a time, blocks untested\n");
  }
  for (int k = 0; k < 6; ++k) {
    fill_random(one.batch());
    two.batch() = one.batch();
    four.batch() = one.batch();
    const double a = one.update(one.batch()).critic_loss;
    EXPECT_EQ(a, two.update(two.batch()).critic_loss) << "update " << k;
    EXPECT_EQ(a, four.update(four.batch()).critic_loss) << "update " << k;
  }
  const MlpShape& as = one.engine().actor_shape();
  const MlpShape& cs = one.engine().critic_shape();
  EXPECT_TRUE(equal(two.actor(), copy_of(one.actor(), as)));
  EXPECT_TRUE(equal(four.actor(), copy_of(one.actor(), as)));
  EXPECT_TRUE(equal(four.critic(), copy_of(one.critic(), cs)));
  EXPECT_TRUE(equal(four.critic(1), copy_of(one.critic(1), cs)));
  EXPECT_TRUE(equal(four.critic_target(), copy_of(one.critic_target(), cs)));
}

}  // namespace
}  // namespace ddpg
