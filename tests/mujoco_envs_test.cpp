// The 22 Gymnasium MuJoCo envs (11 tasks × v4, v5) against ENVIRONMENTS.md section 1: spec sizes
// and bounds, reward terms recomputed from the MuJoCo state (forward velocity from positions before
// and after, control costs from the raw unclipped action, contact costs from cfrc_ext), v4 vs v5
// differences (observation layouts, reward timing, healthy reward on the terminal step),
// termination, reset noise ranges, seeding, exact save/load continuation, options, unknown options,
// and the divergence checks.
#include <gtest/gtest.h>
#include <mujoco/mujoco.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ddpg/env.h"
#include "ddpg/io.h"
#include "envs/mujoco/mujoco_env.h"

namespace ddpg {
namespace {

using Options = std::map<std::string, std::string>;

// The factories as registered, applied the way make_env applies them (unknown keys rejected).
std::unique_ptr<MujocoEnv> make(const std::string& id, const Options& options = {}) {
  static const std::vector<EnvInfo> registry = [] {
    std::vector<EnvInfo> r;
    register_mujoco_envs(r);
    return r;
  }();
  for (const EnvInfo& info : registry) {
    if (info.id != id) continue;
    EnvOptions opts(options);
    std::unique_ptr<Env> env = info.factory(opts);
    opts.check_all_used(id);
    auto* mujoco_env = dynamic_cast<MujocoEnv*>(env.get());
    if (mujoco_env == nullptr) throw Error(id + " is not a MujocoEnv");
    env.release();
    return std::unique_ptr<MujocoEnv>(mujoco_env);
  }
  throw Error("not registered: " + id);
}

double term(const Env& env, const std::string& name) {
  for (const auto& [n, v] : env.reward_terms()) {
    if (n == name) return v;
  }
  ADD_FAILURE() << env.spec().id << " has no reward term " << name;
  return NAN;
}

double sum_sq(const std::vector<double>& a) {
  double s = 0;
  for (double x : a) s += x * x;
  return s;
}

// A scripted action for step t: smooth values inside the bounds, with one dimension at 1.5× the
// bound every third step (the env must not clip it; MuJoCo clamps ctrl internally).
std::vector<double> scripted_action(const EnvSpec& spec, int t) {
  std::vector<double> a(spec.act_dim);
  for (int j = 0; j < spec.act_dim; ++j) {
    a[j] = spec.act_high[j] * std::sin(0.7 * t + 1.3 * j);
    if (t % 3 == 0 && j == t % spec.act_dim) a[j] = 1.5 * spec.act_high[j];
  }
  return a;
}

// ---------------------------------------------------------------------------------------------
// Every id: the summary table of ENVIRONMENTS.md and generic properties.

struct Case {
  const char* id;
  int obs_dim, act_dim;
  double act_bound;  // the range is [-bound, bound] for every actuator
  int frame_skip;
  double dt;
  int max_episode_steps;
  const char* ctrl_term;  // term holding -weight·Σa², nullptr when the task has none
  double ctrl_weight;
};

std::ostream& operator<<(std::ostream& os, const Case& c) { return os << c.id; }

const Case kCases[] = {
    {"HalfCheetah-v4", 17, 6, 1.0, 5, 0.05, 1000, "reward_ctrl", 0.1},
    {"HalfCheetah-v5", 17, 6, 1.0, 5, 0.05, 1000, "reward_ctrl", 0.1},
    {"Hopper-v4", 11, 3, 1.0, 4, 0.008, 1000, "reward_ctrl", 1e-3},
    {"Hopper-v5", 11, 3, 1.0, 4, 0.008, 1000, "reward_ctrl", 1e-3},
    {"Walker2d-v4", 17, 6, 1.0, 4, 0.008, 1000, "reward_ctrl", 1e-3},
    {"Walker2d-v5", 17, 6, 1.0, 4, 0.008, 1000, "reward_ctrl", 1e-3},
    {"Ant-v4", 27, 8, 1.0, 5, 0.05, 1000, "reward_ctrl", 0.5},
    {"Ant-v5", 105, 8, 1.0, 5, 0.05, 1000, "reward_ctrl", 0.5},
    {"Humanoid-v4", 376, 17, 0.4, 5, 0.015, 1000, "reward_ctrl", 0.1},
    {"Humanoid-v5", 348, 17, 0.4, 5, 0.015, 1000, "reward_ctrl", 0.1},
    {"HumanoidStandup-v4", 376, 17, 0.4, 5, 0.015, 1000, "reward_quadctrl", 0.1},
    {"HumanoidStandup-v5", 348, 17, 0.4, 5, 0.015, 1000, "reward_quadctrl", 0.1},
    {"Swimmer-v4", 8, 2, 1.0, 4, 0.04, 1000, "reward_ctrl", 1e-4},
    {"Swimmer-v5", 8, 2, 1.0, 4, 0.04, 1000, "reward_ctrl", 1e-4},
    {"Reacher-v4", 11, 2, 1.0, 2, 0.02, 50, "reward_ctrl", 1.0},
    {"Reacher-v5", 10, 2, 1.0, 2, 0.02, 50, "reward_ctrl", 1.0},
    {"Pusher-v4", 23, 7, 2.0, 5, 0.05, 100, "reward_ctrl", 0.1},
    {"Pusher-v5", 23, 7, 2.0, 5, 0.05, 100, "reward_ctrl", 0.1},
    {"InvertedPendulum-v4", 4, 1, 3.0, 2, 0.04, 1000, nullptr, 0.0},
    {"InvertedPendulum-v5", 4, 1, 3.0, 2, 0.04, 1000, nullptr, 0.0},
    {"InvertedDoublePendulum-v4", 11, 1, 1.0, 5, 0.05, 1000, nullptr, 0.0},
    {"InvertedDoublePendulum-v5", 9, 1, 1.0, 5, 0.05, 1000, nullptr, 0.0},
};

class EveryMujocoEnv : public ::testing::TestWithParam<Case> {};

TEST(MujocoRegistry, RegistersAll22IdsInTheMujocoFamily) {
  std::vector<EnvInfo> r;
  register_mujoco_envs(r);
  ASSERT_EQ(r.size(), 22u);
  for (size_t i = 0; i < r.size(); ++i) {
    EXPECT_EQ(r[i].id, kCases[i].id);
    EXPECT_EQ(r[i].family, "mujoco");
    EXPECT_FALSE(r[i].description.empty());
  }
}

TEST_P(EveryMujocoEnv, SpecMatchesTheSummaryTable) {
  const Case& c = GetParam();
  auto env = make(c.id);
  const EnvSpec& s = env->spec();
  EXPECT_EQ(s.id, c.id);
  EXPECT_EQ(s.obs_dim, c.obs_dim);
  EXPECT_EQ(s.act_dim, c.act_dim);
  EXPECT_EQ(s.max_episode_steps, c.max_episode_steps);
  EXPECT_EQ(env->frame_skip(), c.frame_skip);
  EXPECT_NEAR(env->dt(), c.dt, 1e-12);
  ASSERT_EQ(s.obs_low.size(), static_cast<size_t>(c.obs_dim));
  for (int i = 0; i < c.obs_dim; ++i) {
    EXPECT_EQ(s.obs_low[i], -INFINITY);
    EXPECT_EQ(s.obs_high[i], INFINITY);
  }
  for (int i = 0; i < c.act_dim; ++i) {
    EXPECT_EQ(s.act_low[i], -c.act_bound);
    EXPECT_EQ(s.act_high[i], c.act_bound);
  }
  EXPECT_EQ(static_cast<int>(env->reset(0).size()), c.obs_dim);
}

TEST_P(EveryMujocoEnv, TermsSumToTheRewardAndCtrlCostUsesTheRawAction) {
  const Case& c = GetParam();
  auto env = make(c.id);
  env->reset(3);
  for (int t = 0; t < 12; ++t) {
    const std::vector<double> a = scripted_action(env->spec(), t);
    const StepResult r = env->step(a);
    double sum = 0;
    for (const auto& [name, v] : env->reward_terms()) sum += v;
    EXPECT_NEAR(sum, r.reward, 1e-9 * (1 + std::fabs(r.reward))) << "step " << t;
    // ctrl holds the action as given, not clipped to ctrlrange
    for (int j = 0; j < c.act_dim; ++j) EXPECT_EQ(env->data()->ctrl[j], a[j]);
    if (c.ctrl_term != nullptr) {
      EXPECT_NEAR(term(*env, c.ctrl_term), -c.ctrl_weight * sum_sq(a), 1e-12) << "step " << t;
    }
    if (r.terminated) env->reset();
  }
}

TEST_P(EveryMujocoEnv, SameSeedGivesTheSameEpisode) {
  const Case& c = GetParam();
  auto a = make(c.id), b = make(c.id);
  a->reset(42);
  b->reset(7);
  EXPECT_EQ(a->reset(11), b->reset(11));
  for (int t = 0; t < 10; ++t) {
    const std::vector<double> action = scripted_action(a->spec(), t);
    const StepResult ra = a->step(action), rb = b->step(action);
    EXPECT_EQ(ra.reward, rb.reward);
    EXPECT_EQ(ra.terminated, rb.terminated);
    EXPECT_EQ(a->obs(), b->obs());
    if (ra.terminated) break;
  }
  EXPECT_NE(a->reset(12), b->reset(13));
}

TEST_P(EveryMujocoEnv, SaveAndLoadContinueIdentically) {
  const Case& c = GetParam();
  auto env = make(c.id);
  env->reset(5);
  for (int t = 0; t < 3; ++t) env->step(scripted_action(env->spec(), t));
  ArchiveWriter w("MJTEST__", 1);
  env->save_state(w);
  const std::string saved = w.finish();
  std::vector<double> rewards, obs;
  for (int t = 3; t < 8; ++t) {
    rewards.push_back(env->step(scripted_action(env->spec(), t)).reward);
    obs.insert(obs.end(), env->obs().begin(), env->obs().end());
  }
  env->reset();  // the next reset draws from the restored RNG too
  const std::vector<double> reset_obs = env->obs();

  auto fresh = make(c.id);  // never reset: load_state must bring everything
  ArchiveReader r(saved, "MJTEST__", 1, "test");
  fresh->load_state(r);
  EXPECT_EQ(fresh->elapsed_steps(), 3);
  std::vector<double> rewards2, obs2;
  for (int t = 3; t < 8; ++t) {
    rewards2.push_back(fresh->step(scripted_action(fresh->spec(), t)).reward);
    obs2.insert(obs2.end(), fresh->obs().begin(), fresh->obs().end());
  }
  EXPECT_EQ(rewards, rewards2);
  EXPECT_EQ(obs, obs2);
  EXPECT_EQ(fresh->reset(), reset_obs);
}

TEST_P(EveryMujocoEnv, UnknownOptionIsRejected) {
  const Case& c = GetParam();
  try {
    make(c.id, {{"no_such_option", "1"}});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no_such_option"), std::string::npos) << e.what();
  }
}

TEST_P(EveryMujocoEnv, NonFiniteActionIsAnError) {
  const Case& c = GetParam();
  auto env = make(c.id);
  env->reset(0);
  std::vector<double> a(c.act_dim, 0.0);
  a[0] = NAN;
  EXPECT_THROW(env->step(a), Error);
}

INSTANTIATE_TEST_SUITE_P(Gymnasium, EveryMujocoEnv, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           std::string n = info.param.id;
                           for (char& ch : n) {
                             if (ch == '-') ch = '_';
                           }
                           return n;
                         });

// ---------------------------------------------------------------------------------------------
// The base: model loading, kinematics timing, divergence.

TEST(MujocoEnvBase, EmbeddedModelsAreListedAndUnknownOnesRejected) {
  EXPECT_EQ(MujocoEnv::model_names().size(), 13u);
  EXPECT_NE(MujocoEnv::model_xml("hopper.xml").find("<mujoco"), std::string::npos);
  EXPECT_THROW(MujocoEnv::model_xml("nope.xml"), Error);
  EXPECT_EQ(make("Walker2d-v4")->model_name(), "walker2d.xml");
  EXPECT_EQ(make("Walker2d-v5")->model_name(), "walker2d_v5.xml");
  EXPECT_EQ(make("Pusher-v4")->model_name(), "pusher.xml");
  EXPECT_EQ(make("Pusher-v5")->model_name(), "pusher_v5.xml");
}

TEST(MujocoEnvBase, KinematicsAfterAStepAreTheLastSubStepsWithoutAnotherForwardPass) {
  auto env = make("HalfCheetah-v5");
  env->reset(0);
  env->step(std::vector<double>(6, 0.8));
  const mjModel* m = env->model();
  mjData* copy = mj_makeData(m);
  mj_copyData(copy, m, env->data());
  mj_kinematics(m, copy);
  // Refreshing the kinematics from qpos moves the bodies: the env did not refresh them.
  double moved = 0;
  for (int i = 0; i < 3 * m->nbody; ++i) moved += std::fabs(copy->xpos[i] - env->data()->xpos[i]);
  EXPECT_GT(moved, 1e-6);
  mj_deleteData(copy);
}

TEST(MujocoEnvBase, ResetObservationHasZeroContactForces) {
  // mj_forward does not run mj_rnePostConstraint: cfrc_ext in a reset observation is zero.
  auto env = make("Ant-v5");
  const std::vector<double>& obs = env->reset(1);
  for (int i = 27; i < 105; ++i) EXPECT_EQ(obs[i], 0.0);
}

TEST(MujocoEnvBase, DivergedSimulationRaisesAnErrorNamingEnvAndWarning) {
  auto env = make("Hopper-v4");
  env->reset(0);
  std::vector<double> qvel(env->model()->nv, 0.0);
  qvel[3] = 1e20;  // beyond MuJoCo's mjMAXVAL: mj_step flags it and resets the state
  env->set_state(env->init_qpos(), qvel);
  try {
    env->step({0.0, 0.0, 0.0});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("Hopper-v4"), std::string::npos) << msg;
    EXPECT_NE(msg.find("mjWARN_BADQVEL"), std::string::npos) << msg;
    EXPECT_NE(msg.find("episode step 1"), std::string::npos) << msg;
  }
  // A reset clears the condition.
  env->reset(0);
  EXPECT_NO_THROW(env->step({0.0, 0.0, 0.0}));
}

