// Classic control envs against Gymnasium's reference equations: one-step dynamics and rewards,
// time limits (truncated only), termination, float32 storage, seeding, options and bad input.
#include <gtest/gtest.h>

#include <cmath>

#include "ddpg/env.h"
#include "ddpg/env_pool.h"
#include "envs/classic/mountain_car_continuous.h"
#include "envs/classic/pendulum.h"

namespace ddpg {
namespace {

TEST(Pendulum, OneStepMatchesReferenceEquations) {
  EnvOptions opts;
  Pendulum env(opts);
  env.reset(0);
  const double th = 2.5, thdot = -3.0, u = 1.3;
  env.set_state(th, thdot);
  const StepResult r = env.step({u});
  // pendulum.py: newthdot = thdot + (3g/(2l) sin th + 3/(m l^2) u) dt, clipped; th += newthdot dt
  const double new_thdot = thdot + (3 * 10.0 / 2 * std::sin(th) + 3.0 * u) * 0.05;
  const double new_th = th + new_thdot * 0.05;
  EXPECT_DOUBLE_EQ(env.theta_dot(), new_thdot);
  EXPECT_DOUBLE_EQ(env.theta(), new_th);
  const double cost = th * th + 0.1 * thdot * thdot + 0.001 * u * u;  // th already in [-pi, pi)
  EXPECT_DOUBLE_EQ(r.reward, -cost);
  EXPECT_FALSE(r.terminated);
  EXPECT_FALSE(r.truncated);
  EXPECT_FLOAT_EQ(env.obs()[0], static_cast<float>(std::cos(new_th)));
  EXPECT_FLOAT_EQ(env.obs()[1], static_cast<float>(std::sin(new_th)));
  EXPECT_FLOAT_EQ(env.obs()[2], static_cast<float>(new_thdot));
  double sum = 0;
  for (const auto& [name, v] : env.reward_terms()) sum += v;
  EXPECT_DOUBLE_EQ(sum, r.reward);
}

TEST(Pendulum, ClipsTorqueSpeedAndNormalisesAngle) {
  EnvOptions opts;
  Pendulum env(opts);
  env.reset(0);
  env.set_state(7.0, 7.9);               // angle beyond pi: the cost uses angle_normalize
  const StepResult r = env.step({5.0});  // clipped to 2 in dynamics and cost
  const double a = 7.0 - 2 * M_PI;
  EXPECT_DOUBLE_EQ(r.reward, -(a * a + 0.1 * 7.9 * 7.9 + 0.001 * 4.0));
  EXPECT_DOUBLE_EQ(env.theta_dot(), 8.0);  // clipped at max_speed
}

TEST(Pendulum, GravityOptionAndTimeLimitTruncates) {
  EnvOptions opts(std::map<std::string, std::string>{{"g", "9.81"}});
  Pendulum env(opts);
  opts.check_all_used("Pendulum-v1");
  env.reset(1);
  env.set_state(1.0, 0.0);
  env.step({0.0});
  EXPECT_DOUBLE_EQ(env.theta_dot(), 3 * 9.81 / 2 * std::sin(1.0) * 0.05);
  env.reset(1);
  for (int i = 1; i <= 200; ++i) {
    const StepResult r = env.step({0.0});
    EXPECT_FALSE(r.terminated);
    EXPECT_EQ(r.truncated, i == 200) << i;
  }
}

TEST(Pendulum, ResetRangesAndSeeding) {
  auto env = make_env("Pendulum-v1");
  auto env2 = make_env("Pendulum-v1");
  const auto first = env->reset(42);
  EXPECT_EQ(env2->reset(42), first);
  EXPECT_NE(env2->reset(43), first);
  auto* p = static_cast<Pendulum*>(env.get());
  for (int i = 0; i < 200; ++i) {
    env->reset();
    EXPECT_GE(p->theta(), -M_PI);
    EXPECT_LT(p->theta(), M_PI);
    EXPECT_GE(p->theta_dot(), -1.0);
    EXPECT_LT(p->theta_dot(), 1.0);
  }
}

TEST(MountainCarContinuous, OneStepMatchesReferenceEquations) {
  EnvOptions opts;
  MountainCarContinuous env(opts);
  env.reset(0);
  env.set_state(-0.5, 0.01);
  const double a = 1.7;  // clipped to 1 for the force, not for the cost
  const StepResult r = env.step({a});
  double v = 0.01 + (1.0 * 0.0015 - 0.0025 * std::cos(3 * -0.5));  // Python's `v += f*p - c`
  double x = -0.5 + v;
  EXPECT_DOUBLE_EQ(env.velocity(), static_cast<float>(v));
  EXPECT_DOUBLE_EQ(env.position(), static_cast<float>(x));
  EXPECT_DOUBLE_EQ(r.reward, -0.1 * a * a);
  EXPECT_FALSE(r.terminated);
}

TEST(MountainCarContinuous, GoalTerminatesWithBonus) {
  EnvOptions opts;
  MountainCarContinuous env(opts);
  env.reset(0);
  env.set_state(0.44, 0.02);
  const StepResult r = env.step({0.5});
  EXPECT_TRUE(r.terminated);
  EXPECT_FALSE(r.truncated);
  EXPECT_DOUBLE_EQ(r.reward, 100.0 - 0.1 * 0.25);
}

TEST(MountainCarContinuous, LeftWallStopsTheCar) {
  EnvOptions opts;
  MountainCarContinuous env(opts);
  env.reset(0);
  env.set_state(-1.19, -0.05);
  env.step({-1.0});
  EXPECT_DOUBLE_EQ(env.position(), static_cast<float>(-1.2));
  EXPECT_DOUBLE_EQ(env.velocity(), 0.0);
}

TEST(MountainCarContinuous, ResetRangeAndTimeLimit) {
  auto env = make_env("MountainCarContinuous-v0");
  auto* m = static_cast<MountainCarContinuous*>(env.get());
  env->reset(3);
  for (int i = 0; i < 100; ++i) {
    env->reset();
    EXPECT_GE(m->position(), -0.6);
    EXPECT_LT(m->position(), -0.4);
    EXPECT_EQ(m->velocity(), 0.0);
  }
  env->reset(3);
  StepResult r;
  int n = 0;
  do {
    r = env->step({0.0});
    ++n;
  } while (!r.truncated && !r.terminated);
  EXPECT_EQ(n, 999);
  EXPECT_FALSE(r.terminated);
}

TEST(EnvRegistry, UnknownIdSuggestsNearMatch) {
  try {
    make_env("pendulum-v1");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("Did you mean: Pendulum-v1"), std::string::npos)
        << e.what();
  }
}

TEST(EnvRegistry, UnknownOptionAndBadValue) {
  EXPECT_THROW(make_env("Pendulum-v1", {{"gravity", "9"}}), Error);
  EXPECT_THROW(make_env("Pendulum-v1", {{"g", "nine"}}), Error);
  auto env = make_env("Pendulum-v1", {{"max_episode_steps", "5"}});
  EXPECT_EQ(env->spec().max_episode_steps, 5);
}

TEST(Env, WrongActionSizeIsAClearError) {
  auto env = make_env("Pendulum-v1");
  env->reset(0);
  try {
    env->step({0.0, 1.0});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("action has 2 values, the env expects 1"),
              std::string::npos);
  }
}

