// The ablation switches: parameter noise (LayerNorm untouched, fixed within an episode, adaptation
// direction), n-step targets against a hand computation, observation normalisation, noise
// schedules, policy files that carry the normaliser, and truncation stored as terminal on request.
// (Target-noise draws: agent_test.cpp; their effect on the update: oracle_test.cpp.)
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "ddpg/agent.h"
#include "ddpg/config.h"
#include "ddpg/env.h"
#include "ddpg/io.h"
#include "ddpg/replay_buffer.h"
#include "src/collector.h"
#include "tests/test_batches.h"

namespace ddpg {
namespace {

// An env description of the agent's sizes with bounds [-2, 2], for policy files.
EnvSpec spec_of(const Agent& agent) {
  EnvSpec s;
  s.id = "Test-v0";
  s.obs_dim = agent.obs_dim();
  s.act_dim = agent.act_dim();
  s.act_low.assign(s.act_dim, -2.0);
  s.act_high.assign(s.act_dim, 2.0);
  return s;
}

AgentConfig small(const std::string& layer_norm = "none") {
  AgentConfig c;
  c.hidden = {32, 32};
  c.batch_size = 16;
  c.layer_norm = layer_norm;
  return c;
}

TEST(ParamNoise, PerturbsWeightsButNotLayerNorm) {
  Agent agent(small("both"), 3, 2, 0);
  NoiseConfig n;
  n.type = "param";
  agent.enable_param_noise(n);
  int perturbed = 0, untouched = 0;
  for (const MlpTensor& t : mlp_tensors(agent.engine().actor_shape())) {
    const bool same = std::equal(agent.actor() + t.offset, agent.actor() + t.offset + t.size,
                                 agent.perturbed_actor() + t.offset);
    if (t.layer_norm) {
      EXPECT_TRUE(same) << "tensor at " << t.offset;
      ++untouched;
    } else {
      EXPECT_FALSE(same) << "tensor at " << t.offset;
      ++perturbed;
    }
  }
  EXPECT_EQ(untouched, 4);  // ln0/ln1 weight and bias
  EXPECT_EQ(perturbed, 6);  // fc0, fc1, out: weight and bias
}

TEST(ParamNoise, FixedWithinEpisodeResampledAtEpisodeStart) {
  Agent agent(small("actor"), 3, 2, 0);
  NoiseConfig n;
  n.type = "param";
  n.param_adapt_every = 1;
  agent.enable_param_noise(n);
  const std::vector<double> obs = {0.3, -0.2, 0.9};
  float a1[2], a2[2], a3[2];
  agent.act_perturbed(obs, a1);
  fill_random(agent.batch());
  for (int i = 0; i < 5; ++i) agent.update(agent.batch());  // learning and adaptation go on ...
  agent.act_perturbed(obs, a2);  // ... but the behaviour policy of this episode stays
  EXPECT_EQ(a1[0], a2[0]);
  EXPECT_EQ(a1[1], a2[1]);
  agent.resample_perturbation();  // the next episode
  agent.act_perturbed(obs, a3);
  EXPECT_NE(a1[0], a3[0]);
}

TEST(ParamNoise, AdaptationMovesSigmaTowardTheTarget) {
  for (const double target : {10.0, 1e-6}) {
    Agent agent(small("actor"), 3, 2, 0);
    NoiseConfig n;
    n.type = "param";
    n.param_adapt_every = 1;
    n.param_initial_sigma = 0.1;
    n.param_alpha = 1.01;
    n.sigma = target;
    agent.enable_param_noise(n);
    fill_random(agent.batch());
    for (int i = 0; i < 10; ++i) agent.update(agent.batch());
    const ParamNoiseState* p = agent.param_noise();
    ASSERT_NE(p, nullptr);
    EXPECT_GT(p->distance, 0.0);
    if (target > 1) {
      EXPECT_NEAR(p->sigma, 0.1 * std::pow(1.01, 10), 1e-12);  // far below the target: grow
    } else {
      EXPECT_NEAR(p->sigma, 0.1 / std::pow(1.01, 10), 1e-12);  // above it: shrink
    }
  }
}

// n = 3, γ = 0.5; rewards 1, 2, 3, 4 with termination at the 4th step. By hand:
//   t0: 1 + 0.5·2 + 0.25·3 = 2.75, bootstrap from s3 with 0.125, not terminated
//   t1: 2 + 0.5·3 + 0.25·4 = 4.5, s4, terminated
//   t2: 3 + 0.5·4 = 5, s4, terminated;  t3: 4, s4, terminated
TEST(NStep, TargetsMatchAHandComputation) {
  ReplayBuffer replay(10, 1, 1);
  NStepAccumulator acc(3, 0.5, 1, 1);
  const float a[1] = {0.0f};
  for (int t = 0; t < 4; ++t) {
    acc.add({double(t)}, a, t + 1.0, {double(t + 1)}, t == 3, t == 3, replay);
  }
  ASSERT_EQ(replay.size(), 4);
  EXPECT_EQ(acc.pending(), 0);
  const float want_reward[] = {2.75f, 4.5f, 5.0f, 4.0f};
  const float want_next[] = {3, 4, 4, 4};
  const float want_discount[] = {0.125f, 0.125f, 0.25f, 0.5f};
  const bool want_terminated[] = {false, true, true, true};
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(replay.obs_at(i)[0], float(i));
    EXPECT_FLOAT_EQ(replay.reward_at(i), want_reward[i]) << i;
    EXPECT_EQ(replay.next_obs_at(i)[0], want_next[i]) << i;
    EXPECT_FLOAT_EQ(replay.discount_at(i), want_discount[i]) << i;
    EXPECT_EQ(replay.terminated_at(i), want_terminated[i]) << i;
  }
}

TEST(NStep, TruncationFlushesWithBootstrap) {
  ReplayBuffer replay(10, 1, 1);
  NStepAccumulator acc(5, 0.9, 1, 1);
  const float a[1] = {0.0f};
  acc.add({0}, a, 1.0, {1}, false, false, replay);
  acc.add({1}, a, 1.0, {2}, false, true, replay);  // time limit: truncated, not terminated
  ASSERT_EQ(replay.size(), 2);
  EXPECT_FLOAT_EQ(replay.reward_at(0), 1.9f);
  EXPECT_FLOAT_EQ(replay.discount_at(0), 0.81f);
  EXPECT_FALSE(replay.terminated_at(0));
  EXPECT_EQ(replay.next_obs_at(0)[0], 2.0f);
}

// The collector stores the last transition of a time-limit truncation as terminal only with
// agent.truncation = "terminal" (SB3 < 1.1); by default it bootstraps. Pendulum-v1 never
// terminates, so with a limit of 3 steps every third transition ends an episode by truncation.
TEST(Truncation, StoredAsTerminalOnlyWhenAsked) {
  for (const std::string mode : {"bootstrap", "terminal"}) {
    Config cfg;
    cfg.env.id = "Pendulum-v1";
    cfg.env.options["max_episode_steps"] = "3";
    cfg.agent = small();
    cfg.agent.truncation = mode;
    cfg.trainer.learning_starts = 100;  // uniform random actions throughout
    Collector collector(cfg, 1, 7);
    Agent agent(cfg.agent, collector.spec().obs_dim, collector.spec().act_dim, 0);
    collector.start(agent, 1, 2);
    ReplayBuffer replay(10, collector.spec().obs_dim, collector.spec().act_dim);
    int ended = 0;
    for (int64_t t = 0; t < 7; ++t) {
      collector.choose_actions(t);
      collector.step(nullptr);
      collector.store(
          replay, [] {},
          [&](double, int64_t length) {
            EXPECT_EQ(length, 3);
            ++ended;
          });
    }
    EXPECT_EQ(ended, 2);
    ASSERT_EQ(replay.size(), 7);
    for (int64_t i = 0; i < 7; ++i) {
      const bool episode_end = i == 2 || i == 5;
      EXPECT_EQ(replay.terminated_at(i), episode_end && mode == "terminal") << mode << " " << i;
      if (i + 1 < 7 && !episode_end) {  // within an episode, s' is the next transition's s
        EXPECT_EQ(replay.next_obs_at(i)[0], replay.obs_at(i + 1)[0]) << mode << " " << i;
      }
    }
  }
}

TEST(NStep, OneStepPassesStraightThrough) {
  ReplayBuffer replay(10, 1, 1);
  NStepAccumulator acc(1, 0.99, 1, 1);
  const float a[1] = {0.5f};
  acc.add({0}, a, 2.0, {1}, false, false, replay);
  ASSERT_EQ(replay.size(), 1);
  EXPECT_FLOAT_EQ(replay.reward_at(0), 2.0f);
  EXPECT_FLOAT_EQ(replay.discount_at(0), 0.99f);
}

TEST(ObsNorm, StatisticsAndPolicyFileRoundTrip) {
  AgentConfig c = small();
  c.obs_norm = true;
  Agent agent(c, 2, 1, 0);
  Rng rng(1);
  for (int i = 0; i < 5000; ++i) agent.observe({rng.normal(10, 2), rng.normal(-3, 0.5)});
  const ObsNormalizer* n = agent.obs_normalizer();
  ASSERT_NE(n, nullptr);
  EXPECT_NEAR(n->mean(0), 10, 0.1);
  EXPECT_NEAR(std::sqrt(n->variance(1)), 0.5, 0.02);
  const std::string path = "/tmp/ddpg_obsnorm_policy.bin";
  save_policy(path, agent, spec_of(agent));
  DeployedPolicy deployed = load_policy(path);
  float a1, a2;
  agent.act({11.0, -3.2}, &a1);     // the actor's own layout
  deployed.act({11.0, -3.2}, &a2);  // a deployed policy acts on the transposed copy
  EXPECT_NEAR(a1, a2, 1e-6f);
  agent.act_fixed({11.0, -3.2}, &a1);
  EXPECT_EQ(a1, a2);  // as the agent's evaluation does
  // version 3 records the env
  EXPECT_EQ(deployed.env().id, "Test-v0");
  EXPECT_EQ(deployed.env().act_low, std::vector<double>{-2.0});
  EXPECT_EQ(deployed.env().act_high, std::vector<double>{2.0});
}

// Found by fuzz_policy: a damaged header that describes more weights than the file holds is
// refused before anything is allocated (it was an out-of-memory abort).
TEST(PolicyFile, AHeaderLargerThanTheFileIsRefused) {
  AgentConfig c;
  c.hidden = {8};
  Agent agent(c, 2, 1, 0);
  const std::string path = "/tmp/ddpg_big_header_policy.bin";
  save_policy(path, agent, spec_of(agent));
  std::string data = read_file(path);
  // the first hidden width (after magic, version, obs_dim, act_dim, layer count) becomes 2^20
  const int64_t wide = int64_t{1} << 20;
  std::memcpy(&data[12 + 3 * 8], &wide, sizeof wide);
  const uint32_t crc = crc32(data.data(), data.size() - 4);
  std::memcpy(&data[data.size() - 4], &crc, sizeof crc);
  write_file_atomic(path, data);
  try {
    load_policy(path);
    FAIL() << "the policy was loaded";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("more than the file holds; the file is damaged"),
              std::string::npos)
        << e.what();
  }
}

TEST(NoiseSchedule, LinearAndExponential) {
  NoiseConfig n;
  n.sigma = 0.4;
  n.sigma_final = 0.1;
  n.schedule_steps = 100;
  EXPECT_DOUBLE_EQ(scheduled_sigma(n, 50), 0.4);  // constant
  n.schedule = "linear";
  EXPECT_DOUBLE_EQ(scheduled_sigma(n, 0), 0.4);
  EXPECT_NEAR(scheduled_sigma(n, 50), 0.25, 1e-12);
  EXPECT_NEAR(scheduled_sigma(n, 500), 0.1, 1e-12);
  n.schedule = "exponential";
  EXPECT_NEAR(scheduled_sigma(n, 50), 0.2, 1e-12);  // geometric midpoint of 0.4 and 0.1
  EXPECT_NEAR(scheduled_sigma(n, 100), 0.1, 1e-12);
}

}  // namespace
}  // namespace ddpg
