// Config: defaults validate, deltas and --set apply, every problem is reported at once, presets
// carry their documented values, and the resolved YAML reads back to the same config.
#include "ddpg/config.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "ddpg/io.h"
#include "tests/test_util.h"

namespace ddpg {
namespace {

TEST(Config, DefaultsValidate) {
  ConfigErrors errors;
  validate(Config{}, errors);
  EXPECT_TRUE(errors.empty());
}

TEST(Config, YamlDeltaAndSetApplyInOrder) {
  Config c;
  ConfigErrors errors;
  apply_yaml(c, "agent:\n  gamma: 0.9\n  hidden: [64, 32]\nnoise: {type: ou, sigma: 0.3}\n", "test",
             errors);
  apply_set(c, "agent.gamma=0.95", errors);
  apply_set(c, "trainer.learning_starts=1e3", errors);
  apply_set(c, "env.g=9.81", errors);
  ASSERT_TRUE(errors.empty());
  EXPECT_DOUBLE_EQ(c.agent.gamma, 0.95);
  EXPECT_EQ(c.agent.hidden, (std::vector<int>{64, 32}));
  EXPECT_EQ(c.noise.type, "ou");
  EXPECT_DOUBLE_EQ(c.noise.sigma, 0.3);
  EXPECT_EQ(c.trainer.learning_starts, 1000);
  EXPECT_EQ(c.env.options.at("g"), "9.81");
}

TEST(Config, ReportsEveryProblemAtOnce) {
  ConfigSources src;
  src.sets = {"agent.gamma=1.5",        "agent.gama=0.9",    "noise.type=pink",
              "trainer.eval_every=abc", "agent.hidden=0,64", "env.bogus=1"};
  const std::string msg = error_of([&] { resolve_config(src); });
  EXPECT_NE(msg.find("agent.gamma = 1.5 is out of range (allowed [0, 1])"), std::string::npos)
      << msg;
  EXPECT_NE(msg.find("unknown config key 'agent.gama'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("noise.type = 'pink' is not allowed"), std::string::npos) << msg;
  EXPECT_NE(msg.find("trainer.eval_every: 'abc' is not an integer"), std::string::npos) << msg;
  EXPECT_NE(msg.find("agent.hidden has layer size 0"), std::string::npos) << msg;
  EXPECT_NE(msg.find("unknown option(s) for Pendulum-v1: bogus"), std::string::npos) << msg;
  EXPECT_NE(msg.find("6 problems"), std::string::npos) << msg;
}

// The update schedule's settings: a unit other than step/episode, and gradient_steps 0 (which
// would never update) or below -1, are refused with what to use instead.
TEST(Config, UpdateScheduleSettingsAreChecked) {
  ConfigSources src;
  src.sets = {"trainer.update_unit=epoch", "trainer.gradient_steps=0", "trainer.update_after=-2"};
  const std::string msg = error_of([&] { resolve_config(src); });
  EXPECT_NE(msg.find("trainer.update_unit = 'epoch' is not allowed (choose one of: step, episode)"),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find("trainer.gradient_steps = 0 would never update the agent"), std::string::npos)
      << msg;
  EXPECT_NE(msg.find("trainer.update_after = -2 is out of range"), std::string::npos) << msg;
  src.sets = {"trainer.update_unit=episode", "trainer.gradient_steps=-1", "trainer.update_after=0"};
  const Config c = resolve_config(src);
  EXPECT_EQ(c.trainer.update_unit, "episode");
  EXPECT_EQ(c.trainer.gradient_steps, -1);
  EXPECT_EQ(c.trainer.update_after, 0);
  src.sets = {"trainer.gradient_steps=-3"};
  EXPECT_NE(
      error_of([&] { resolve_config(src); }).find("trainer.gradient_steps = -3 is out of range"),
      std::string::npos);
}

// NaN and infinity are refused at validation, for settings and env options alike (not found at
// step 1 as a diverged simulation).
TEST(Config, NonFiniteNumbersAreRefusedAtValidation) {
  ConfigSources src;
  src.env_id = "Hopper-v4";
  src.sets = {"agent.tau=nan", "env.ctrl_cost_weight=inf", "env.healthy_reward=-nan"};
  const std::string msg = error_of([&] { resolve_config(src); });
  EXPECT_NE(msg.find("agent.tau: 'nan' is not a number"), std::string::npos) << msg;
  EXPECT_NE(msg.find("env option 'ctrl_cost_weight' must be a finite number, got 'inf'"),
            std::string::npos)
      << msg;
}

TEST(Config, DuplicateKeysAndExtraDocumentsAreRefused) {
  Config c;
  ConfigErrors errors;
  apply_yaml(c, "agent:\n  tau: 0.1\n  tau: 0.2\n", "dup.yaml", errors);
  apply_yaml(c, "agent: {tau: 0.1}\n---\nagent: {tau: 0.2}\n", "two.yaml", errors);
  const std::string msg = error_of([&] { errors.throw_if_any("config"); });
  EXPECT_NE(msg.find("dup.yaml: key 'tau' appears twice (line 3)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("two.yaml: holds 2 YAML documents"), std::string::npos) << msg;
  // found by fuzz_config_yaml: a complex key ('? [a]: ...') was an uncaught bad conversion
  ConfigErrors complex;
  apply_yaml(c, "agent:\n  ? [hidden]\n  : 3\n? [trainer]\n: {seed: 1}\n", "complex.yaml", complex);
  const std::string cmsg = error_of([&] { complex.throw_if_any("config"); });
  EXPECT_NE(cmsg.find("complex.yaml: line 2 has a key that is not a plain name"), std::string::npos)
      << cmsg;
  EXPECT_NE(cmsg.find("complex.yaml: line 4 has a key that is not a plain name"), std::string::npos)
      << cmsg;
}

TEST(Config, MalformedYamlNamesTheLine) {
  Config c;
  ConfigErrors errors;
  apply_yaml(c, "agent:\n  gamma: [0.9\n", "bad.yaml", errors);
  // found by fuzz_config_yaml: yaml-cpp's LoadAll never returns on a lone ','
  apply_yaml(c, "# a config\n,\n", "comma.yaml", errors);
  const std::string msg = error_of([&] { errors.throw_if_any("x"); });
  EXPECT_NE(msg.find("bad.yaml: malformed YAML at line"), std::string::npos) << msg;
  EXPECT_NE(msg.find("comma.yaml: malformed YAML at line"), std::string::npos) << msg;
}

TEST(Config, UnknownSectionAndBadSetSyntax) {
  Config c;
  ConfigErrors errors;
  apply_yaml(c, "agnet:\n  gamma: 0.9\n", "f.yaml", errors);
  apply_set(c, "gamma0.9", errors);
  const std::string msg = error_of([&] { errors.throw_if_any("x"); });
  EXPECT_NE(msg.find("unknown config section 'agnet'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("must look like section.key=value"), std::string::npos) << msg;
}

TEST(Config, UnknownEnvIsAnError) {
  ConfigSources src;
  src.env_id = "Pendulum-v0";
  const std::string msg = error_of([&] { resolve_config(src); });
  EXPECT_NE(msg.find("unknown env id 'Pendulum-v0'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("Pendulum-v1"), std::string::npos) << msg;
}

// The config that `--preset zoo --env ID` resolves to.
Config zoo_config(const std::string& env_id) {
  ConfigSources src;
  src.preset = "zoo";
  src.env_id = env_id;
  return resolve_config(src);
}

// rl-zoo's Pendulum and lander entries are the same settings but for n_timesteps, and so were their
// published agents: updates at each episode's end, one per step of the episode, on SB3's defaults
// of the time for what the entries leave unset (batch 100; 256 only from SB3 2.3.0; one critic).
TEST(Config, ZooPresetForPendulumAndLunarLanderIsThePublishedAgentsConfig) {
  for (const auto& [id, steps] : {std::pair<std::string, int64_t>{"Pendulum-v1", 20000},
                                  {"LunarLanderContinuous-v3", 300000}}) {
    const Config c = zoo_config(id);
    EXPECT_EQ(c.agent.hidden, (std::vector<int>{400, 300})) << id;
    EXPECT_EQ(c.agent.batch_size, 100) << id;
    EXPECT_DOUBLE_EQ(c.agent.gamma, 0.98) << id;
    EXPECT_EQ(c.agent.buffer_size, 200000) << id;
    EXPECT_EQ(c.agent.n_critics, 1) << id;
    EXPECT_DOUBLE_EQ(c.agent.actor_lr, 1e-3) << id;
    EXPECT_EQ(c.trainer.total_steps, steps) << id;
    EXPECT_EQ(c.trainer.learning_starts, 10000) << id;
    EXPECT_EQ(c.trainer.update_unit, "episode") << id;
    EXPECT_EQ(c.trainer.update_every, 1) << id;
    EXPECT_EQ(c.trainer.gradient_steps, -1) << id;
    EXPECT_EQ(c.noise.type, "gaussian") << id;
    EXPECT_DOUBLE_EQ(c.noise.sigma, 0.1) << id;
  }
}

TEST(Config, ZooPresetForMountainCarIsTheEntryOnOldSb3Defaults) {
  const Config c = zoo_config("MountainCarContinuous-v0");
  EXPECT_EQ(c.noise.type, "ou");
  EXPECT_DOUBLE_EQ(c.noise.sigma, 0.5);
  EXPECT_EQ(c.agent.batch_size, 100);
  EXPECT_EQ(c.agent.buffer_size, 1000000);
  EXPECT_DOUBLE_EQ(c.agent.gamma, 0.99);
  EXPECT_EQ(c.trainer.learning_starts, 100);
  EXPECT_EQ(c.trainer.update_unit, "episode");
  EXPECT_EQ(c.trainer.gradient_steps, -1);
  EXPECT_EQ(c.trainer.total_steps, 300000);
}

// rl-zoo's published PyBullet agents (rl-trained-agents' config.yml per id): the time feature on
// every id; lr 1e-3 for HalfCheetah, 7e-4 for Ant, Walker2D and Hopper; batch 256 and buffer 1e6
// for Walker2D and Hopper; 64 updates every 64 steps for Hopper, otherwise training at each
// episode's end; Reacher one update per step.
TEST(Config, ZooPresetForBulletIsThePublishedAgentsConfig) {
  struct Expect {
    const char* id;
    double lr;
    int batch, buffer;
    const char* unit;
    int update_every, gradient_steps;
  };
  for (const Expect& e : {Expect{"HalfCheetahBulletEnv-v0", 1e-3, 100, 200000, "episode", 1, -1},
                          Expect{"AntBulletEnv-v0", 7e-4, 100, 200000, "episode", 1, -1},
                          Expect{"Walker2DBulletEnv-v0", 7e-4, 256, 1000000, "episode", 1, -1},
                          Expect{"HopperBulletEnv-v0", 7e-4, 256, 1000000, "step", 64, 64},
                          Expect{"ReacherBulletEnv-v0", 1e-3, 100, 200000, "step", 1, 1}}) {
    const Config c = zoo_config(e.id);
    EXPECT_DOUBLE_EQ(c.agent.actor_lr, e.lr) << e.id;
    EXPECT_DOUBLE_EQ(c.agent.critic_lr, e.lr) << e.id;
    EXPECT_EQ(c.agent.batch_size, e.batch) << e.id;
    EXPECT_EQ(c.agent.buffer_size, e.buffer) << e.id;
    EXPECT_EQ(c.trainer.update_unit, e.unit) << e.id;
    EXPECT_EQ(c.trainer.update_every, e.update_every) << e.id;
    EXPECT_EQ(c.trainer.gradient_steps, e.gradient_steps) << e.id;
    EXPECT_DOUBLE_EQ(c.agent.gamma, 0.98) << e.id;
    EXPECT_EQ(c.env.options.at("time_feature"), "true") << e.id;
  }
  EXPECT_EQ(zoo_config("ReacherBulletEnv-v0").trainer.total_steps, 300000);
}

TEST(Config, PaperPresetAndLaterLayersWin) {
  ConfigSources src;
  src.preset = "paper";
  src.sets = {"agent.tau=0.01"};
  src.seed = 7;
  src.total_steps = 1234;
  const Config c = resolve_config(src);
  EXPECT_DOUBLE_EQ(c.agent.actor_lr, 1e-4);
  EXPECT_DOUBLE_EQ(c.agent.critic_weight_decay, 1e-2);
  EXPECT_EQ(c.agent.critic_action_layer, 1);
  EXPECT_DOUBLE_EQ(c.agent.final_init, 3e-3);
  EXPECT_EQ(c.noise.type, "ou");
  EXPECT_DOUBLE_EQ(c.agent.tau, 0.01);
  EXPECT_EQ(c.trainer.seed, 7u);
  EXPECT_EQ(c.trainer.total_steps, 1234);
}

// The TD3 paper's code works in the env's units: its critic takes max_action·tanh and its noises
// are added in the env's units. Only InvertedPendulum (±3) differs from [-1, 1] among its tasks,
// so there the presets scale the critic's action by 3 and every noise by 1/3; elsewhere not.
TEST(Config, PaperCodePresetsUseTheEnvsUnitsOnInvertedPendulum) {
  for (const std::string preset : {"ourddpg", "td3"}) {
    for (const std::string env : {"InvertedPendulum-v4", "InvertedPendulum-v5"}) {
      ConfigSources src;
      src.preset = preset;
      src.env_id = env;
      const Config c = resolve_config(src);
      EXPECT_DOUBLE_EQ(c.agent.critic_action_scale, 3.0) << preset << " " << env;
      EXPECT_NEAR(c.noise.sigma, 0.1 / 3, 1e-9) << preset << " " << env;
      if (preset == "td3") {
        EXPECT_NEAR(c.agent.target_noise, 0.2 / 3, 1e-9) << env;
        EXPECT_NEAR(c.agent.target_noise_clip, 0.5 / 3, 1e-9) << env;
      }
    }
    ConfigSources src;
    src.preset = preset;
    src.env_id = "InvertedDoublePendulum-v4";  // max_action 1: as everywhere else
    const Config c = resolve_config(src);
    EXPECT_DOUBLE_EQ(c.agent.critic_action_scale, 1.0) << preset;
    EXPECT_DOUBLE_EQ(c.noise.sigma, 0.1) << preset;
  }
}

TEST(Config, PerEnvBlockAppliesOnlyToItsEnv) {
  Config c;
  ConfigErrors errors;
  const std::string text =
      "trainer: {learning_starts: 1000}\nper_env:\n  Pendulum-v1: {trainer: {learning_starts: "
      "5}}\n  Other-v0: {trainer: {learning_starts: 9}}\n";
  apply_yaml(c, text, "t", errors);
  ASSERT_TRUE(errors.empty());
  EXPECT_EQ(c.trainer.learning_starts, 5);
  Config d;
  d.env.id = "MountainCarContinuous-v0";
  apply_yaml(d, text, "t", errors);
  EXPECT_EQ(d.trainer.learning_starts, 1000);
}

TEST(Config, UnknownPresetListsAvailable) {
  const std::string msg = error_of([] { preset_text("papr", "Pendulum-v1"); });
  EXPECT_NE(msg.find("unknown preset 'papr'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("ourddpg"), std::string::npos) << msg;
}

TEST(Config, ResolvedYamlReadsBackIdentical) {
  ConfigSources src;
  src.preset = "paper";
  src.sets = {"env.g=9.5", "agent.hidden=[32,16]", "trainer.seed=3"};
  const Config c = resolve_config(src);
  Config back;
  ConfigErrors errors;
  apply_yaml(back, to_yaml(c), "roundtrip", errors);
  ASSERT_TRUE(errors.empty());
  EXPECT_EQ(to_yaml(back), to_yaml(c));
  EXPECT_EQ(back.env.options.at("g"), "9.5");
  EXPECT_EQ(back.agent.hidden, (std::vector<int>{32, 16}));
}

TEST(Config, CriticActionLayerNeedsEnoughLayers) {
  ConfigSources src;
  src.sets = {"agent.hidden=64", "agent.critic_action_layer=1"};
  const std::string msg = error_of([&] { resolve_config(src); });
  EXPECT_NE(msg.find("critic_action_layer = 1 needs at least 2 hidden layers"), std::string::npos)
      << msg;
}

}  // namespace
}  // namespace ddpg