TEST(Env, NonFiniteObservationIsAClearError) {
  EnvOptions opts;
  Pendulum env(opts);
  env.reset(0);
  env.set_state(NAN, 0.0);
  EXPECT_THROW(env.step({0.0}), Error);
}

TEST(Env, SaveAndLoadStateContinueIdentically) {
  auto a = make_env("Pendulum-v1");
  auto b = make_env("Pendulum-v1");
  a->reset(5);
  for (int i = 0; i < 17; ++i) a->step({0.3});
  ArchiveWriter w("TESTENV_", 1);
  a->save_state(w);
  ArchiveReader r(w.finish(), "TESTENV_", 1, "test");
  b->load_state(r);
  for (int i = 0; i < 300; ++i) {
    if (i == 183) {  // both hit the time limit together and reset from the same RNG
      EXPECT_TRUE(a->step({0.1}).truncated);
      EXPECT_TRUE(b->step({0.1}).truncated);
      EXPECT_EQ(a->reset(), b->reset());
      continue;
    }
    const StepResult ra = a->step({0.1}), rb = b->step({0.1});
    EXPECT_EQ(ra.reward, rb.reward);
    EXPECT_EQ(a->obs(), b->obs());
  }
}

// sb3-contrib's TimeFeatureWrapper: obs + [1 - t/T], everything else the inner env's.
TEST(TimeFeature, AppendsRemainingTimeAndKeepsTheInnerTrajectory) {
  auto plain = make_env("Pendulum-v1");
  auto timed = make_env("Pendulum-v1", {{"time_feature", "true"}});
  const EnvSpec& s = timed->spec();
  ASSERT_EQ(s.obs_dim, 4);
  EXPECT_EQ(s.obs_low.back(), 0.0);
  EXPECT_EQ(s.obs_high.back(), 1.0);
  EXPECT_EQ(s.max_episode_steps, 200);
  EXPECT_EQ(s.act_dim, 1);

  const std::vector<double>& first = timed->reset(7);
  EXPECT_EQ(first.back(), 1.0);
  EXPECT_EQ(std::vector<double>(first.begin(), first.end() - 1), plain->reset(7));
  for (int t = 1; t <= 200; ++t) {
    const double u = std::sin(0.1 * t);
    const StepResult a = plain->step({u}), b = timed->step({u});
    ASSERT_EQ(a.reward, b.reward);
    ASSERT_EQ(a.terminated, b.terminated);
    ASSERT_EQ(a.truncated, b.truncated) << t;
    EXPECT_EQ(b.truncated, t == 200);
    const std::vector<double>& o = timed->obs();
    EXPECT_EQ(std::vector<double>(o.begin(), o.end() - 1), plain->obs());
    EXPECT_DOUBLE_EQ(o.back(), 1.0 - t / 200.0) << t;
    EXPECT_EQ(timed->reward_terms(), plain->reward_terms());
  }
  EXPECT_EQ(timed->obs().back(), 0.0);
  // An unseeded reset continues the inner env's RNG, as it would without the wrapper.
  const std::vector<double>& again = timed->reset();
  EXPECT_EQ(again.back(), 1.0);
  EXPECT_EQ(std::vector<double>(again.begin(), again.end() - 1), plain->reset());
}

