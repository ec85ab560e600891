// The policy runtime (include/ddpg/runtime/policy.h) against the project's own DeployedPolicy: the
// same actions, in env units, to 1e-5 on observations from rollouts, one at a time and in batches;
// and the runtime's refusal of damaged, foreign and mismatched input.
#include <gtest/gtest.h>

#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ostream>
#include <string>
#include <vector>

#include "ddpg/agent.h"
#include "ddpg/env.h"
#include "ddpg/io.h"
#include "ddpg/rng.h"
#include "ddpg/runtime/policy.h"

namespace ddpg {
namespace {

std::string temp_path(const std::string& name) { return "/tmp/" + name; }

struct Case {
  std::string env_id;
  std::string activation, layer_norm;
  bool obs_norm;
};

// A policy of `c` on its env with normaliser statistics from a random rollout, saved as a file.
std::string save_case(const Case& c, const std::string& path) {
  AgentConfig cfg;
  cfg.hidden = {64, 48};
  cfg.activation = c.activation;
  cfg.layer_norm = c.layer_norm;
  cfg.obs_norm = c.obs_norm;
  auto env = make_env(c.env_id);
  Agent agent(cfg, env->spec().obs_dim, env->spec().act_dim, 7);
  Rng rng(3);
  env->reset(11);
  std::vector<double> action(env->spec().act_dim);
  for (int t = 0; t < 2000; ++t) {
    agent.observe(env->obs());
    for (int j = 0; j < env->spec().act_dim; ++j) {
      action[j] = rng.uniform(env->spec().act_low[j], env->spec().act_high[j]);
    }
    const StepResult r = env->step(action);
    if (r.terminated || r.truncated) env->reset();
  }
  save_policy(path, agent, env->spec());
  return path;
}

// Rolls the deployed policy out for `steps` steps and returns the observations and its actions
// (env units).
void rollout(const std::string& env_id, DeployedPolicy& policy, int steps, std::vector<double>& obs,
             std::vector<double>& actions) {
  auto env = make_env(env_id);
  const EnvSpec& spec = env->spec();
  std::vector<float> unit(spec.act_dim);
  std::vector<double> a;
  env->reset(5);
  for (int t = 0; t < steps; ++t) {
    obs.insert(obs.end(), env->obs().begin(), env->obs().end());
    policy.act(env->obs(), unit.data());
    rescale_action(unit.data(), spec, a);
    actions.insert(actions.end(), a.begin(), a.end());
    const StepResult r = env->step(a);
    if (r.terminated || r.truncated) env->reset();
  }
}

void PrintTo(const Case& c, std::ostream* os) {
  *os << c.env_id << " (" << c.activation << ", layer_norm " << c.layer_norm << ", obs_norm "
      << c.obs_norm << ")";
}

class RuntimeParity : public ::testing::TestWithParam<Case> {};

TEST_P(RuntimeParity, ActionsMatchTheProjectsPolicyOnRollouts) {
  const Case& c = GetParam();
  const std::string path = temp_path("ddpg_runtime_" + c.env_id + ".bin");
  save_case(c, path);
  DeployedPolicy deployed = load_policy(path);
  runtime::Policy policy(path);
  ASSERT_EQ(policy.info().env_id, c.env_id);
  ASSERT_TRUE(policy.has_bounds());
  EXPECT_EQ(policy.info().obs_norm, c.obs_norm);
  EXPECT_EQ(policy.info().layer_norm, c.layer_norm == "actor" || c.layer_norm == "both");
  EXPECT_EQ(policy.info().act_low, deployed.env().act_low);

  const int steps = 1200, n = policy.obs_dim(), m = policy.act_dim();
  std::vector<double> obs, expected;
  rollout(c.env_id, deployed, steps, obs, expected);

  // one at a time (double and float interfaces) and as one batch
  double worst = 0.0, worst_float = 0.0, worst_batch = 0.0;
  std::vector<double> a(m);
  std::vector<float> obs_f(n), a_f(m);
  for (int t = 0; t < steps; ++t) {
    policy.act(obs.data() + t * n, a.data());
    for (int i = 0; i < n; ++i) obs_f[i] = static_cast<float>(obs[t * n + i]);
    policy.act(obs_f.data(), a_f.data());
    for (int j = 0; j < m; ++j) {
      worst = std::max(worst, std::abs(a[j] - expected[t * m + j]));
      worst_float = std::max(worst_float, std::abs(double{a_f[j]} - expected[t * m + j]));
    }
  }
  std::vector<double> batch(expected.size());
  policy.act_batch(obs.data(), steps, batch.data());
  for (size_t k = 0; k < batch.size(); ++k) {
    worst_batch = std::max(worst_batch, std::abs(batch[k] - expected[k]));
  }
  std::printf(
      "%s: max |runtime - project| over %d observations: %.2g one at a time, %.2g batched\n",
      c.env_id.c_str(), steps, worst, worst_batch);
  EXPECT_LE(worst, 1e-5) << c.env_id;
  EXPECT_LE(worst_batch, 1e-5) << c.env_id;
  // float observations lose digits before the normalisation: a looser bound
  EXPECT_LE(worst_float, 1e-4) << c.env_id;
  // the policy is not constant (the comparison would then be empty)
  double mean = 0.0, sq = 0.0;
  for (int t = 0; t < steps; ++t) mean += expected[t * m] / steps;
  for (int t = 0; t < steps; ++t) sq += (expected[t * m] - mean) * (expected[t * m] - mean);
  EXPECT_GT(std::sqrt(sq / steps), 1e-3);
}

INSTANTIATE_TEST_SUITE_P(
    Envs, RuntimeParity,
    ::testing::Values(Case{"Pendulum-v1", "relu", "none", false},
                      Case{"Hopper-v4", "elu", "actor", true},
                      Case{"HalfCheetah-v4", "tanh", "both", true},
                      Case{"LunarLanderContinuous-v3", "leaky_relu", "critic", true},
                      Case{"MountainCarContinuous-v0", "relu", "actor", false}),
    [](const ::testing::TestParamInfo<Case>& info) {
      std::string name = info.param.env_id;
      for (char& ch : name) {
        if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
      }
      return name;
    });

TEST(Runtime, ReadsAVersion2FileWithoutBounds) {
  // written before policy files recorded the env (tests/data/libtorch_era_run)
  const std::string path = std::string(DDPG_TEST_DATA) + "/libtorch_era_run/policy_final.bin";
  DeployedPolicy deployed = load_policy(path);
  runtime::Policy policy(path);
  EXPECT_EQ(policy.info().format_version, 2u);
  EXPECT_FALSE(policy.has_bounds());
  Rng rng(1);
  std::vector<double> obs(policy.obs_dim());
  std::vector<float> want(policy.act_dim());
  std::vector<double> got(policy.act_dim());
  for (int t = 0; t < 100; ++t) {
    for (double& x : obs) x = rng.normal();
    deployed.act(obs, want.data());
    policy.act(obs.data(), got.data());  // in [-1, 1]: no bounds to rescale to
    for (int j = 0; j < policy.act_dim(); ++j) EXPECT_NEAR(got[j], want[j], 1e-6);
  }
}

std::string expect_refused(const std::string& bytes) {
  try {
    runtime::Policy::from_bytes(bytes, "p.bin");
  } catch (const runtime::Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "accepted";
  return "";
}

TEST(Runtime, RefusesDamagedForeignAndMismatchedInput) {
  const std::string path = temp_path("ddpg_runtime_refuse.bin");
  save_case({"Pendulum-v1", "relu", "none", false}, path);
  const std::string good = read_file(path);

  EXPECT_NE(expect_refused("").find("not a policy file"), std::string::npos);
  EXPECT_NE(expect_refused("DDPGCKPT" + good.substr(8)).find("not a policy file"),
            std::string::npos);
  std::string flipped = good;
  flipped[40] ^= 1;
  EXPECT_NE(expect_refused(flipped).find("checksum mismatch"), std::string::npos);
  EXPECT_NE(expect_refused(good.substr(0, good.size() - 9)).find("checksum"), std::string::npos);

  // a newer version, with a valid checksum
  std::string newer = good.substr(0, good.size() - 4);
  newer[8] = 9;
  const uint32_t crc = crc32(newer.data(), newer.size());
  newer.append(reinterpret_cast<const char*>(&crc), 4);
  EXPECT_NE(expect_refused(newer).find("version 9"), std::string::npos);

  try {
    runtime::Policy missing(temp_path("no_such_policy.bin"));
    ADD_FAILURE() << "a missing file was loaded";
  } catch (const runtime::Error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot open"), std::string::npos);
  }
  runtime::Policy policy(path);
  try {
    policy.act(std::vector<double>(5, 0.0));
    ADD_FAILURE() << "a wrong observation size was accepted";
  } catch (const runtime::Error& e) {
    EXPECT_NE(std::string(e.what()).find("size 3, got 5 (it was trained on Pendulum-v1)"),
              std::string::npos);
  }
}

}  // namespace
}  // namespace ddpg
