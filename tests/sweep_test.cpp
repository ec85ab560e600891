// Sweep planning: a grid's preset per env or per variant, per-env deltas, per-env budgets, the
// baseline check; every shipped grid plans without errors; every published anchor names a
// variant and env that a benchmark grid runs, with a protocol the report knows.
#include "ddpg/sweep.h"

#include <gtest/gtest.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <set>

#include "ddpg/embedded.h"
#include "ddpg/io.h"

namespace ddpg {
namespace {

std::string write_grid(const std::string& text) {
  char tmpl[] = "/tmp/ddpg_sweep_XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  write_file_atomic(dir + "/grid.yaml", text);
  return dir;
}

std::vector<SweepRun> plan(const std::string& dir) {
  SweepOptions o;
  o.grid_file = dir + "/grid.yaml";
  o.out = dir + "/out";
  return plan_sweep(o);
}

const SweepRun& find(const std::vector<SweepRun>& runs, const std::string& variant,
                     const std::string& env) {
  for (const auto& r : runs) {
    if (r.variant == variant && r.env == env) return r;
  }
  throw std::runtime_error("no run " + variant + " " + env);
}

TEST(Sweep, PresetPerEnvPerVariantAndPerEnvDeltas) {
  const std::string dir = write_grid(R"(envs: [Pendulum-v1, Hopper-v4]
seeds: [3]
preset: {Pendulum-v1: zoo, default: ourddpg}
steps: {Pendulum-v1: 1000, default: 5000}
base: {trainer: {eval_every: 500}}
per_env:
  Hopper-v4: {trainer: {eval_every: 250}}
variants:
  plain: {}
  td3: {preset: td3, agent: {tau: 0.01}}
)");
  const auto runs = plan(dir);
  ASSERT_EQ(runs.size(), 4u);
  const Config& p = find(runs, "plain", "Pendulum-v1").config;
  EXPECT_EQ(p.agent.buffer_size, 200000);  // zoo's Pendulum file
  EXPECT_EQ(p.trainer.update_unit, "episode");
  EXPECT_DOUBLE_EQ(p.agent.gamma, 0.98);
  EXPECT_EQ(p.trainer.total_steps, 1000);
  EXPECT_EQ(p.trainer.eval_every, 500);
  EXPECT_EQ(p.trainer.seed, 3u);
  const Config& h = find(runs, "plain", "Hopper-v4").config;
  EXPECT_EQ(h.agent.batch_size, 100);  // ourddpg
  EXPECT_EQ(h.agent.n_critics, 1);
  EXPECT_EQ(h.trainer.total_steps, 5000);
  EXPECT_EQ(h.trainer.eval_every, 250);  // per_env after base
  for (const std::string env : {"Pendulum-v1", "Hopper-v4"}) {
    const Config& t = find(runs, "td3", env).config;  // the variant's preset wins everywhere
    EXPECT_EQ(t.agent.n_critics, 2) << env;
    EXPECT_EQ(t.agent.policy_delay, 2) << env;
    EXPECT_DOUBLE_EQ(t.agent.tau, 0.01) << env;
    EXPECT_EQ(t.trainer.threads, 1) << env;
  }
}

TEST(Sweep, BaselineMustBeAVariantAndPresetsMustExist) {
  const std::string dir = write_grid(R"(envs: [Pendulum-v1]
baseline: nope
variants:
  a: {preset: no_such_preset}
)");
  try {
    plan(dir);
    FAIL() << "the grid was accepted";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("baseline 'nope' is not one of its variants"), std::string::npos) << msg;
    EXPECT_NE(msg.find("no_such_preset"), std::string::npos) << msg;
  }
}

std::string plan_error(const std::string& grid) {
  try {
    plan(write_grid(grid));
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// Found by fuzz_grid: a per-env steps map without the env or a default (a crash), a name or text
// key given as a map, repeated envs and seeds (two workers in one folder), and a grid that
// expands past any real sweep. Each is an Error naming the key.
TEST(Sweep, MalformedGridsAreNamedNotCrashes) {
  // an env missing from a steps map without default keeps the preset's steps
  const auto runs = plan(write_grid("envs: [Pendulum-v1]\nsteps: {Hopper-v4: 5000}\n"));
  ASSERT_EQ(runs.size(), 3u);
  EXPECT_EQ(runs[0].config.trainer.total_steps, 20000);  // the zoo preset's
  EXPECT_NE(plan_error("envs: [Pendulum-v1]\nsteps: {default: [1]}\n")
                .find("'steps' for Pendulum-v1 must be an integer (line 2)"),
            std::string::npos);
  EXPECT_NE(plan_error("envs: [Pendulum-v1]\nquestion: [a]\n").find("'question' must be text"),
            std::string::npos);
  EXPECT_NE(plan_error("envs: [Pendulum-v1]\nvariants:\n  [a]: {}\n")
                .find("unexpected structure at line"),
            std::string::npos);
  const std::string twice = plan_error("envs: [Pendulum-v1, Pendulum-v1]\nseeds: [1, 2, 1]\n");
  EXPECT_NE(twice.find("env 'Pendulum-v1' is listed twice"), std::string::npos) << twice;
  EXPECT_NE(twice.find("seed '1' is listed twice"), std::string::npos) << twice;
  std::string seeds = "[0";
  for (int i = 1; i < 2001; ++i) seeds += "," + std::to_string(i);
  const std::string big = plan_error("envs: [Pendulum-v1]\nseeds: " + seeds +
                                     "]\nvariants: {a: {}, b: {}, c: {}, " + "d: {}, e: {}}\n");
  EXPECT_NE(big.find("expands to 10005 runs; a sweep takes at most 10000"), std::string::npos)
      << big;
}

std::vector<std::string> shipped_grids() {
  std::vector<std::string> keys;
  for (const auto& [key, text] : embedded_files()) {
    if ((key.rfind("configs/ablations/", 0) == 0 || key.rfind("configs/benchmarks/", 0) == 0) &&
        key != "configs/benchmarks/anchors.yaml") {
      keys.push_back(key);
    }
  }
  return keys;
}

TEST(Sweep, EveryShippedGridPlans) {
  const auto keys = shipped_grids();
  EXPECT_GE(keys.size(), 9u);
  for (const auto& key : keys) {
    SweepOptions o;
    o.grid_file = key;
    o.out = "/nonexistent/out";
    std::vector<SweepRun> runs;
    ASSERT_NO_THROW(runs = plan_sweep(o)) << key;
    EXPECT_FALSE(runs.empty()) << key;
    const YAML::Node grid = YAML::Load(*embedded_file(key));
    EXPECT_TRUE(grid["question"]) << key << " states no question";
    if (key.rfind("configs/ablations/", 0) == 0) {
      EXPECT_GE(grid["seeds"].size(), 5u) << key;
      EXPECT_TRUE(grid["baseline"]) << key;
    }
  }
}

TEST(Sweep, EveryAnchorMatchesABenchmarkCell) {
  std::set<std::pair<std::string, std::string>> cells;  // (variant, env) of the benchmark grids
  for (const auto& key : shipped_grids()) {
    if (key.rfind("configs/benchmarks/", 0) != 0) continue;
    const YAML::Node grid = YAML::Load(*embedded_file(key));
    for (const auto& v : grid["variants"]) {
      for (const auto& env : grid["envs"]) {
        cells.insert({v.first.as<std::string>(), env.as<std::string>()});
      }
    }
  }
  const std::string* text = embedded_file("configs/benchmarks/anchors.yaml");
  ASSERT_NE(text, nullptr);
  const YAML::Node anchors = YAML::Load(*text)["anchors"];
  ASSERT_GT(anchors.size(), 20u);
  const std::set<std::string> protocols = {"final_eval", "final_train", "max_mean_curve",
                                           "last10_eval"};
  std::set<std::pair<std::string, std::string>> targets;
  for (const auto& a : anchors) {
    const std::pair<std::string, std::string> cell{a["variant"].as<std::string>(),
                                                   a["env"].as<std::string>()};
    EXPECT_TRUE(cells.count(cell)) << cell.first << " " << cell.second;
    EXPECT_TRUE(protocols.count(a["protocol"].as<std::string>())) << cell.second;
    EXPECT_FALSE(a["source"].as<std::string>().empty());
    a["value"].as<double>();
    if (a["target"].as<bool>()) {
      EXPECT_TRUE(targets.insert(cell).second) << "two target anchors for " << cell.second;
    }
  }
  EXPECT_EQ(targets, cells) << "every benchmark cell has one target anchor";
}

}  // namespace
}  // namespace ddpg