TEST(MujocoEnvBase, RangeOptionsParseAndBadValuesAreRejected) {
  auto env = make("Hopper-v5", {{"healthy_z_range", "(0.5, inf)"}});
  env->reset(0);
  std::vector<double> q = env->init_qpos();
  q[1] = 0.6;  // healthy under (0.5, inf), not under the default (0.7, inf)
  env->set_state(q, std::vector<double>(env->model()->nv, 0.0));
  EXPECT_FALSE(env->step({0, 0, 0}).terminated);
  EXPECT_THROW(make("Hopper-v5", {{"healthy_z_range", "0.5"}}), Error);
  EXPECT_THROW(make("Hopper-v5", {{"healthy_z_range", "2,1"}}), Error);
  EXPECT_THROW(make("Hopper-v5", {{"frame_skip", "0"}}), Error);
  // v4 has no frame_skip option.
  EXPECT_THROW(make("Hopper-v4", {{"frame_skip", "2"}}), Error);
}

// ---------------------------------------------------------------------------------------------
// Per task: reward formulas, terminations, layouts, resets.

// Uniform reset noise: every qpos/qvel entry within init ± scale, and not all at init.
void ExpectUniformReset(const std::string& id, double scale, bool uniform_qvel) {
  auto env = make(id);
  for (uint64_t seed = 0; seed < 5; ++seed) {
    env->reset(seed);
    const mjData* d = env->data();
    double spread = 0;
    const mjModel* m = env->model();
    const bool free_root = m->njnt > 0 && m->jnt_type[0] == mjJNT_FREE;
    for (int i = 0; i < m->nq; ++i) {
      // MuJoCo 2.2.2's mj_forward normalises the free joint's quaternion in qpos after the noise.
      if (free_root && i >= 3 && i < 7) continue;
      EXPECT_LE(std::fabs(d->qpos[i] - env->init_qpos()[i]), scale) << id << " qpos " << i;
      spread += std::fabs(d->qpos[i] - env->init_qpos()[i]);
    }
    if (free_root) {
      const double* q = d->qpos + 3;
      EXPECT_NEAR(q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3], 1.0, 1e-12) << id;
    }
    if (uniform_qvel) {
      for (int i = 0; i < env->model()->nv; ++i) EXPECT_LE(std::fabs(d->qvel[i]), scale) << id;
    }
    EXPECT_GT(spread, 0.0) << id;
  }
}

