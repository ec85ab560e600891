// Tests of the pybullet_envs suite on Bullet: the MJCF conversion against pybullet_robot_facts
// (masses, ranges, link tree), observation layouts and sizes, reward decomposition, termination,
// seeded resets and exact save/load continuation.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ddpg/embedded.h"
#include "ddpg/env.h"
#include "envs/bullet/bullet_env.h"
#include "envs/bullet/mjcf_to_bullet.h"

namespace ddpg {
namespace {

std::unique_ptr<Env> make(const std::string& id) {
  std::vector<EnvInfo> registry;
  register_bullet_envs(registry);
  for (const auto& info : registry) {
    if (info.id != id) continue;
    EXPECT_EQ(info.family, "bullet");
    EnvOptions options;
    auto env = info.factory(options);
    options.check_all_used(id);
    return env;
  }
  ADD_FAILURE() << "unregistered " << id;
  return nullptr;
}

std::vector<mjcf::Model> load(const std::string& name) {
  const std::string* xml = embedded_file("envs/bullet/assets/" + name);
  EXPECT_NE(xml, nullptr) << name;
  return mjcf::parse_mjcf(*xml, name);
}

// Joints that pybullet_envs drives or reads (every non-fixed joint), in multibody order.
std::vector<std::string> moving_joints(const mjcf::Model& m) {
  std::vector<std::string> names;
  for (const auto& l : m.links) {
    if (l.parent >= 0 && l.joint != mjcf::JointType::kFixed) names.push_back(l.joint_name);
  }
  return names;
}

// Figures from /work/shared/reference/pybullet_robot_facts (pybullet_importer_totals).
struct Facts {
  const char* asset;
  int model;  // which top-level body
  double mass;
  int links;  // multibody links, base excluded
  bool floating;
  std::vector<std::string> joints;
};

TEST(BulletMjcf, ModelsMatchPybulletImporterFacts) {
  const std::vector<Facts> facts = {
      {"hopper.xml",
       0,
       15.820013405927003,
       10,
       false,
       {"ignore1", "ignore2", "ignore3", "thigh_joint", "leg_joint", "foot_joint"}},
      {"walker2d.xml",
       0,
       23.677136632555076,
       16,
       false,
       {"ignorex", "ignorez", "ignorey", "thigh_joint", "leg_joint", "foot_joint",
        "thigh_left_joint", "leg_left_joint", "foot_left_joint"}},
      {"half_cheetah.xml",
       0,
       38.18786111046906,
       16,
       false,
       {"ignorex", "ignorez", "ignorey", "bthigh", "bshin", "bfoot", "fthigh", "fshin", "ffoot"}},
      {"ant.xml",
       0,
       182.17601654147828,
       20,
       true,
       {"hip_1", "ankle_1", "hip_2", "ankle_2", "hip_3", "ankle_3", "hip_4", "ankle_4"}},
      {"humanoid_symmetric.xml",
       0,
       42.11603049212988,
       29,
       true,
       {"abdomen_z", "abdomen_y", "abdomen_x", "right_hip_x", "right_hip_z", "right_hip_y",
        "right_knee", "left_hip_x", "left_hip_z", "left_hip_y", "left_knee", "right_shoulder1",
        "right_shoulder2", "right_elbow", "left_shoulder1", "left_shoulder2", "left_elbow"}},
      {"inverted_pendulum.xml", 1, 15.490567153329284, 4, false, {"slider", "hinge"}},
      {"inverted_double_pendulum.xml",
       2,
       18.869452675011495,
       6,
       false,
       {"slider", "hinge", "hinge2"}},
      {"reacher.xml", 6, 0.07539822368615505, 5, false, {"joint0", "joint1"}},
      {"reacher.xml", 7, 0.003053628059289278, 3, false, {"target_x", "target_y"}},
  };
  for (const Facts& f : facts) {
    SCOPED_TRACE(f.asset);
    const auto models = load(f.asset);
    ASSERT_GT(static_cast<int>(models.size()), f.model);
    const mjcf::Model& m = models[f.model];
    EXPECT_NEAR(m.total_mass(), f.mass, 1e-9);
    EXPECT_EQ(static_cast<int>(m.links.size()) - 1, f.links);
    EXPECT_EQ(!m.fixed_base(), f.floating);
    EXPECT_EQ(moving_joints(m), f.joints);
    for (size_t i = 1; i < m.links.size(); ++i) {
      EXPECT_LT(m.links[i].parent, static_cast<int>(i)) << "parents come first";
    }
  }
}

// Found by fuzz_mjcf: an empty friction was a std::out_of_range crash. Every number must be finite
// and every size, mass and direction usable by Bullet; each fault is an Error naming the element.
TEST(BulletMjcf, MalformedNumbersAreNamed) {
  auto error_of = [](const std::string& body) {
    const std::string xml = "<mujoco><worldbody>" + body + "</worldbody></mujoco>";
    try {
      mjcf::parse_mjcf(xml, "t.xml");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_EQ(error_of(R"(<geom name="g" size="0.1" friction=""/>)"),
            "t.xml geom 'g': friction needs a number >= 0");
  EXPECT_EQ(error_of(R"(<geom name="g" size="nan"/>)"),
            "t.xml geom 'g' size: 'nan' is not a finite number");
  EXPECT_EQ(error_of(R"(<geom name="g" size="1e999"/>)"),
            "t.xml geom 'g' size: '1e999' is not a finite number");
  EXPECT_EQ(error_of(R"(<geom name="g" size="0.1 x"/>)"),
            "t.xml geom 'g' size: 'x' is not a finite number");
  EXPECT_EQ(error_of(R"(<geom name="g" type="box" size="1 0 1"/>)"),
            "t.xml geom 'g': box sizes must be > 0");
  EXPECT_EQ(error_of(R"(<geom name="g" size="-1"/>)"),
            "t.xml geom 'g': sizes must be > 0 (radius) and >= 0 (half length)");
  EXPECT_EQ(error_of(R"(<geom name="g" size="1" quat="0 0 0 0"/>)"),
            "t.xml geom 'g': quat has zero length");
  EXPECT_EQ(error_of(R"(<body name="b"><joint name="j" axis="0 0 0"/><geom size="1"/></body>)"),
            "t.xml joint 'j' axis: the direction has zero length");
  EXPECT_EQ(
      error_of(
          R"(<body name="b"><joint name="j" limited="true" range="1 -1"/><geom size="1"/></body>)"),
      "t.xml joint 'j': a limited joint needs range=\"lower upper\" with lower <= upper");
  EXPECT_EQ(error_of(R"(<body name="b"><inertial mass="-2"/><geom size="1"/></body>)"),
            "t.xml body 'b': mass must be a number >= 0");
  EXPECT_EQ(error_of(R"(<body name="b"><geom size="1"/></body>)"), "");
}

TEST(BulletMjcf, MassesRangesAndFrames) {
  const mjcf::Model cheetah = load("half_cheetah.xml")[0];
  EXPECT_NEAR(cheetah.links[cheetah.find_link("torso")].mass, 9.45733323824098, 1e-9);
  EXPECT_EQ(cheetah.links[cheetah.find_link("bfoot")].mass, 10.0);  // <inertial mass="10"/>
  const mjcf::Link& ffoot = cheetah.links[cheetah.find_joint("ffoot")];
  EXPECT_EQ(ffoot.joint, mjcf::JointType::kRevolute);
  EXPECT_DOUBLE_EQ(ffoot.lower, -3.1);  // angle="radian": as written
  EXPECT_DOUBLE_EQ(ffoot.upper, -0.3);
  const mjcf::Link& ignorey = cheetah.links[cheetah.find_joint("ignorey")];
  EXPECT_EQ(ignorey.joint, mjcf::JointType::kContinuous);
  EXPECT_EQ(ignorey.lower, 1.0);  // pybullet reports 1/0 for unlimited joints
  EXPECT_EQ(ignorey.upper, 0.0);
  EXPECT_EQ(ignorey.mass, 0.0);
  // the torso hangs from the last planar joint link by a fixed joint
  const mjcf::Link& torso = cheetah.links[cheetah.find_link("torso")];
  EXPECT_EQ(torso.joint, mjcf::JointType::kFixed);
  EXPECT_EQ(torso.parent, cheetah.find_joint("ignorey"));
  EXPECT_NEAR(ignorey.parent_to_link.getOrigin().z(), 0.0, 1e-12);
  EXPECT_NEAR(cheetah.links[cheetah.find_joint("ignorex")].parent_to_link.getOrigin().z(), 0.7,
              1e-12);

  const mjcf::Model hopper = load("hopper.xml")[0];
  const mjcf::Link& thigh = hopper.links[hopper.find_joint("thigh_joint")];
  EXPECT_NEAR(thigh.lower, -150.0 * M_PI / 180.0, 1e-12);  // degrees converted
  EXPECT_EQ(thigh.upper, 0.0);
  const mjcf::Link& htorso = hopper.links[hopper.find_link("torso")];
  EXPECT_NEAR(htorso.com.z(), 1.25, 1e-12);  // fromto midpoint
  EXPECT_NEAR(hopper.links[hopper.find_link("foot")].mass, 5.31557476987393, 1e-9);

  const mjcf::Model ant = load("ant.xml")[0];
  EXPECT_NEAR(ant.links[0].mass, 65.44984694978736, 1e-9);  // density="5" ignored
  const mjcf::Link& ankle = ant.links[ant.find_joint("ankle_1")];
  EXPECT_NEAR(ankle.lower, 30.0 * M_PI / 180.0, 1e-12);
  EXPECT_NEAR(ankle.upper, 100.0 * M_PI / 180.0, 1e-12);
  EXPECT_NEAR(ankle.axis.length(), 1.0, 1e-12);
  EXPECT_EQ(ant.links[ant.find_link("torso")].geoms.back().mask, 0);  // conaffinity 0

  const mjcf::Model humanoid = load("humanoid_symmetric.xml")[0];
  const btVector3 c = humanoid.links[0].com;  // the last geom (uwaist)'s fromto midpoint
  EXPECT_NEAR(c.x(), -0.01, 1e-12);
  EXPECT_NEAR(c.z(), -0.12, 1e-12);

  const auto pendulum = load("inverted_pendulum.xml");
  ASSERT_EQ(pendulum.size(), 2u);  // the rail is its own static body
  EXPECT_EQ(pendulum[0].name, "rail");
  EXPECT_EQ(pendulum[0].total_mass(), 0.0);
  const mjcf::Link& hinge = pendulum[1].links[pendulum[1].find_joint("hinge")];
  EXPECT_EQ(hinge.joint, mjcf::JointType::kContinuous);
}

TEST(BulletEnvs, ObservationSizes) {
  const std::vector<std::pair<std::string, int>> sizes = {
      {"InvertedPendulumBulletEnv-v0", 5},
      {"InvertedDoublePendulumBulletEnv-v0", 9},
      {"InvertedPendulumSwingupBulletEnv-v0", 5},
      {"ReacherBulletEnv-v0", 9},
      {"HopperBulletEnv-v0", 15},
      {"Walker2DBulletEnv-v0", 22},
      {"HalfCheetahBulletEnv-v0", 26},
      {"AntBulletEnv-v0", 28},
      {"HumanoidBulletEnv-v0", 44}};
  std::vector<EnvInfo> registry;
  register_bullet_envs(registry);
  ASSERT_EQ(registry.size(), sizes.size());
  for (size_t i = 0; i < sizes.size(); ++i) {
    EXPECT_EQ(registry[i].id, sizes[i].first);
    auto env = make(sizes[i].first);
    EXPECT_EQ(env->spec().obs_dim, sizes[i].second) << sizes[i].first;
    EXPECT_EQ(static_cast<int>(env->reset(1).size()), sizes[i].second);
    EXPECT_EQ(env->spec().max_episode_steps, sizes[i].first == "ReacherBulletEnv-v0" ? 150 : 1000);
    const auto r = env->step(std::vector<double>(env->spec().act_dim, 0.1));
    EXPECT_TRUE(std::isfinite(r.reward));
  }
}

// Scripted, deterministic actions that swing every joint.
std::vector<double> scripted(int t, int n) {
  std::vector<double> a(n);
  for (int i = 0; i < n; ++i) a[i] = 1.2 * std::sin(0.3 * t + 1.7 * i);  // includes |a| > 1
  return a;
}

TEST(BulletEnvs, HalfCheetahObservationLayoutAndRewardTerms) {
  auto env = make("HalfCheetahBulletEnv-v0");
  const auto& obs0 = env->reset(3);
  EXPECT_EQ(obs0[0], 0.0);  // z - initial_z at the first calc_state
  bool saw_contact = false;
  int checked = 0;
  for (int t = 0; t < 200; ++t) {
    const auto a = scripted(t, 6);
    const StepResult r = env->step(a);
    const auto& o = env->obs();
    if (t == 0) {
      // flags are refreshed after calc_state: the first observation still has reset's zeros
      for (int f = 0; f < 6; ++f) EXPECT_EQ(o[20 + f], 0.0);
    }
    EXPECT_NEAR(o[1] * o[1] + o[2] * o[2], 1.0, 1e-6);  // sin, cos of the angle to target
    for (double x : o) EXPECT_LE(std::abs(x), 5.0);
    const RewardTerms& terms = env->reward_terms();
    ASSERT_EQ(terms.size(), 5u);
    EXPECT_EQ(terms[0].first, "alive");
    double sum = 0.0;
    for (const auto& term : terms) sum += term.second;
    EXPECT_NEAR(sum, r.reward, 1e-12);
    // electricity and joints-at-limit costs from the observation's joint entries
    double speed = 0.0, square = 0.0;
    int at_limit = 0;
    for (int i = 0; i < 6; ++i) {
      speed += std::abs(a[i] * o[9 + 2 * i]);
      square += a[i] * a[i];
      if (std::abs(o[8 + 2 * i]) > 0.99) ++at_limit;
    }
    // the reward reads unclipped speeds: compare where the observation did not clip them
    bool clipped = false;
    for (int i = 0; i < 6; ++i) clipped |= std::abs(o[9 + 2 * i]) >= 5.0;
    if (!clipped) {
      EXPECT_NEAR(terms[2].second, -2.0 * speed / 6 - 0.1 * square / 6, 1e-12);
      ++checked;
    }
    EXPECT_NEAR(terms[3].second, -0.1 * at_limit, 1e-12);
    // alive reads this observation's (one step old) shin/thigh flags and pitch
    const bool ok = std::abs(o[7]) < 1.0 && o[21] == 0 && o[22] == 0 && o[24] == 0 && o[25] == 0;
    EXPECT_EQ(terms[0].second, ok ? 1.0 : -1.0);
    EXPECT_FALSE(r.terminated);  // HalfCheetah never terminates
    for (int f = 0; f < 6; ++f) saw_contact |= o[20 + f] == 1.0;
  }
  EXPECT_TRUE(saw_contact) << "the cheetah should touch the floor";
  EXPECT_GT(checked, 50);
}

TEST(BulletEnvs, HalfCheetahNeverTerminatesAndIsTruncatedAt1000) {
  auto env = make("HalfCheetahBulletEnv-v0");
  env->reset(5);
  StepResult r;
  int negative_alive = 0;
  for (int t = 0; t < 1000; ++t) {
    r = env->step(scripted(t, 6));
    ASSERT_FALSE(r.terminated) << t;
    negative_alive += env->reward_terms()[0].second < 0;
  }
  EXPECT_TRUE(r.truncated);
  EXPECT_GT(negative_alive, 0) << "the alive test should fail at times without terminating";
}

TEST(BulletEnvs, HopperTerminatesWhenItFalls) {
  auto env = make("HopperBulletEnv-v0");
  env->reset(11);
  bool terminated = false;
  for (int t = 0; t < 1000 && !terminated; ++t) {
    const StepResult r = env->step({1.0, -1.0, 1.0});
    const double alive = env->reward_terms()[0].second;
    EXPECT_EQ(r.terminated, alive < 0);  // done = alive < 0 (z <= 0.8 or |pitch| >= 1)
    terminated = r.terminated;
    if (terminated) {
      const double pitch = env->obs()[7];
      const double dz = env->obs()[0];  // z - initial_z; initial_z ≈ 1.25
      EXPECT_TRUE(dz + 1.25 < 0.82 || std::abs(pitch) >= 0.999) << dz << " " << pitch;
    }
  }
  EXPECT_TRUE(terminated);
}

TEST(BulletEnvs, PendulaRewardsAndTermination) {
  auto balance = make("InvertedPendulumBulletEnv-v0");
  balance->reset(2);
  EXPECT_LT(std::abs(std::atan2(balance->obs()[3], balance->obs()[2])), 0.1 + 1e-12);
  bool done = false;
  for (int t = 0; t < 300 && !done; ++t) {
    const StepResult r = balance->step({1.0});
    EXPECT_EQ(r.reward, 1.0);
    done = r.terminated;
    if (done) {
      EXPECT_GT(std::abs(std::atan2(balance->obs()[3], balance->obs()[2])), 0.2);
    }
  }
  EXPECT_TRUE(done);

  auto swingup = make("InvertedPendulumSwingupBulletEnv-v0");
  swingup->reset(2);
  EXPECT_LT(swingup->obs()[2], -0.99);  // hanging: cos(3.1415 + u)
  for (int t = 0; t < 100; ++t) {
    const StepResult r = swingup->step({0.5});
    EXPECT_FALSE(r.terminated);
    EXPECT_NEAR(r.reward, swingup->reward_terms()[0].second, 0.0);
  }

  auto dbl = make("InvertedDoublePendulumBulletEnv-v0");
  dbl->reset(2);
  done = false;
  for (int t = 0; t < 500 && !done; ++t) {
    const StepResult r = dbl->step({1.0});
    const auto& terms = dbl->reward_terms();
    EXPECT_NEAR(r.reward, terms[0].second + terms[1].second + terms[2].second, 1e-12);
    EXPECT_LE(r.reward, 10.0);
    done = r.terminated;
  }
  EXPECT_TRUE(done);
}

TEST(BulletEnvs, ReacherQuirksAndTerms) {
  auto env = make("ReacherBulletEnv-v0");
  env->reset(4);
  const auto& o = env->obs();
  EXPECT_LE(std::abs(o[0]), 0.27);
  EXPECT_LE(std::abs(o[1]), 0.27);
  EXPECT_LE(std::abs(o[7]), 3.14 / 3.0 + 1e-12);  // gamma = q / 3 for the ±3 rad elbow
  for (int t = 0; t < 150; ++t) {
    const auto a = scripted(t, 2);
    const StepResult r = env->step(a);
    const auto& terms = env->reward_terms();
    EXPECT_NEAR(r.reward, terms[0].second + terms[1].second + terms[2].second, 1e-12);
    const double expect =
        -0.10 * (std::abs(a[0] * env->obs()[6]) + std::abs(a[1] * env->obs()[8])) -
        0.01 * (std::abs(a[0]) + std::abs(a[1]));
    EXPECT_NEAR(terms[1].second, expect, 1e-12);
    EXPECT_FALSE(r.terminated);
    EXPECT_EQ(r.truncated, t == 149);
  }
}

std::vector<double> run(Env& env, int steps, int t0, std::vector<double>* rewards = nullptr) {
  std::vector<double> trace;
  for (int t = t0; t < t0 + steps; ++t) {
    const StepResult r = env.step(scripted(t, env.spec().act_dim));
    trace.insert(trace.end(), env.obs().begin(), env.obs().end());
    trace.push_back(r.reward);
    if (rewards) rewards->push_back(r.reward);
    if (r.terminated || r.truncated) break;
  }
  return trace;
}

class BulletEveryEnv : public ::testing::TestWithParam<std::string> {};

// rl-baselines3-zoo's Bullet entries wrap the env in sb3-contrib's TimeFeatureWrapper.
TEST(BulletEnvs, TimeFeatureWrapsHalfCheetahAndSavesThroughIt) {
  auto a = make_env("HalfCheetahBulletEnv-v0", {{"time_feature", "true"}});
  ASSERT_EQ(a->spec().obs_dim, 27);
  a->reset(4);
  run(*a, 30, 0);
  EXPECT_DOUBLE_EQ(a->obs().back(), 1.0 - 30.0 / 1000.0);
  ArchiveWriter w("BTEST", 1);
  a->save_state(w);
  const std::string data = w.finish();
  const auto expected = run(*a, 20, 30);
  auto b = make_env("HalfCheetahBulletEnv-v0", {{"time_feature", "true"}});
  b->reset(1);
  ArchiveReader r(data, "BTEST", 1, "test archive");
  b->load_state(r);
  EXPECT_EQ(run(*b, 20, 30), expected);
  EXPECT_DOUBLE_EQ(b->obs().back(), 1.0 - 50.0 / 1000.0);
}

TEST_P(BulletEveryEnv, SeededResetsRepeatTheEpisode) {
  auto a = make(GetParam());
  auto b = make(GetParam());
  a->reset(21);
  b->reset(21);
  EXPECT_EQ(run(*a, 60, 0), run(*b, 60, 0));  // two fresh envs
  // later episodes of one env (the first differs by pybullet's floor-part quirk)
  a->reset(21);
  const auto first = run(*a, 60, 0);
  a->reset(21);
  EXPECT_EQ(run(*a, 60, 0), first);
}

TEST_P(BulletEveryEnv, SaveLoadContinuesExactly) {
  auto a = make(GetParam());
  a->reset(8);
  run(*a, 40, 0);
  ArchiveWriter w("BTEST", 1);
  a->save_state(w);
  const std::string data = w.finish();
  const auto expected = run(*a, 40, 40);

  auto b = make(GetParam());
  b->reset(99);  // a different state and contact history before loading
  run(*b, 7, 0);
  ArchiveReader r(data, "BTEST", 1, "test archive");
  b->load_state(r);
  EXPECT_EQ(run(*b, 40, 40), expected);
}

INSTANTIATE_TEST_SUITE_P(All, BulletEveryEnv,
                         ::testing::Values("InvertedPendulumBulletEnv-v0",
                                           "InvertedDoublePendulumBulletEnv-v0",
                                           "InvertedPendulumSwingupBulletEnv-v0",
                                           "ReacherBulletEnv-v0", "HopperBulletEnv-v0",
                                           "Walker2DBulletEnv-v0", "HalfCheetahBulletEnv-v0",
                                           "AntBulletEnv-v0", "HumanoidBulletEnv-v0"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param.substr(0, info.param.find("BulletEnv"));
                         });

}  // namespace
}  // namespace ddpg