TEST(TimeFeature, FollowsTheTimeLimitAndSavesItsState) {
  auto a = make_env("Pendulum-v1", {{"time_feature", "1"}, {"max_episode_steps", "50"}});
  auto b = make_env("Pendulum-v1", {{"time_feature", "1"}, {"max_episode_steps", "50"}});
  EXPECT_EQ(a->spec().max_episode_steps, 50);
  a->reset(3);
  for (int i = 0; i < 20; ++i) a->step({0.5});
  EXPECT_DOUBLE_EQ(a->obs().back(), 1.0 - 20.0 / 50.0);
  ArchiveWriter w("TESTENV_", 1);
  a->save_state(w);
  ArchiveReader r(w.finish(), "TESTENV_", 1, "test");
  b->load_state(r);
  EXPECT_EQ(b->obs(), a->obs());
  EXPECT_EQ(b->elapsed_steps(), 20);
  for (int i = 21; i <= 50; ++i) {
    const StepResult ra = a->step({-0.2}), rb = b->step({-0.2});
    EXPECT_EQ(ra.reward, rb.reward);
    EXPECT_EQ(a->obs(), b->obs());
    EXPECT_EQ(rb.truncated, i == 50);
  }
  EXPECT_EQ(a->reset(), b->reset());  // the inner RNGs were restored too
}

TEST(TimeFeature, OffByDefaultAndBadInputIsAClearError) {
  EXPECT_EQ(make_env("Pendulum-v1", {{"time_feature", "false"}})->spec().obs_dim, 3);
  try {
    make_env("Pendulum-v1", {{"time_feature", "maybe"}});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'time_feature' must be true or false"), std::string::npos)
        << e.what();
  }
  try {
    make_env("Pendulum-v1", {{"time_feature", "true"}, {"max_episode_steps", "0"}});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("needs a time limit"), std::string::npos) << e.what();
  }
}

TEST(Env, RescaleActionPerDimensionAsymmetric) {
  EnvSpec spec;
  spec.act_dim = 3;
  spec.act_low = {-2.0, 0.0, -1.0};
  spec.act_high = {2.0, 10.0, 3.0};
  const float a[3] = {1.0f, -1.0f, 0.0f};
  std::vector<double> out;
  rescale_action(a, spec, out);
  EXPECT_DOUBLE_EQ(out[0], 2.0);
  EXPECT_DOUBLE_EQ(out[1], 0.0);
  EXPECT_DOUBLE_EQ(out[2], 1.0);
}

}  // namespace
}  // namespace ddpg

namespace ddpg {
namespace {

// EnvPool: stepping together equals stepping one by one; autoreset keeps the last observation;
// an env's error reaches the caller.
TEST(EnvPool, MatchesSequentialSteppingAndAutoresets) {
  std::vector<std::unique_ptr<Env>> envs, solo;
  for (int i = 0; i < 3; ++i) {
    envs.push_back(make_env("Pendulum-v1"));
    solo.push_back(make_env("Pendulum-v1"));
    envs.back()->reset(i);
    solo.back()->reset(i);
  }
  EnvPool pool(std::move(envs), 2);
  EXPECT_EQ(pool.threads(), 2);
  std::vector<std::vector<double>> actions(3, std::vector<double>(1));
  std::vector<StepResult> results;
  for (int t = 0; t < 200; ++t) {
    for (int i = 0; i < 3; ++i) actions[i][0] = std::sin(0.1 * t + i);
    pool.step(actions, results, true);
    for (int i = 0; i < 3; ++i) {
      const StepResult r = solo[i]->step(actions[i]);
      EXPECT_EQ(results[i].reward, r.reward);
      EXPECT_EQ(results[i].truncated, r.truncated);
      if (t < 199) {
        EXPECT_EQ(pool.env(i).obs(), solo[i]->obs());
      }
    }
  }
  // Pendulum truncates at 200 steps: the pool reset every env, keeping the last observation
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(results[i].truncated);
    EXPECT_EQ(pool.final_obs(i), solo[i]->obs());
    EXPECT_EQ(pool.env(i).elapsed_steps(), 0);
  }
  actions[1] = {1.0, 2.0};  // wrong size for env 1
  EXPECT_THROW(pool.step(actions, results), Error);
}

}  // namespace
}  // namespace ddpg