TEST(MujocoReset, NoiseRangesFollowGymnasium) {
  for (const char* v : {"-v4", "-v5"}) {
    const std::string s = v;
    ExpectUniformReset("HalfCheetah" + s, 0.1, false);  // qvel: 0.1·N
    ExpectUniformReset("Hopper" + s, 5e-3, true);
    ExpectUniformReset("Walker2d" + s, 5e-3, true);
    ExpectUniformReset("Ant" + s, 0.1, false);
    ExpectUniformReset("Humanoid" + s, 1e-2, true);
    ExpectUniformReset("HumanoidStandup" + s, 1e-2, true);
    ExpectUniformReset("Swimmer" + s, 0.1, true);
    ExpectUniformReset("InvertedPendulum" + s, 0.01, true);
    ExpectUniformReset("InvertedDoublePendulum" + s, 0.1, false);
  }
}

TEST(MujocoReset, ZeroNoiseGivesTheDeterministicInitialState) {
  // Hopper: qpos0 = [0, 1.25, 0, ...], qvel = 0 → obs = qpos[1:] + qvel.
  auto hopper = make("Hopper-v5", {{"reset_noise_scale", "0"}});
  std::vector<double> expected(11, 0.0);
  expected[0] = 1.25;
  EXPECT_EQ(hopper->reset(3), expected);
  // Every id with the option: the reset observation is that of (init_qpos, init_qvel).
  for (const char* id :
       {"HalfCheetah-v4", "Walker2d-v5", "Ant-v4", "Ant-v5", "Humanoid-v4", "Humanoid-v5",
        "HumanoidStandup-v5", "Swimmer-v5", "InvertedPendulum-v5", "InvertedDoublePendulum-v5"}) {
    auto env = make(id, {{"reset_noise_scale", "0"}});
    const std::vector<double> obs = env->reset(9);
    env->set_state(env->init_qpos(), env->init_qvel());
    EXPECT_EQ(obs, env->obs()) << id;
    EXPECT_EQ(obs, make(id, {{"reset_noise_scale", "0"}})->reset(1)) << id;
  }
}

