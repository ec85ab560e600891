// LunarLanderContinuous-v3 against Gymnasium's equations (lunar_lander.py; ENVIRONMENTS.md §4):
// spec, seeded terrain, the observation and reward terms from the bodies' state, the engines'
// thresholds, the three ways an episode ends, options, and exact resume by replay.
#include "envs/box2d/lunar_lander.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "ddpg/env.h"
#include "ddpg/rng.h"

namespace ddpg {
namespace {

constexpr double kW = LunarLander::kW, kH = LunarLander::kH;

std::unique_ptr<LunarLander> make_lander(std::map<std::string, std::string> options = {}) {
  EnvOptions o(std::move(options));
  auto env = std::make_unique<LunarLander>(o);
  o.check_all_used("LunarLanderContinuous-v3");
  return env;
}

double term(const Env& env, const std::string& name) {
  for (const auto& [n, v] : env.reward_terms()) {
    if (n == name) return v;
  }
  ADD_FAILURE() << "no reward term " << name;
  return 0.0;
}

double shaping_of(const std::vector<double>& s) {
  return -100 * std::sqrt(s[0] * s[0] + s[1] * s[1]) - 100 * std::sqrt(s[2] * s[2] + s[3] * s[3]) -
         100 * std::abs(s[4]) + 10 * s[6] + 10 * s[7];
}

TEST(LunarLander, SpecMatchesGymnasium) {
  auto env = make_env("LunarLanderContinuous-v3");
  const EnvSpec& s = env->spec();
  EXPECT_EQ(s.obs_dim, 8);
  EXPECT_EQ(s.act_dim, 2);
  EXPECT_EQ(s.max_episode_steps, 1000);
  EXPECT_EQ(s.act_low, std::vector<double>({-1.0, -1.0}));
  EXPECT_EQ(s.act_high, std::vector<double>({1.0, 1.0}));
  EXPECT_EQ(s.obs_high[1], 2.5);
  EXPECT_EQ(s.obs_high[3], 10.0);
  EXPECT_EQ(s.obs_high[4], static_cast<float>(2 * M_PI));
  EXPECT_EQ(s.obs_low[6], 0.0);
  EXPECT_EQ(s.obs_high[7], 1.0);
}

TEST(LunarLander, TerrainIsSeededAndFlatUnderThePad) {
  auto a = make_lander(), b = make_lander();
  a->reset(7);
  b->reset(7);
  EXPECT_EQ(a->terrain_y(), b->terrain_y());
  EXPECT_EQ(a->obs(), b->obs());
  b->reset(8);
  EXPECT_NE(a->terrain_y(), b->terrain_y());
  // Chunks 3..7 are set to H/4 before smoothing, so 4..6 are 0.33 × 3 × H/4 (Gymnasium's 0.33).
  for (int i = 4; i <= 6; ++i) EXPECT_DOUBLE_EQ(a->terrain_y()[i], 0.33 * 3 * kH / 4);
  EXPECT_DOUBLE_EQ(a->helipad_y(), kH / 4);
  for (double y : a->terrain_y()) {
    EXPECT_GE(y, 0.0);
    EXPECT_LE(y, 0.99 * kH / 2);
  }
}

TEST(LunarLander, ObservationIsTheBodyStateScaledAsGymnasium) {
  auto env = make_lander();
  env->reset(1);
  for (int step = 0; step < 5; ++step) env->step({0.3, -0.7});
  const b2Body* l = env->lander();
  const double x = l->GetPosition().x, y = l->GetPosition().y;
  const double vx = l->GetLinearVelocity().x, vy = l->GetLinearVelocity().y;
  const std::vector<double>& o = env->obs();
  EXPECT_EQ(o[0], static_cast<float>((x - kW / 2) / (kW / 2)));
  EXPECT_EQ(o[1], static_cast<float>((y - (kH / 4 + 18.0 / 30)) / (kH / 2)));
  EXPECT_EQ(o[2], static_cast<float>(vx * (kW / 2) / 50));
  EXPECT_EQ(o[3], static_cast<float>(vy * (kH / 2) / 50));
  EXPECT_EQ(o[4], static_cast<float>(l->GetAngle()));
  EXPECT_EQ(o[5], static_cast<float>(20.0 * l->GetAngularVelocity() / 50));
  EXPECT_EQ(o[6], 0.0);  // high in the air
  EXPECT_EQ(o[7], 0.0);
  // Near the top of the screen (it starts at y = H, 10 above the pad), pushed off the centre.
  EXPECT_NE(o[0], 0.0);
  EXPECT_GT(o[1], 1.2);
}

TEST(LunarLander, RewardIsTheShapingChangeMinusFuel) {
  auto env = make_lander();
  env->reset(2);
  std::vector<double> before = env->obs();
  struct Case {
    double a0, a1, m_power, s_power;
  };
  // Main engine off for a0 ≤ 0, else (a0 + 1)/2; side engines off for |a1| ≤ 0.5, else |a1|.
  // (Actions stay in double, as Gymnasium's astype(np.float64).)
  const Case cases[] = {{0.5, 0.8, 0.75, 0.8},
                        {-0.2, 0.4, 0.0, 0.0},
                        {1.7, -0.9, 1.0, 0.9},
                        {0.0, -0.5, 0.0, 0.0},
                        {0.25, 0.0, 0.625, 0.0}};
  for (const Case& c : cases) {
    const StepResult r = env->step({c.a0, c.a1});
    ASSERT_FALSE(r.terminated);
    EXPECT_DOUBLE_EQ(term(*env, "reward_main_engine"), -0.30 * c.m_power);
    EXPECT_DOUBLE_EQ(term(*env, "reward_side_engine"), -0.03 * c.s_power);
    EXPECT_EQ(term(*env, "reward_terminal"), 0.0);
    // The shaping is computed from the observation before float32 rounding: within 1e-3 of the
    // one from the rounded observations.
    EXPECT_NEAR(term(*env, "reward_shaping"), shaping_of(env->obs()) - shaping_of(before), 1e-3);
    double sum = 0.0;
    for (const auto& [name, v] : env->reward_terms()) sum += v;
    EXPECT_DOUBLE_EQ(sum, r.reward);
    before = env->obs();
  }
}

TEST(LunarLander, DispersionIsDrawnEveryStepWhetherOrNotAnEngineFires) {
  // Two draws per step either way, so after the same number of steps the env's RNG is in the same
  // state and the next unseeded reset builds the same terrain.
  auto idle = make_lander(), firing = make_lander();
  idle->reset(4);
  firing->reset(4);
  for (int i = 0; i < 3; ++i) {
    idle->step({0.0, 0.0});
    firing->step({1.0, 1.0});
  }
  EXPECT_NE(idle->obs(), firing->obs());
  idle->reset();
  firing->reset();
  EXPECT_EQ(idle->terrain_y(), firing->terrain_y());
}

TEST(LunarLander, TouchingTheGroundWithTheBodyIsACrash) {
  auto env = make_lander();
  env->reset(0);
  // Upside down just above the pad, falling.
  env->set_lander_state(kW / 2, kH / 4 + 0.6, M_PI, 0.0, -3.0, 0.0);
  StepResult r;
  int steps = 0;
  while (!r.terminated && steps < 100) {
    r = env->step({0.0, 0.0});
    ++steps;
  }
  ASSERT_TRUE(r.terminated);
  EXPECT_TRUE(env->game_over());
  EXPECT_EQ(r.reward, -100.0);
  EXPECT_EQ(term(*env, "reward_terminal"), -100.0);
  EXPECT_EQ(term(*env, "reward_shaping"), 0.0);
}

TEST(LunarLander, LeavingTheScreenSidewaysEndsTheEpisode) {
  auto env = make_lander();
  env->reset(0);
  env->set_lander_state(kW - 0.01, kH * 0.8, 0.0, 5.0, 0.0, 0.0);
  const StepResult r = env->step({0.0, 0.0});
  EXPECT_GE(std::abs(env->obs()[0]), 1.0);
  EXPECT_TRUE(r.terminated);
  EXPECT_EQ(r.reward, -100.0);
  EXPECT_FALSE(env->game_over());
}

TEST(LunarLander, LegsHangAtGymnasiumsLimitsCountedFromTheirInitialTilt) {
  // Gymnasium's legs are created tilted by ∓0.05 and pybox2d counts the joint angle from there,
  // so the motors hold them at 0.4 − 0.05 = 0.35 rad from the body (leg 0, right) and −0.35
  // (leg 1, left); a joint counted from zero would hold them at ±0.4 and the body 4 cm nearer the
  // ground.
  for (uint64_t seed : {0, 5}) {
    auto env = make_lander();
    env->reset(seed);
    // (the reset's limit correction throws them out to ~0.49; the motors, at 0.3 rad/s, bring
    // them back against the limit within ~25 steps, while the lander is still falling)
    for (int t = 0; t < 40; ++t) ASSERT_FALSE(env->step({0.0, 0.0}).terminated);
    const double body = env->lander()->GetAngle();
    EXPECT_NEAR(env->leg(0)->GetAngle() - body, 0.35, 0.005) << "seed " << seed;
    EXPECT_NEAR(env->leg(1)->GetAngle() - body, -0.35, 0.005) << "seed " << seed;
  }
}

// A PD controller of the kind Gymnasium ships as its heuristic: tilt towards the pad, hover lower
// the closer to it, and after touchdown only brake the fall.
std::vector<double> pd_lander(const std::vector<double>& s) {
  const double angle_target = std::clamp(0.5 * s[0] + s[2], -0.4, 0.4);
  const double hover_target = 0.55 * std::abs(s[0]);
  double angle_todo = 0.5 * (angle_target - s[4]) - s[5];
  double hover_todo = 0.5 * (hover_target - s[1]) - 0.5 * s[3];
  if (s[6] > 0 || s[7] > 0) {
    angle_todo = 0.0;
    hover_todo = -0.5 * s[3];
  }
  return {std::clamp(20 * hover_todo - 1, -1.0, 1.0), std::clamp(-20 * angle_todo, -1.0, 1.0)};
}

TEST(LunarLander, ALandingThatComesToRestEndsWithPlus100) {
  // Gymnasium's heuristic scores 200-300 on v3; the same kind of controller must here, on both
  // legs, ending when the lander falls asleep.
  for (uint64_t seed : {0, 1, 2, 3}) {
    auto env = make_lander();
    env->reset(seed);
    StepResult r;
    double total = 0.0;
    bool both_legs = false;
    int steps = 0;
    while (!r.terminated && steps < 1000) {
      r = env->step(pd_lander(env->obs()));
      total += r.reward;
      both_legs = both_legs || (env->obs()[6] == 1.0 && env->obs()[7] == 1.0);
      ++steps;
    }
    ASSERT_TRUE(r.terminated) << "seed " << seed << ": still awake after " << steps << " steps";
    EXPECT_TRUE(both_legs);
    EXPECT_FALSE(env->game_over());
    EXPECT_EQ(r.reward, 100.0);
    EXPECT_EQ(term(*env, "reward_terminal"), 100.0);
    EXPECT_GT(total, 200.0) << "seed " << seed;
  }
}

TEST(LunarLander, OptionsAreGymnasiumsAndChecked) {
  EXPECT_THROW(make_lander({{"gravity", "-13"}}), Error);
  EXPECT_THROW(make_lander({{"gravity", "0"}}), Error);
  EXPECT_THROW(make_env("LunarLanderContinuous-v3", {{"wind", "1"}}), Error);
  // Weaker gravity: the lander falls more slowly over the same steps.
  auto moon = make_lander({{"gravity", "-2"}}), earth = make_lander();
  moon->reset(5);
  earth->reset(5);
  for (int i = 0; i < 20; ++i) {
    moon->step({0.0, 0.0});
    earth->step({0.0, 0.0});
  }
  EXPECT_GT(moon->obs()[3], earth->obs()[3]);
  // Wind pushes the lander sideways: the same seed and actions end elsewhere.
  auto windy = make_lander({{"enable_wind", "true"}, {"wind_power", "20"}});
  auto calm = make_lander();
  windy->reset(5);
  calm->reset(5);
  for (int i = 0; i < 20; ++i) {
    windy->step({0.0, 0.0});
    calm->step({0.0, 0.0});
  }
  EXPECT_NE(windy->obs()[0], calm->obs()[0]);
}

TEST(LunarLander, ResumesMidEpisodeBitForBit) {
  Rng rng(3);
  std::vector<std::vector<double>> actions(120, std::vector<double>(2));
  for (auto& a : actions) a = {rng.uniform(-1, 1), rng.uniform(-1, 1)};
  auto env = make_lander();
  env->reset(11);
  for (int i = 0; i < 60; ++i) env->step(actions[i]);
  ArchiveWriter w("LLTEST__", 1);
  env->save_state(w);
  const std::string saved = w.finish();
  std::vector<std::vector<double>> obs;
  std::vector<double> rewards;
  for (int i = 60; i < 120; ++i) {
    const StepResult r = env->step(actions[i]);
    obs.push_back(env->obs());
    rewards.push_back(r.reward);
    if (r.terminated) break;
  }
  auto resumed = make_lander();
  ArchiveReader r(saved, "LLTEST__", 1, "test");
  resumed->load_state(r);
  EXPECT_EQ(resumed->episode_actions(), 60);
  for (size_t i = 0; i < obs.size(); ++i) {
    const StepResult s = resumed->step(actions[60 + i]);
    ASSERT_EQ(resumed->obs(), obs[i]) << "step " << 60 + i;
    ASSERT_EQ(s.reward, rewards[i]) << "step " << 60 + i;
  }
  // A checkpoint replayed under other physics does not reproduce its state: refused.
  auto other = make_lander({{"gravity", "-5"}});
  ArchiveReader r2(saved, "LLTEST__", 1, "test");
  EXPECT_THROW(other->load_state(r2), Error);
}

}  // namespace
}  // namespace ddpg