TEST(HalfCheetah, ForwardRewardFromQposAndOptions) {
  for (const char* id : {"HalfCheetah-v4", "HalfCheetah-v5"}) {
    auto env = make(id, {{"ctrl_cost_weight", "0.25"}, {"forward_reward_weight", "2"}});
    env->reset(1);
    for (int t = 0; t < 5; ++t) {
      const double x0 = env->data()->qpos[0];
      const std::vector<double> a = scripted_action(env->spec(), t);
      const StepResult r = env->step(a);
      const double vx = (env->data()->qpos[0] - x0) / 0.05;
      EXPECT_NEAR(term(*env, "reward_forward"), 2 * vx, 1e-12);
      EXPECT_NEAR(term(*env, "reward_ctrl"), -0.25 * sum_sq(a), 1e-12);
      EXPECT_FALSE(r.terminated);
    }
  }
  auto with_x = make("HalfCheetah-v5", {{"exclude_current_positions_from_observation", "false"}});
  EXPECT_EQ(with_x->spec().obs_dim, 18);
  with_x->reset(0);
  EXPECT_EQ(with_x->obs()[0], with_x->data()->qpos[0]);
  EXPECT_EQ(make("HalfCheetah-v5", {{"frame_skip", "2"}})->dt(), 0.02);
}

TEST(HalfCheetah, NeverTerminatesEvenUpsideDown) {
  auto env = make("HalfCheetah-v4");
  env->reset(0);
  std::vector<double> q = env->init_qpos();
  q[2] = 3.0;  // rooty: flipped over
  env->set_state(q, env->init_qvel());
  for (int t = 0; t < 20; ++t) EXPECT_FALSE(env->step(scripted_action(env->spec(), t)).terminated);
}

// Puts `env` in (qpos, qvel = 0) and takes one zero-action step.
StepResult StepFrom(MujocoEnv& env, const std::vector<double>& qpos) {
  env.set_state(qpos, std::vector<double>(env.model()->nv, 0.0));
  return env.step(std::vector<double>(env.spec().act_dim, 0.0));
}

TEST(Hopper, TerminatesWhenLowOrTiltedAndV5DropsTheTerminalHealthyReward) {
  for (int version : {4, 5}) {
    const std::string id = "Hopper-v" + std::to_string(version);
    auto env = make(id);
    env->reset(0);
    std::vector<double> q = env->init_qpos();
    StepResult r = StepFrom(*env, q);
    EXPECT_FALSE(r.terminated) << id;
    EXPECT_EQ(term(*env, "reward_survive"), 1.0);

    q[2] = 0.3;  // angle beyond 0.2
    r = StepFrom(*env, q);
    EXPECT_TRUE(r.terminated) << id;
    EXPECT_EQ(term(*env, "reward_survive"), version == 4 ? 1.0 : 0.0) << id;

    q = env->init_qpos();
    q[1] = 0.6;  // z below 0.7
    r = StepFrom(*env, q);
    EXPECT_TRUE(r.terminated) << id;

    std::vector<double> qvel(env->model()->nv, 0.0);
    env->set_state(env->init_qpos(), qvel);
    const double x0 = env->data()->qpos[0];
    const std::vector<double> a = {0.5, -2.0, 1.0};
    r = env->step(a);
    const double vx = (env->data()->qpos[0] - x0) / 0.008;
    EXPECT_NEAR(term(*env, "reward_forward"), vx, 1e-12);
    EXPECT_NEAR(r.reward, vx + 1.0 - 1e-3 * sum_sq(a), 1e-12);
  }
  // A velocity beyond healthy_state_range (100) is unhealthy too; the observation clips it to 10.
  auto env = make("Hopper-v4", {{"terminate_when_unhealthy", "false"}});
  env->reset(0);
  std::vector<double> qvel(env->model()->nv, 0.0);
  qvel[5] = 500.0;
  env->set_state(env->init_qpos(), qvel);
  const StepResult r = env->step({0, 0, 0});
  EXPECT_FALSE(r.terminated);
  // v4 with terminate_when_unhealthy=false: float(healthy or False) = 0
  EXPECT_EQ(term(*env, "reward_survive"), 0.0);
  for (int i = 5; i < 11; ++i) EXPECT_LE(std::fabs(env->obs()[i]), 10.0);
}

TEST(Walker2d, HealthyRangesAndVersions) {
  for (int version : {4, 5}) {
    const std::string id = "Walker2d-v" + std::to_string(version);
    auto env = make(id);
    env->reset(0);
    std::vector<double> q = env->init_qpos();
    EXPECT_FALSE(StepFrom(*env, q).terminated);
    q[1] = 2.5;  // above the z range (0.8, 2)
    EXPECT_TRUE(StepFrom(*env, q).terminated) << id;
    EXPECT_EQ(term(*env, "reward_survive"), version == 4 ? 1.0 : 0.0);
    q = env->init_qpos();
    q[2] = -1.2;  // angle outside (-1, 1)
    EXPECT_TRUE(StepFrom(*env, q).terminated) << id;
  }
  // The v5 model's right foot friction is 1.9 (v4: 0.9).
  auto v4 = make("Walker2d-v4"), v5 = make("Walker2d-v5");
  const int g4 = mj_name2id(v4->model(), mjOBJ_GEOM, "foot_geom");
  const int g5 = mj_name2id(v5->model(), mjOBJ_GEOM, "foot_geom");
  ASSERT_GE(g4, 0);
  ASSERT_GE(g5, 0);
  EXPECT_DOUBLE_EQ(v4->model()->geom_friction[3 * g4], 0.9);
  EXPECT_DOUBLE_EQ(v5->model()->geom_friction[3 * g5], 1.9);
}

double ClippedCfrcSquares(const MujocoEnv& env, double lo, double hi) {
  double s = 0;
  for (int i = 0; i < 6 * env.model()->nbody; ++i) {
    const double f = std::min(std::max(env.data()->cfrc_ext[i], lo), hi);
    s += f * f;
  }
  return s;
}

TEST(Ant, V5RewardAndObservationFromTorsoXposAndContactForces) {
  auto env = make("Ant-v5");
  env->reset(2);
  const int torso = mj_name2id(env->model(), mjOBJ_BODY, "torso");
  double contact_seen = 0;
  for (int t = 0; t < 15; ++t) {
    const double x0 = env->data()->xpos[3 * torso];
    const std::vector<double> a = scripted_action(env->spec(), t);
    const StepResult r = env->step(a);
    const double vx = (env->data()->xpos[3 * torso] - x0) / 0.05;
    EXPECT_NEAR(term(*env, "reward_forward"), vx, 1e-12);
    const double contact = 5e-4 * ClippedCfrcSquares(*env, -1, 1);
    contact_seen += contact;
    EXPECT_NEAR(term(*env, "reward_contact"), -contact, 1e-15);
    EXPECT_NEAR(r.reward, vx + 1.0 - 0.5 * sum_sq(a) - contact, 1e-12);
    // obs = qpos[2:] (13), qvel (14), clip(cfrc_ext[1:], -1, 1) (78)
    const mjData* d = env->data();
    for (int i = 0; i < 13; ++i) EXPECT_EQ(env->obs()[i], d->qpos[2 + i]);
    for (int i = 0; i < 14; ++i) EXPECT_EQ(env->obs()[13 + i], d->qvel[i]);
    for (int i = 0; i < 78; ++i) {
      EXPECT_EQ(env->obs()[27 + i], std::min(std::max(d->cfrc_ext[6 + i], -1.0), 1.0));
    }
    if (r.terminated) break;
  }
  EXPECT_GT(contact_seen, 0.0);  // the feet touch the floor: the term is exercised
}

TEST(Ant, V4ContactForcesOnlyOnRequestAndHealthyZInclusive) {
  auto plain = make("Ant-v4");
  plain->reset(0);
  plain->step(std::vector<double>(8, 0.3));
  EXPECT_EQ(term(*plain, "reward_contact"), 0.0);

  auto with = make("Ant-v4", {{"use_contact_forces", "true"}});
  EXPECT_EQ(with->spec().obs_dim, 111);
  with->reset(0);
  for (int t = 0; t < 8; ++t) with->step(scripted_action(with->spec(), t));
  EXPECT_NEAR(term(*with, "reward_contact"), -5e-4 * ClippedCfrcSquares(*with, -1, 1), 1e-15);
  for (int i = 0; i < 84; ++i) {  // all 14 bodies, the world included
    EXPECT_EQ(with->obs()[27 + i], std::min(std::max(with->data()->cfrc_ext[i], -1.0), 1.0));
  }
  EXPECT_EQ(make("Ant-v5", {{"include_cfrc_ext_in_observation", "false"}})->spec().obs_dim, 27);
  EXPECT_EQ(make("Ant-v5", {{"exclude_current_positions_from_observation", "0"}})->spec().obs_dim,
            107);

  for (int version : {4, 5}) {
    auto env = make("Ant-v" + std::to_string(version));
    env->reset(0);
    std::vector<double> q = env->init_qpos();
    q[2] = 1.3;  // torso above 1.0: unhealthy
    const StepResult r = StepFrom(*env, q);
    EXPECT_TRUE(r.terminated);
    EXPECT_EQ(term(*env, "reward_survive"), version == 4 ? 1.0 : 0.0);
  }
}

TEST(Humanoid, RewardFromMassCentreAndV5ContactCost) {
  for (int version : {4, 5}) {
    auto env = make("Humanoid-v" + std::to_string(version));
    env->reset(4);
    const mjModel* m = env->model();
    auto mass_center_x = [&] {
      double mx = 0, mass = 0;
      for (int b = 0; b < m->nbody; ++b) {
        mx += m->body_mass[b] * env->data()->xipos[3 * b];
        mass += m->body_mass[b];
      }
      return mx / mass;
    };
    for (int t = 0; t < 6; ++t) {
      const double x0 = mass_center_x();
      const std::vector<double> a = scripted_action(env->spec(), t);
      const StepResult r = env->step(a);
      const double vx = (mass_center_x() - x0) / 0.015;
      EXPECT_NEAR(term(*env, "reward_forward"), 1.25 * vx, 1e-10);
      double cfrc = 0;
      for (int i = 0; i < 6 * m->nbody; ++i)
        cfrc += env->data()->cfrc_ext[i] * env->data()->cfrc_ext[i];
      const double contact = version == 5 ? std::min(5e-7 * cfrc, 10.0) : 0.0;
      EXPECT_NEAR(term(*env, "reward_contact"), -contact, 1e-12);
      EXPECT_NEAR(r.reward, 1.25 * vx + 5.0 - 0.1 * sum_sq(a) - contact, 1e-10);
      EXPECT_FALSE(r.terminated);
    }
    std::vector<double> q = env->init_qpos();
    q[2] = 0.9;  // below healthy_z_range (1, 2)
    EXPECT_TRUE(StepFrom(*env, q).terminated);
    EXPECT_EQ(term(*env, "reward_survive"), version == 4 ? 5.0 : 0.0);
  }
}

TEST(Humanoid, ObservationBlocksPerVersion) {
  auto v4 = make("Humanoid-v4"), v5 = make("Humanoid-v5");
  v4->reset(0);
  v5->reset(0);
  const std::vector<double> a = scripted_action(v4->spec(), 1);
  v4->step(a);
  v5->step(a);
  // v4: qpos[2:] 22, qvel 23, cinert 140, cvel 84, qfrc_actuator 23, cfrc_ext 84
  const mjData* d = v4->data();
  const std::vector<double>& o4 = v4->obs();
  EXPECT_EQ(o4[45], d->cinert[0]);
  EXPECT_EQ(o4[185], d->cvel[0]);
  EXPECT_EQ(o4[269], d->qfrc_actuator[0]);
  EXPECT_EQ(o4[292], d->cfrc_ext[0]);
  EXPECT_EQ(o4[375], d->cfrc_ext[83]);
  // v5: cinert[1:] 130, cvel[1:] 78, qfrc_actuator[6:] 17, cfrc_ext[1:] 78
  const mjData* e = v5->data();
  const std::vector<double>& o5 = v5->obs();
  EXPECT_EQ(o5[45], e->cinert[10]);
  EXPECT_EQ(o5[175], e->cvel[6]);
  EXPECT_EQ(o5[253], e->qfrc_actuator[6]);
  EXPECT_EQ(o5[270], e->cfrc_ext[6]);
  EXPECT_EQ(o5[347], e->cfrc_ext[83]);
  EXPECT_EQ(make("Humanoid-v5", {{"include_cinert_in_observation", "false"},
                                 {"include_cvel_in_observation", "false"},
                                 {"include_qfrc_actuator_in_observation", "false"},
                                 {"include_cfrc_ext_in_observation", "false"}})
                ->spec()
                .obs_dim,
            45);
  EXPECT_EQ(make("Humanoid-v4", {{"exclude_current_positions_from_observation", "false"}})
                ->spec()
                .obs_dim,
            378);
}

TEST(HumanoidStandup, RewardDividesByTheTimestepAndNeverTerminates) {
  for (int version : {4, 5}) {
    auto env = make("HumanoidStandup-v" + std::to_string(version));
    env->reset(1);
    for (int t = 0; t < 6; ++t) {
      const std::vector<double> a = scripted_action(env->spec(), t);
      const StepResult r = env->step(a);
      const mjData* d = env->data();
      double cfrc = 0;
      for (int i = 0; i < 6 * env->model()->nbody; ++i) cfrc += d->cfrc_ext[i] * d->cfrc_ext[i];
      const double impact = std::min(0.5e-6 * cfrc, 10.0);
      EXPECT_NEAR(term(*env, "reward_linup"), d->qpos[2] / 0.003, 1e-9);
      EXPECT_NEAR(term(*env, "reward_impact"), -impact, 1e-12);
      EXPECT_NEAR(r.reward, d->qpos[2] / 0.003 - 0.1 * sum_sq(a) - impact + 1, 1e-9);
      EXPECT_FALSE(r.terminated);
    }
  }
  // v4 takes no options; v5 accepts Gymnasium's (uph_cost_weight is accepted and unused).
  EXPECT_THROW(make("HumanoidStandup-v4", {{"ctrl_cost_weight", "1"}}), Error);
  EXPECT_NO_THROW(make("HumanoidStandup-v5", {{"uph_cost_weight", "3"}}));
}

TEST(Swimmer, ForwardRewardAndLayout) {
  auto env = make("Swimmer-v5", {{"exclude_current_positions_from_observation", "false"}});
  EXPECT_EQ(env->spec().obs_dim, 10);
  env->reset(0);
  for (int t = 0; t < 5; ++t) {
    const double x0 = env->data()->qpos[0];
    const std::vector<double> a = scripted_action(env->spec(), t);
    const StepResult r = env->step(a);
    EXPECT_NEAR(r.reward, (env->data()->qpos[0] - x0) / 0.04 - 1e-4 * sum_sq(a), 1e-12);
    EXPECT_FALSE(r.terminated);
    EXPECT_EQ(env->obs()[0], env->data()->qpos[0]);
  }
}

double BodyDistance(const MujocoEnv& env, const char* a, const char* b) {
  const int ia = mj_name2id(env.model(), mjOBJ_BODY, a),
            ib = mj_name2id(env.model(), mjOBJ_BODY, b);
  double s = 0;
  for (int k = 0; k < 3; ++k) {
    const double dlt = env.data()->xpos[3 * ia + k] - env.data()->xpos[3 * ib + k];
    s += dlt * dlt;
  }
  return std::sqrt(s);
}

TEST(Reacher, V4RewardsThePreStepStateV5ThePostStepState) {
  for (int version : {4, 5}) {
    auto env = make("Reacher-v" + std::to_string(version));
    env->reset(6);
    for (int t = 0; t < 5; ++t) {
      const double before = BodyDistance(*env, "fingertip", "target");
      const std::vector<double> a = scripted_action(env->spec(), t);
      const StepResult r = env->step(a);
      const double after = BodyDistance(*env, "fingertip", "target");
      EXPECT_DOUBLE_EQ(term(*env, "reward_dist"), -(version == 4 ? before : after));
      EXPECT_NEAR(r.reward, -(version == 4 ? before : after) - sum_sq(a), 1e-12);
      EXPECT_FALSE(r.terminated);
    }
    // obs: cos(q0), cos(q1), sin(q0), sin(q1), target x, y, qvel[:2], fingertip − target
    const mjData* d = env->data();
    const std::vector<double>& o = env->obs();
    EXPECT_EQ(o[0], std::cos(d->qpos[0]));
    EXPECT_EQ(o[3], std::sin(d->qpos[1]));
    EXPECT_EQ(o[4], d->qpos[2]);
    EXPECT_EQ(o[7], d->qvel[1]);
  }
  auto env = make("Reacher-v5", {{"reward_dist_weight", "2"}, {"reward_control_weight", "0"}});
  env->reset(0);
  env->step({0.2, 0.1});
  EXPECT_EQ(term(*env, "reward_ctrl"), 0.0);
  EXPECT_DOUBLE_EQ(term(*env, "reward_dist"), -2 * BodyDistance(*env, "fingertip", "target"));
  EXPECT_THROW(make("Reacher-v4", {{"reward_dist_weight", "2"}}), Error);
}

TEST(Reacher, ResetPutsTheGoalInTheDiscAndStillsIt) {
  auto env = make("Reacher-v4");
  for (uint64_t seed = 0; seed < 30; ++seed) {
    env->reset(seed);
    const mjData* d = env->data();
    EXPECT_LT(std::hypot(d->qpos[2], d->qpos[3]), 0.2);
    EXPECT_LE(std::fabs(d->qpos[0]), 0.1);
    EXPECT_LE(std::fabs(d->qpos[1]), 0.1);
    EXPECT_LE(std::fabs(d->qvel[0]), 0.005);
    EXPECT_EQ(d->qvel[2], 0.0);
    EXPECT_EQ(d->qvel[3], 0.0);
  }
}

TEST(Pusher, RewardTimingWeightsAndReset) {
  for (int version : {4, 5}) {
    auto env = make("Pusher-v" + std::to_string(version));
    env->reset(8);
    for (int t = 0; t < 5; ++t) {
      const double near0 = BodyDistance(*env, "object", "tips_arm");
      const double dist0 = BodyDistance(*env, "object", "goal");
      const std::vector<double> a = scripted_action(env->spec(), t);
      const StepResult r = env->step(a);
      const double near = version == 4 ? near0 : BodyDistance(*env, "object", "tips_arm");
      const double dist = version == 4 ? dist0 : BodyDistance(*env, "object", "goal");
      EXPECT_DOUBLE_EQ(term(*env, "reward_near"), -0.5 * near);
      EXPECT_NEAR(r.reward, -dist - 0.1 * sum_sq(a) - 0.5 * near, 1e-12);
      EXPECT_FALSE(r.terminated);
    }
  }
  auto env = make("Pusher-v5");
  for (uint64_t seed = 0; seed < 20; ++seed) {
    env->reset(seed);
    const mjData* d = env->data();
    const int nq = env->model()->nq, nv = env->model()->nv;
    for (int i = 0; i < 7; ++i) EXPECT_EQ(d->qpos[i], env->init_qpos()[i]);
    const double cx = d->qpos[nq - 4], cy = d->qpos[nq - 3];
    EXPECT_TRUE(cx >= -0.3 && cx <= 0.0 && std::fabs(cy) <= 0.2);
    EXPECT_GT(std::hypot(cx, cy), 0.17);
    EXPECT_EQ(d->qpos[nq - 2], 0.0);
    EXPECT_EQ(d->qpos[nq - 1], 0.0);
    for (int i = nv - 4; i < nv; ++i) EXPECT_EQ(d->qvel[i], 0.0);
    EXPECT_LE(std::fabs(d->qvel[0]), 0.005);
  }
}

TEST(InvertedPendulum, TerminatesBeyond0Point2AndV5PaysNothingThere) {
  for (int version : {4, 5}) {
    auto env = make("InvertedPendulum-v" + std::to_string(version));
    env->reset(0);
    EXPECT_EQ(StepFrom(*env, {0.0, 0.0}).reward, 1.0);
    const StepResult r = StepFrom(*env, {0.0, 0.3});
    EXPECT_TRUE(r.terminated);
    EXPECT_EQ(r.reward, version == 4 ? 1.0 : 0.0);
    EXPECT_EQ(env->obs()[1], env->data()->qpos[1]);
  }
}

TEST(InvertedDoublePendulum, RewardFromTheTipSiteAndTermination) {
  for (int version : {4, 5}) {
    auto env = make("InvertedDoublePendulum-v" + std::to_string(version));
    env->reset(3);
    for (int t = 0; t < 3; ++t) {
      const StepResult r = env->step(scripted_action(env->spec(), t));
      const mjData* d = env->data();
      const double x = d->site_xpos[0], y = d->site_xpos[2];
      const double dist = 0.01 * x * x + (y - 2) * (y - 2);
      const double vel = 1e-3 * d->qvel[1] * d->qvel[1] + 5e-3 * d->qvel[2] * d->qvel[2];
      EXPECT_NEAR(r.reward, 10 - dist - vel, 1e-12);
      EXPECT_FALSE(r.terminated);
      EXPECT_EQ(env->obs()[1], std::sin(d->qpos[1]));
      EXPECT_EQ(env->obs()[4], std::cos(d->qpos[2]));
    }
    const StepResult r = StepFrom(*env, {0.0, 1.5, 0.0});  // poles tipped: tip z well below 1
    EXPECT_TRUE(r.terminated);
    EXPECT_EQ(term(*env, "reward_survive"), version == 4 ? 10.0 : 0.0);
  }
  auto env = make("InvertedDoublePendulum-v5", {{"healthy_reward", "3"}});
  env->reset(0);
  env->step({0.0});
  EXPECT_EQ(term(*env, "reward_survive"), 3.0);
}

}  // namespace
}  // namespace ddpg
