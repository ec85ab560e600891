// Trainer and command line end to end on tiny budgets: same seed ⇒ identical eval.csv, exact resume
// (N steps + resume to M ≡ M straight, also after a kill -9 at a random moment), refused damaged
// checkpoints, and clear errors for bad input. `Learning*` tests are the seeded learning checks.
#include "ddpg/trainer.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>
#include <tuple>

#include "ddpg/config.h"
#include "ddpg/dir_lock.h"
#include "ddpg/evaluate.h"
#include "ddpg/io.h"
#include "tests/test_util.h"

namespace ddpg {
namespace {

std::string temp_dir() {
  char tmpl[] = "/tmp/ddpg_run_XXXXXX";
  return mkdtemp(tmpl);
}

const std::vector<std::string> kTinySets = {
    "agent.hidden=32,32",     "agent.batch_size=32",     "trainer.learning_starts=200",
    "trainer.eval_every=250", "trainer.eval_episodes=2", "trainer.checkpoint_every=300",
    "trainer.threads=1",      "agent.buffer_size=5000"};

std::string tiny_set_args() {
  std::string s;
  for (const auto& x : kTinySets) s += " --set " + x;
  return s;
}

Config tiny_config(int64_t steps, uint64_t seed = 0) {
  ConfigSources src;
  src.env_id = "Pendulum-v1";
  src.sets = kTinySets;
  src.total_steps = steps;
  src.seed = seed;
  return resolve_config(src);
}

TrainOptions silent() {
  TrainOptions o;
  o.quiet = true;
  o.show_progress = false;
  return o;
}

// Two run folders hold the same run: the same evaluations and the same final policy, byte for byte.
void expect_same_run(const std::string& a, const std::string& b) {
  EXPECT_EQ(read_file(a + "/eval.csv"), read_file(b + "/eval.csv"));
  EXPECT_EQ(read_file(a + "/policy_final.bin"), read_file(b + "/policy_final.bin"));
}

TEST(Smoke, SameSeedGivesIdenticalEvalCsv) {
  const std::string a = temp_dir() + "/run", b = temp_dir() + "/run", c = temp_dir() + "/run";
  train_new(tiny_config(1000), a, silent());
  train_new(tiny_config(1000), b, silent());
  train_new(tiny_config(1000, 1), c, silent());
  const std::string ea = read_file(a + "/eval.csv");
  EXPECT_EQ(ea, read_file(b + "/eval.csv"));
  EXPECT_NE(ea, read_file(c + "/eval.csv"));
  EXPECT_EQ(std::count(ea.begin(), ea.end(), '\n'), 5);  // header + evals at 250, 500, 750, 1000
  EXPECT_EQ(read_file(a + "/policy_final.bin"), read_file(b + "/policy_final.bin"));
}

TEST(Smoke, ResumeEqualsUninterruptedRun) {
  const std::string straight = temp_dir() + "/run", split = temp_dir() + "/run";
  train_new(tiny_config(1000), straight, silent());
  train_new(tiny_config(610), split, silent());  // ends between checkpoints, mid-episode
  train_resume(split, 1000, silent());
  EXPECT_EQ(read_file(straight + "/eval.csv"), read_file(split + "/eval.csv"));
  EXPECT_EQ(read_file(straight + "/policy_final.bin"), read_file(split + "/policy_final.bin"));
  // progress.csv agrees on everything but the timing columns
  auto strip = [](const std::string& csv) {
    std::string out, line;
    std::stringstream ss(csv);
    while (std::getline(ss, line)) {
      size_t pos = 0;
      for (int i = 0; i < 10; ++i) pos = line.find(',', pos) + 1;
      out += line.substr(0, pos) + "\n";
    }
    return out;
  };
  EXPECT_EQ(strip(read_file(straight + "/progress.csv")),
            strip(read_file(split + "/progress.csv")));
}

// The Box2D envs have no physics snapshot: their checkpoints replay the episode (box2d_env.h). A
// run split mid-episode on each is the uninterrupted run, byte for byte.
TEST(Smoke, ResumeEqualsUninterruptedRunOnBox2dEnvs) {
  for (const std::string env : {"LunarLanderContinuous-v3", "BipedalWalker-v3"}) {
    auto config = [&](int64_t steps) {
      ConfigSources src;
      src.env_id = env;
      src.sets = kTinySets;
      src.total_steps = steps;
      return resolve_config(src);
    };
    const std::string straight = temp_dir() + "/run", split = temp_dir() + "/run";
    train_new(config(700), straight, silent());
    train_new(config(430), split, silent());  // past the checkpoint at 300, inside an episode
    train_resume(split, 700, silent());
    SCOPED_TRACE(env);
    expect_same_run(straight, split);
  }
}

TEST(Smoke, ResumeAfterKillAtAnyMoment) {
  const std::string straight = temp_dir() + "/run", killed = temp_dir() + "/run";
  std::vector<std::string> args = {"train", "--env", "Pendulum-v1", "--steps", "15000", "-q"};
  for (const auto& s : kTinySets) {
    args.push_back("--set");
    args.push_back(s);
  }
  std::string common;
  for (const auto& a : args) common += " " + a;
  ASSERT_EQ(run_command(common + " --out " + straight).exit_code, 0);
  // Start the same run, kill -9 it shortly after its first checkpoint, then resume it.
  args.push_back("--out");
  args.push_back(killed);
  const pid_t pid = fork();
  if (pid == 0) {
    std::vector<char*> argv = {const_cast<char*>(DDPG_BINARY)};
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    freopen("/dev/null", "w", stdout);
    freopen("/dev/null", "w", stderr);
    execv(DDPG_BINARY, argv.data());
    _exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!file_exists(killed + "/checkpoints/last.ckpt") &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(40));
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  ASSERT_FALSE(file_exists(killed + "/policy_final.bin")) << "the run ended before the kill";
  const CommandResult r = run_command("train --resume " + killed + " -q");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  expect_same_run(straight, killed);
}

TEST(Smoke, DamagedCheckpointIsRefusedAndKept) {
  const std::string dir = temp_dir() + "/run";
  train_new(tiny_config(400), dir, silent());
  const std::string ckpt = dir + "/checkpoints/last.ckpt";
  const std::string data = read_file(ckpt);
  write_file_atomic(ckpt, data.substr(0, data.size() / 2));
  const CommandResult r = run_command("train --resume " + dir + " --steps 800 -q");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("damaged or truncated"), std::string::npos) << r.output;
  EXPECT_EQ(read_file(ckpt).size(), data.size() / 2);  // nothing was overwritten
}

// Run creation is atomic: config.yaml makes a folder a run. A start killed right after writing it
// (nothing else there) resumes from step 0 as the uninterrupted run. (A start that fails before
// it leaves no run: Smoke.TooLargeSettingsAreNamedAndLeaveNoRunBehind.)
TEST(Smoke, AFolderWithOnlyItsConfigResumesFromStepZero) {
  const std::string straight = temp_dir() + "/run", cut = temp_dir() + "/run";
  train_new(tiny_config(600), straight, silent());
  train_new(tiny_config(600), cut, silent());
  for (const auto& entry : std::filesystem::directory_iterator(cut)) {
    if (entry.path().filename() != "config.yaml") std::filesystem::remove_all(entry.path());
  }
  const CommandResult r = run_command("train --resume " + cut + " -q");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  expect_same_run(straight, cut);
}

// A log shorter than the checkpoint recorded (cut or replaced since) is refused by name, and left
// as it is: resume never pads a log with zeros.
TEST(Smoke, ResumeRefusesALogShorterThanItsCheckpoint) {
  const std::string dir = temp_dir() + "/run";
  train_new(tiny_config(400), dir, silent());
  const std::string progress = read_file(dir + "/progress.csv");
  const std::string cut = progress.substr(0, progress.find('\n') + 1);  // the header only
  write_file_atomic(dir + "/progress.csv", cut);
  const CommandResult r = run_command("train --resume " + dir + " --steps 800 -q");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find(dir + "/progress.csv' has " + std::to_string(cut.size()) +
                          " bytes, but the checkpoint"),
            std::string::npos)
      << r.output;
  EXPECT_EQ(read_file(dir + "/progress.csv"), cut);
}

TEST(Smoke, ResumeRefusesARunAlreadyDone) {
  const std::string dir = temp_dir() + "/run";
  train_new(tiny_config(300), dir, silent());
  const CommandResult r = run_command("train --resume " + dir + " -q");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("already at step 300"), std::string::npos) << r.output;
}

// A run killed after its last checkpoint but before its summary (a sweep's Ctrl-C can land there)
// resumes into the end of the run alone, with the results it would have had.
TEST(Smoke, ResumeFinishesARunStoppedAfterItsLastCheckpoint) {
  const std::string dir = temp_dir() + "/run";
  train_new(tiny_config(300), dir, silent());
  const std::string eval = read_file(dir + "/eval.csv"),
                    progress = read_file(dir + "/progress.csv");
  const std::string policy = read_file(dir + "/policy_final.bin");
  const auto summary = nlohmann::json::parse(read_file(dir + "/summary.json"));
  ASSERT_EQ(::unlink((dir + "/summary.json").c_str()), 0);
  ASSERT_EQ(::unlink((dir + "/policy_final.bin").c_str()), 0);
  const CommandResult r = run_command("train --resume " + dir + " -q");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(read_file(dir + "/eval.csv"), eval);
  EXPECT_EQ(read_file(dir + "/progress.csv"), progress);
  EXPECT_EQ(read_file(dir + "/policy_final.bin"), policy);
  const auto again = nlohmann::json::parse(read_file(dir + "/summary.json"));
  EXPECT_EQ(again["steps"], summary["steps"]);
  EXPECT_EQ(again["final_eval_mean"], summary["final_eval_mean"]);
  // finished now: a second resume is refused as before
  EXPECT_NE(run_command("train --resume " + dir + " -q").exit_code, 0);
}

TEST(Smoke, BadInputGivesClearErrors) {
  CommandResult r = run_command("train --env Pendulum-v2 -q --out " + temp_dir() + "/x");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("unknown env id 'Pendulum-v2'"), std::string::npos) << r.output;
  r = run_command("train --set agent.gamma=1.5 --set noise.type=foo -q --out " + temp_dir() + "/x");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("agent.gamma = 1.5 is out of range"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("noise.type = 'foo'"), std::string::npos) << r.output;
  const std::string cfg = temp_dir() + "/bad.yaml";
  write_file_atomic(cfg, "agent: {gamma: 0.9\n");
  r = run_command("train --config " + cfg + " -q --out " + temp_dir() + "/x");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("malformed YAML"), std::string::npos) << r.output;
  r = run_command("eval " + temp_dir());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("is not a run folder"), std::string::npos) << r.output;
}

TEST(Smoke, EnvsJsonAndEvalCommand) {
  CommandResult r = run_command("envs --json");
  ASSERT_EQ(r.exit_code, 0);
  const auto envs = nlohmann::json::parse(r.output);
  bool found = false;
  for (const auto& e : envs) {
    if (e["id"] == "Pendulum-v1") {
      found = true;
      EXPECT_EQ(e["obs_dim"], 3);
      EXPECT_EQ(e["act_dim"], 1);
      EXPECT_EQ(e["act_low"][0], -2.0);
      EXPECT_EQ(e["max_episode_steps"], 200);
    }
  }
  EXPECT_TRUE(found);
  const std::string dir = temp_dir() + "/run";
  ASSERT_EQ(run_command("train -q --env Pendulum-v1 --steps 300 --out " + dir + tiny_set_args())
                .exit_code,
            0);
  r = run_command("eval " + dir + " --episodes 2 --per-episode " + dir + "/episodes.csv");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("mean_return="), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("mean_length=200\n"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("terminated=0\n"), std::string::npos) << r.output;
  const std::string episodes = read_file(dir + "/episodes.csv");
  EXPECT_EQ(episodes.rfind("episode,return,length,end\n0,", 0), 0u) << episodes;
  EXPECT_EQ(std::count(episodes.begin(), episodes.end(), '\n'), 3) << episodes;
  EXPECT_NE(episodes.find(",200,truncated\n1,"), std::string::npos) << episodes;
  // A folder or a missing folder for the file is refused before the evaluation runs.
  r = run_command("eval " + dir + " --per-episode " + dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("is a folder; name the file to write"), std::string::npos) << r.output;
  r = run_command("eval " + dir + " --per-episode " + dir + "/no/such.csv");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("does not exist; create it"), std::string::npos) << r.output;
  for (const char* f : {"config.yaml", "meta.json", "progress.csv", "eval.csv", "policy_final.bin",
                        "policy_best.bin", "checkpoints/last.ckpt"}) {
    EXPECT_TRUE(file_exists(dir + "/" + f)) << f;
  }
}

// evaluate() reports each episode: its return (summing to the mean), its length, and whether the
// task ended it. Pendulum only ends at its 200-step limit; the lander with its engines off falls
// and ends by crashing or coming to rest, long before its 1000-step limit.
TEST(Evaluate, ReportsEachEpisodesReturnLengthAndEnding) {
  const Policy idle = [](const std::vector<double>&, float* a) { a[0] = 0.0f; };
  auto pendulum = make_env("Pendulum-v1");
  EvalResult r = evaluate(idle, *pendulum, 3, 7);
  ASSERT_EQ(r.returns.size(), 3u);
  ASSERT_EQ(r.lengths.size(), 3u);
  ASSERT_EQ(r.terminated.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(r.lengths[i], 200);
    EXPECT_FALSE(r.terminated[i]);
  }
  EXPECT_DOUBLE_EQ(r.mean_length, 200.0);
  EXPECT_NEAR((r.returns[0] + r.returns[1] + r.returns[2]) / 3, r.mean_return, 1e-9);

  // The lander's "no engine" action: main throttle -1 (off), lateral 0.
  const Policy off = [](const std::vector<double>&, float* a) {
    a[0] = -1.0f;
    a[1] = 0.0f;
  };
  auto lander = make_env("LunarLanderContinuous-v3");
  r = evaluate(off, *lander, 3, 7);
  double length_sum = 0;
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(r.terminated[i]) << i;
    EXPECT_GT(r.lengths[i], 10) << i;
    EXPECT_LT(r.lengths[i], 1000) << i;
    length_sum += r.lengths[i];
  }
  EXPECT_DOUBLE_EQ(r.mean_length, length_sum / 3);
}

TEST(Smoke, EnvsJsonListsEveryMujocoTask) {
  const CommandResult r = run_command("envs --json");
  ASSERT_EQ(r.exit_code, 0);
  const auto envs = nlohmann::json::parse(r.output);
  // (id, obs_dim, act_dim, max_episode_steps) from ENVIRONMENTS.md's summary table
  const std::vector<std::tuple<std::string, int, int, int>> expected = {
      {"HalfCheetah-v4", 17, 6, 1000},
      {"HalfCheetah-v5", 17, 6, 1000},
      {"Hopper-v4", 11, 3, 1000},
      {"Hopper-v5", 11, 3, 1000},
      {"Walker2d-v4", 17, 6, 1000},
      {"Walker2d-v5", 17, 6, 1000},
      {"Ant-v4", 27, 8, 1000},
      {"Ant-v5", 105, 8, 1000},
      {"Humanoid-v4", 376, 17, 1000},
      {"Humanoid-v5", 348, 17, 1000},
      {"HumanoidStandup-v4", 376, 17, 1000},
      {"HumanoidStandup-v5", 348, 17, 1000},
      {"Swimmer-v4", 8, 2, 1000},
      {"Swimmer-v5", 8, 2, 1000},
      {"Reacher-v4", 11, 2, 50},
      {"Reacher-v5", 10, 2, 50},
      {"Pusher-v4", 23, 7, 100},
      {"Pusher-v5", 23, 7, 100},
      {"InvertedPendulum-v4", 4, 1, 1000},
      {"InvertedPendulum-v5", 4, 1, 1000},
      {"InvertedDoublePendulum-v4", 11, 1, 1000},
      {"InvertedDoublePendulum-v5", 9, 1, 1000}};
  for (const auto& [id, obs, act, steps] : expected) {
    bool found = false;
    for (const auto& e : envs) {
      if (e["id"] != id) continue;
      found = true;
      EXPECT_EQ(e["obs_dim"], obs) << id;
      EXPECT_EQ(e["act_dim"], act) << id;
      EXPECT_EQ(e["act_low"].size(), static_cast<size_t>(act)) << id;
      EXPECT_EQ(e["max_episode_steps"], steps) << id;
    }
    EXPECT_TRUE(found) << id;
  }
}

TEST(Smoke, RolloutIsDeterminedByModelAndActions) {
  const std::string actions = temp_dir() + "/actions.csv";
  std::string text;
  for (int t = 0; t < 30; ++t) {
    for (int i = 0; i < 6; ++i)
      text += (i ? "," : "") + std::to_string(((t * 7 + i * 3) % 11) / 5.0 - 1.0);
    text += "\n";
  }
  write_file_atomic(actions, text);
  const std::string args =
      "rollout HalfCheetah-v4 --set env.reset_noise_scale=0 --actions " + actions;
  const CommandResult a = run_command(args + " --seed 1");
  const CommandResult b = run_command(args + " --seed 2");
  ASSERT_EQ(a.exit_code, 0) << a.output;
  EXPECT_EQ(a.output, b.output);  // no reset noise: the seed does not matter
  std::stringstream ss(a.output);
  std::string line;
  std::getline(ss, line);
  EXPECT_EQ(line.rfind("step,reward,terminated,truncated,obs_0,", 0), 0u) << line;
  EXPECT_NE(line.find("obs_16"), std::string::npos);
  std::getline(ss, line);
  EXPECT_EQ(line.rfind("0,,0,0,", 0), 0u) << line;  // the reset row has no reward
  int rows = 1;
  while (std::getline(ss, line)) ++rows;
  EXPECT_EQ(rows, 31);
  const CommandResult noisy = run_command("rollout HalfCheetah-v4 --seed 1 --actions " + actions);
  EXPECT_NE(noisy.output, a.output);
}

TEST(Smoke, ModelAndBenchEnvCommands) {
  CommandResult r = run_command("model Hopper-v4");
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_NE(r.output.find("<mujoco"), std::string::npos);
  EXPECT_NE(r.output.find("foot_joint"), std::string::npos);
  r = run_command("model Pendulum-v1");
  EXPECT_EQ(r.exit_code, 1);
  r = run_command("bench env Hopper-v4 --seconds 0.2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* k : {"env_steps_per_s=", "raw_steps_per_s=", "ratio="}) {
    EXPECT_NE(r.output.find(k), std::string::npos) << r.output;
  }
}

TEST(Smoke, ZooPresetCoversMujocoFamily) {
  ConfigSources src;
  src.preset = "zoo";
  src.env_id = "Swimmer-v4";
  const Config c = resolve_config(src);
  EXPECT_DOUBLE_EQ(c.agent.gamma, 0.9999);
  EXPECT_EQ(c.trainer.learning_starts, 10000);
  src.env_id = "Hopper-v5";
  EXPECT_DOUBLE_EQ(resolve_config(src).agent.gamma, 0.99);
  src.preset = "td3";
  src.env_id = "Ant-v4";
  const Config t = resolve_config(src);
  EXPECT_EQ(t.agent.n_critics, 2);
  EXPECT_EQ(t.trainer.learning_starts, 10000);
}

// A tiny grid end to end: sweep, interrupt (SIGINT to the sweep, which checkpoints its workers),
// resume by running the same command, identical results to an uninterrupted sweep, and a report.
TEST(Smoke, SweepInterruptResumeReport) {
  const std::string dir = temp_dir();
  const std::string grid = dir + "/tiny.yaml";
  write_file_atomic(grid, R"(question: Tiny grid for the smoke test
axis: noise
envs: [Pendulum-v1]
seeds: [0, 1]
preset: none
steps: 1500
base:
  agent: {hidden: [16, 16], batch_size: 16, buffer_size: 3000}
  trainer: {learning_starts: 100, eval_every: 500, eval_episodes: 1, checkpoint_every: 100}
variants:
  gaussian: {noise: {type: gaussian}}
  param: {noise: {type: param, sigma: 0.2}, agent: {layer_norm: actor}}
)");
  const std::string straight = dir + "/straight", resumed = dir + "/resumed";
  CommandResult r = run_command("sweep " + grid + " --out " + straight + " --jobs 2 -q");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = run_command("sweep " + grid + " --out " + resumed + " --dry-run");
  EXPECT_NE(r.output.find("4 runs"), std::string::npos) << r.output;

  const pid_t pid = fork();
  if (pid == 0) {
    freopen("/dev/null", "w", stdout);
    freopen("/dev/null", "w", stderr);
    execl(DDPG_BINARY, DDPG_BINARY, "sweep", grid.c_str(), "--out", resumed.c_str(), "--jobs", "1",
          "-q", static_cast<char*>(nullptr));
    _exit(127);
  }
  const std::string first = resumed + "/gaussian/Pendulum-v1/seed_0/checkpoints/last.ckpt";
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!file_exists(first) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill(pid, SIGINT);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 130) << "the sweep was not interrupted";
  const auto manifest = nlohmann::json::parse(read_file(resumed + "/manifest.json"));
  int unfinished = 0;
  for (const auto& run : manifest["runs"]) unfinished += run["status"] != "done";
  EXPECT_GT(unfinished, 0);

  r = run_command("sweep " + grid + " --out " + resumed + " --jobs 2 -q");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* run : {"gaussian/Pendulum-v1/seed_0", "gaussian/Pendulum-v1/seed_1",
                          "param/Pendulum-v1/seed_0", "param/Pendulum-v1/seed_1"}) {
    EXPECT_EQ(read_file(straight + "/" + run + "/eval.csv"),
              read_file(resumed + "/" + run + "/eval.csv"))
        << run;
  }
  r = run_command("sweep " + grid + " --out " + resumed + " --dry-run");
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 6) << r.output;
  EXPECT_EQ(r.output.find(" new "), std::string::npos) << r.output;

  r = run_command("report " + resumed);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* f : {"report.md", "final.csv", "curves_Pendulum-v1.png",
                        "curves_Pendulum-v1.svg", "bars_noise.png", "bars_noise.svg"}) {
    EXPECT_TRUE(file_exists(resumed + "/report/" + f)) << f;
  }
  const std::string md = read_file(resumed + "/report/report.md");
  EXPECT_NE(md.find("Tiny grid for the smoke test"), std::string::npos);
  EXPECT_NE(md.find("| param | Pendulum-v1 | 2 |"), std::string::npos) << md;
  // the param-noise runs log sigma and distance
  const std::string progress = read_file(resumed + "/param/Pendulum-v1/seed_0/progress.csv");
  EXPECT_NE(progress.find("param_noise_sigma,param_noise_distance"), std::string::npos);
  EXPECT_EQ(progress.find(",,"), std::string::npos) << "empty param-noise columns";
}

TEST(Smoke, SweepRejectsBadGrids) {
  const std::string dir = temp_dir();
  write_file_atomic(dir + "/g.yaml", "envs: [Pendulum-v0]\nvariantz: {}\n");
  const CommandResult r = run_command("sweep " + dir + "/g.yaml --out " + dir + "/o --dry-run");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("unknown key 'variantz'"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("unknown env id 'Pendulum-v0'"), std::string::npos) << r.output;
  // wrong types, names that would leave --out, and subsets that name nothing
  write_file_atomic(dir + "/h.yaml", "envs: Pendulum-v1\nseeds: [a]\nvariants:\n  ../../x: {}\n");
  const CommandResult h = run_command("sweep " + dir + "/h.yaml --out " + dir + "/o --dry-run");
  EXPECT_EQ(h.exit_code, 1);
  for (const char* m : {"'envs' must be a list of env ids (line 1)",
                        "'seeds' must be a list of non-negative integers (line 2)",
                        "variant name '../../x' is not a plain folder name"}) {
    EXPECT_NE(h.output.find(m), std::string::npos) << m << "\n" << h.output;
  }
  const CommandResult v =
      run_command("sweep noise --out " + dir + "/o --variants nosuch --dry-run");
  EXPECT_EQ(v.exit_code, 1);
  EXPECT_NE(v.output.find("the grid has no variant 'nosuch' (its variants: none gaussian ou "
                          "param)"),
            std::string::npos)
      << v.output;
  const CommandResult sd = run_command("sweep noise --out " + dir + "/o --seeds -1 --dry-run");
  EXPECT_EQ(sd.exit_code, 1);
  EXPECT_NE(sd.output.find("--seeds '-1' must be integers from 0 to 2^63-1"), std::string::npos)
      << sd.output;
  EXPECT_FALSE(file_exists(dir + "/o/manifest.json"));
}

// One sweep per output folder: while another process holds OUT/.lock, a sweep into OUT stops
// before it writes anything (the manifest has one writer).
TEST(Smoke, OneSweepPerOutputFolder) {
  const std::string dir = temp_dir(), out = dir + "/o";
  std::filesystem::create_directories(out);
  {
    const DirLock held(out);
    const CommandResult r = run_command("sweep noise --out " + out +
                                        " --envs Pendulum-v1 --seeds 0 --steps 300 --jobs 1");
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.output.find("'" + out + "' is being written by another ddpg process (pid " +
                            std::to_string(::getpid()) + ")"),
              std::string::npos)
        << r.output;
    EXPECT_FALSE(file_exists(out + "/manifest.json"));
  }
  const CommandResult ok =
      run_command("sweep noise --out " + out + " --envs Pendulum-v1 --seeds 0 --steps 300 " +
                  "--variants none --jobs 1 --set trainer.learning_starts=100 --set " +
                  "agent.hidden=16 --set agent.batch_size=16 --set trainer.eval_every=300");
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_TRUE(file_exists(out + "/manifest.json"));
}

// A sweep over a subset (--variants, --envs, --seeds) leaves the other runs in the manifest, so the
// folder's report still finds them.
TEST(Smoke, SweepSubsetsKeepTheManifestWhole) {
  const std::string dir = temp_dir();
  const std::string grid = dir + "/tiny.yaml";
  write_file_atomic(grid, R"(envs: [Pendulum-v1]
seeds: [0]
preset: none
steps: 300
base:
  agent: {hidden: [8, 8], batch_size: 8, buffer_size: 1000}
  trainer: {learning_starts: 100, eval_every: 0, eval_episodes: 1}
variants:
  a: {}
  b: {noise: {type: none}}
)");
  const std::string out = dir + "/s";
  CommandResult r = run_command("sweep " + grid + " --out " + out + " --variants b --jobs 1 -q");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = run_command("sweep " + grid + " --out " + out + " --variants a --jobs 1 -q");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto manifest = nlohmann::json::parse(read_file(out + "/manifest.json"));
  std::set<std::string> variants;
  for (const auto& run : manifest.at("runs")) variants.insert(run.at("variant"));
  EXPECT_EQ(variants, (std::set<std::string>{"a", "b"})) << manifest.dump();
  EXPECT_EQ(manifest.at("runs").size(), 2u) << manifest.dump();
  // eval_every 0: the run has a final evaluation but no best
  const auto summary = nlohmann::json::parse(read_file(out + "/a/Pendulum-v1/seed_0/summary.json"));
  EXPECT_TRUE(summary.at("best_eval_mean").is_null()) << summary.dump();
  r = run_command("sweep " + grid + " --out " + out + " --jobs 1 -q");  // both done: no duplicates
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(nlohmann::json::parse(read_file(out + "/manifest.json")).at("runs").size(), 2u);
}

// Run folders written when the agent's networks were LibTorch modules (tests/data/libtorch_era_run,
// made by the binary of commit 871119c) still work: the policy file evaluates to the return that
// binary printed, and the checkpoint resumes to the final evaluation it reached (same seed, same
// draws: the file formats did not change). Only summation order differs: the multiply kernels
// (and which of them a CPU gets) sum in other orders than that binary did, which moves the
// evaluation by ~1e-9 relative and, through 800 steps of training, the resumed run's by ~1e-5; a
// misread file or a changed draw would move them by far more.
TEST(Smoke, RunFoldersOfTheLibTorchEraLoad) {
  const std::string dir = temp_dir() + "/run";
  std::filesystem::copy(DDPG_TEST_DATA "/libtorch_era_run", dir,
                        std::filesystem::copy_options::recursive);
  CommandResult r = run_command("eval " + dir + " --episodes 3 --seed 5");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto at = r.output.find("mean_return=");
  ASSERT_NE(at, std::string::npos) << r.output;
  EXPECT_NEAR(std::stod(r.output.substr(at + 12)), -1407.7607384650364, 1e-4) << r.output;
  r = run_command("train --resume " + dir + " --steps 800 -q");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto summary = nlohmann::json::parse(read_file(dir + "/summary.json"));
  EXPECT_NEAR(summary.at("final_eval_mean").get<double>(), -1338.238368915617, 0.1);
}

// Starts `ddpg train` on Pendulum-v1 for a million steps into `dir` in a child process, and
// returns its pid once the run has written its logs.
pid_t start_long_run(const std::string& dir) {
  const pid_t pid = fork();
  if (pid == 0) {
    freopen("/dev/null", "w", stdout);
    freopen("/dev/null", "w", stderr);
    execl(DDPG_BINARY, DDPG_BINARY, "train", "--env", "Pendulum-v1", "--steps", "1000000", "-q",
          "--out", dir.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!file_exists(dir + "/eval.csv") && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return pid;
}

// One writer per run folder (an flock held for the process's life), and a refused resume changes
// nothing in the folder.
TEST(Smoke, OneWriterPerRunFolderAndRefusedResumeChangesNothing) {
  const std::string dir = temp_dir() + "/run";
  const pid_t pid = start_long_run(dir);
  CommandResult r = run_command("train --resume " + dir + " --steps 2000 -q");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(
      r.output.find("is being written by another ddpg process (pid " + std::to_string(pid) + ")"),
      std::string::npos)
      << r.output;
  r = run_command("train --env Pendulum-v1 --steps 300 -q --out " + dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("is being written by another ddpg process"), std::string::npos)
      << r.output;
  kill(pid, SIGKILL);  // the kernel releases the lock with the process
  int status = 0;
  waitpid(pid, &status, 0);

  const std::string done = temp_dir() + "/run";
  ASSERT_EQ(run_command("train --env Pendulum-v1 --steps 400 -q --out " + done + tiny_set_args())
                .exit_code,
            0);
  const std::string eval_before = read_file(done + "/eval.csv");
  const std::string summary_before = read_file(done + "/summary.json");
  const std::string config_before = read_file(done + "/config.yaml");
  r = run_command("train --resume " + done + " -q");  // already at its total steps
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("pass --steps N"), std::string::npos) << r.output;
  r = run_command("train --resume " + done + " --steps 300 -q");  // fewer steps than done
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(read_file(done + "/eval.csv"), eval_before);
  EXPECT_EQ(read_file(done + "/summary.json"), summary_before);
  EXPECT_EQ(read_file(done + "/config.yaml"), config_before);
  // options that would change the run are refused by name, not ignored
  r = run_command("train --resume " + done + " --steps 500 --set agent.tau=0.1 --seed 3 -q");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("--set, --seed cannot change a run on --resume"), std::string::npos)
      << r.output;
  EXPECT_EQ(read_file(done + "/config.yaml"), config_before);
  // without its checkpoint a run with results does not silently start over
  ASSERT_EQ(::unlink((done + "/checkpoints/last.ckpt").c_str()), 0);
  r = run_command("train --resume " + done + " --steps 600 -q");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("has results but no checkpoint"), std::string::npos) << r.output;
  EXPECT_EQ(read_file(done + "/eval.csv"), eval_before);
  EXPECT_EQ(read_file(done + "/summary.json"), summary_before);
  r = run_command("train --resume " + done + " --restart --steps 600 -q");  // explicitly
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(nlohmann::json::parse(read_file(done + "/summary.json")).at("steps"), 600);
}

// Settings too large for the machine are named before anything is allocated, and a run that
// cannot start leaves nothing that blocks its retry.
TEST(Smoke, TooLargeSettingsAreNamedAndLeaveNoRunBehind) {
  const std::string dir = temp_dir() + "/run";
  // 1e10 rows of Pendulum's transitions: 335 GiB, beyond any machine CI runs on
  CommandResult r = run_command("train --env Pendulum-v1 --steps 10000000000 --out " + dir +
                                " --set agent.buffer_size=10000000000 -q");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("agent.buffer_size = 10000000000 needs"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("lower agent.buffer_size"), std::string::npos) << r.output;
  r = run_command("train --env Pendulum-v1 --out " + dir + " --set agent.hidden=[60000,60000] -q");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("use smaller hidden layers"), std::string::npos) << r.output;
  EXPECT_FALSE(file_exists(dir + "/config.yaml"));
  r = run_command("train --env Pendulum-v1 --steps 300 -q --out " + dir + tiny_set_args());
  EXPECT_EQ(r.exit_code, 0) << r.output;  // the retry starts
}

// SIGHUP (a closed terminal) stops a run as SIGTERM does: checkpoint, then exit 128 + 1.
TEST(Smoke, HangupCheckpointsAndExitsWith129) {
  const std::string dir = temp_dir() + "/run";
  const pid_t pid = start_long_run(dir);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  kill(pid, SIGHUP);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 129) << status;
  EXPECT_TRUE(file_exists(dir + "/checkpoints/last.ckpt"));
  const auto meta = nlohmann::json::parse(read_file(dir + "/meta.json"));
  ASSERT_EQ(meta.at("segments").size(), 1u);
  EXPECT_FALSE(meta.at("segments")[0].at("finished").get<bool>());
}

// meta.json says what produced a run: commit, build, CPU, threads; each process of the run adds a
// segment, and wall_seconds sums them.
TEST(Smoke, MetaRecordsProvenanceOfEachProcess) {
  const std::string dir = temp_dir() + "/run";
  CommandResult r =
      run_command("train --env Pendulum-v1 --steps 400 -q --out " + dir + tiny_set_args());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = run_command("train --resume " + dir + " --steps 700 -q");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto meta = nlohmann::json::parse(read_file(dir + "/meta.json"));
  const std::string commit = meta.at("commit");
  EXPECT_TRUE(commit == "unknown" || commit.size() == 40) << commit;
  EXPECT_EQ(meta.at("build_type"), DDPG_BUILD_TYPE);
  EXPECT_FALSE(meta.at("cpu").get<std::string>().empty());
  EXPECT_EQ(meta.at("threads"), 1);
  EXPECT_EQ(meta.at("env"), "Pendulum-v1");
  const auto& segs = meta.at("segments");
  ASSERT_EQ(segs.size(), 2u);
  EXPECT_EQ(segs[0].at("from_step"), 0);
  EXPECT_EQ(segs[0].at("to_step"), 400);
  EXPECT_EQ(segs[1].at("from_step"), 400);  // resumed from the final checkpoint of the first run
  EXPECT_EQ(segs[1].at("to_step"), 700);
  EXPECT_TRUE(segs[1].at("finished").get<bool>());
  const double wall = meta.at("wall_seconds");
  const auto summary = nlohmann::json::parse(read_file(dir + "/summary.json"));
  EXPECT_NEAR(wall, summary.at("seconds").get<double>(), 0.05);
  EXPECT_GT(wall, 0.0);
}

// The report puts a published number beside ours under the anchor's protocol, and a grid's
// --estimate prints its cost.
TEST(Smoke, ReportWithAnchorsAndSweepEstimate) {
  const std::string dir = temp_dir();
  const std::string grid = dir + "/tiny.yaml";
  write_file_atomic(grid, R"(question: Tiny benchmark
axis: algorithm
baseline: slow
envs: [Pendulum-v1]
seeds: [0, 1, 2]
preset: none
steps: 1200
base:
  agent: {hidden: [16, 16], batch_size: 16, buffer_size: 3000}
  trainer: {learning_starts: 200, eval_every: 200, eval_episodes: 1}
variants:
  slow: {agent: {actor_lr: 1.0e-5}}
  fast: {}
)");
  write_file_atomic(dir + "/anchors.yaml", R"y(anchors:
  - {variant: fast, env: Pendulum-v1, value: -1000.0, protocol: max_mean_curve, target: true,
     source: "A made-up paper (nowhere)", differences: "none"}
  - {variant: slow, env: Pendulum-v1, value: -2000.0, protocol: final_train, target: false,
     source: "Another one (nowhere)"}
)y");
  CommandResult r = run_command("sweep " + grid + " --out " + dir + "/s --estimate 200 -q");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("core_hours_all="), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("fast"), std::string::npos) << r.output;
  EXPECT_FALSE(file_exists(dir + "/s/manifest.json")) << "--estimate ran the sweep";
  r = run_command("sweep " + grid + " --out " + dir + "/s --jobs 2 -q");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = run_command("report " + dir + "/s --anchors " + dir + "/anchors.yaml");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string md = read_file(dir + "/s/report/report.md");
  EXPECT_NE(md.find("## Against the published numbers"), std::string::npos) << md;
  // ... with the step where the maximum lies (a maximum at the first evaluations is the untrained
  // policy's)
  EXPECT_NE(
      md.find("| fast | Pendulum-v1 | 3 | maximum of the mean-over-seeds evaluation curve (at "),
      std::string::npos)
      << md;
  EXPECT_NE(md.find("A made-up paper"), std::string::npos);
  EXPECT_NE(md.find("## Each variant against `slow`"), std::string::npos) << md;
  EXPECT_NE(md.find("## Provenance"), std::string::npos);
  EXPECT_TRUE(file_exists(dir + "/s/report/curves_Pendulum-v1.png"));
  const auto headline = nlohmann::json::parse(read_file(dir + "/s/report/headline.json"));
  ASSERT_EQ(headline.size(), 2u);  // every anchor, the criterion's ones flagged
  EXPECT_EQ(headline[0].at("variant"), "slow");
  EXPECT_FALSE(headline[0].at("target").get<bool>());
  EXPECT_TRUE(headline[1].at("target").get<bool>());
  // the figure is the maximum over steps of the mean over seeds of eval.csv
  std::map<int64_t, double> sum;
  for (int seed = 0; seed < 3; ++seed) {
    std::istringstream in(
        read_file(dir + "/s/fast/Pendulum-v1/seed_" + std::to_string(seed) + "/eval.csv"));
    std::string line;
    std::getline(in, line);
    while (std::getline(in, line)) {
      sum[std::stoll(line)] += std::stod(line.substr(line.find(',') + 1)) / 3;
    }
  }
  double best = -1e300;
  for (const auto& [step, v] : sum) best = std::max(best, v);
  EXPECT_EQ(headline[1].at("variant"), "fast");
  EXPECT_NEAR(headline[1].at("ours").get<double>(), best, 1e-6);
  // an answer written beside the data is quoted
  write_file_atomic(dir + "/s/answer.md", "Fast learns faster: a written answer.\n");
  r = run_command("report " + dir + "/s --anchors none --out " + dir + "/r2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string md2 = read_file(dir + "/r2/report.md");
  EXPECT_NE(md2.find("## Answer\n\nFast learns faster"), std::string::npos) << md2;
  EXPECT_EQ(md2.find("## Against the published numbers"), std::string::npos);
  // The same data make the same figures, byte for byte (no date, fixed SVG ids): a regenerated
  // page changes in git only where its data did.
  r = run_command("report " + dir + "/s --anchors none --out " + dir + "/r3");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* f : {"curves_Pendulum-v1.svg", "curves_Pendulum-v1.png"}) {
    const std::string a = read_file(dir + "/r2/" + f);
    EXPECT_FALSE(a.empty()) << f;
    EXPECT_TRUE(a == read_file(dir + "/r3/" + f)) << f << " differs between two reports";
  }
}

TEST(Smoke, BenchCommandsPrintTheirFigures) {
  struct Case {
    const char* command;
    std::vector<const char*> keys;
  };
  const std::vector<Case> cases = {
      {"bench update --hidden 64,64 --batch 64 --threads 1 --seconds 0.2",
       {"update_ms=", "gemm_floor_ms=", "ratio=", "flop_fraction=", "peak_gflops="}},
      {"bench peak --seconds 0.1",
       {"peak_gflops_per_core=", "peak_gflops_all_cores=", "peak_avx2_gflops_per_core=",
        "fma_units_512bit="}},
      {"bench act --hidden 64,64 --seconds 0.1",
       {"act_us=", "act_train_us=", "pack_us=", "macs=", "weights_read_us=",
        "act_over_read_floor="}},
      // every multiply of the update by shape (HalfCheetah's 17 inputs, 2 shards of 32 rows), on
      // each path; BLAS runs on every CPU
      {"bench gemm --hidden 64,64 --batch 64 --seconds 0.02",
       {"peak_gflops_per_core=", "shards=2",
        "\nnt_32x64x17_blas_gflops=", "\nnn_32x64x64_blas_gflops=", "\ntn_64x64x32_blas_gflops=",
        "\nblas_all_gflops=", "\nblas_all_fraction="}},
      {"bench env Pendulum-v1 --num-envs 3 --seconds 0.1", {"env_steps_per_s=", "speedup="}},
      {"bench train Pendulum-v1 --steps 400 --learning-starts 300 --hidden 32,32 --batch 32",
       {"steps_per_s=", "update_bound_steps_per_s=", "ratio=", "timed_steps=100",
        "flop_limit_steps_per_s=", "flop_fraction="}}};
  for (const Case& c : cases) {
    const CommandResult r = run_command(c.command);
    ASSERT_EQ(r.exit_code, 0) << c.command << "\n" << r.output;
    // every figure names its machine: the CPU, the multiply path, the other kernels' ISA
    EXPECT_EQ(r.output.rfind("cpu=", 0), 0u) << c.command << "\n" << r.output;
    for (const char* k : {"\ngemm_path=", "\nsimd_isa="}) {
      EXPECT_NE(r.output.find(k), std::string::npos) << c.command << "\n" << r.output;
    }
    for (const char* k : c.keys) {
      EXPECT_NE(r.output.find(k), std::string::npos) << c.command << "\n" << r.output;
    }
  }
  const CommandResult bad = run_command("bench update --hidden 64,x");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.output.find("--hidden"), std::string::npos) << bad.output;
}

// The command line is consistent: --env wherever an env is chosen (the positional form stays),
// every config key reaches the benchmarks through --preset/--set (the short flags are aliases),
// and choices are checked by the parser with messages that state the rule (exit 2).
TEST(Smoke, CommandLineIsConsistent) {
  for (const char* c : {"model --env Hopper-v4", "bench env --env Pendulum-v1 --seconds 0.05",
                        "bench train --env Pendulum-v1 --steps 300 --learning-starts 200 "
                        "--hidden 16,16 --batch 16"}) {
    const CommandResult r = run_command(c);
    EXPECT_EQ(r.exit_code, 0) << c << "\n" << r.output;
  }
  CommandResult r = run_command(
      "bench update --env Hopper-v4 --preset td3 --set agent.batch_size=64 --seconds 0.1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("critics=2"), std::string::npos) << r.output;  // from the preset
  EXPECT_NE(r.output.find("batch=64"), std::string::npos) << r.output;   // from --set
  r = run_command("bench update --batch 32 --set agent.batch_size=48 --seconds 0.1");
  EXPECT_NE(r.output.find("batch=48"), std::string::npos) << "--set comes after the alias";
  struct Bad {
    const char* command;
    const char* message;
  };
  for (const Bad& b :
       {Bad{"eval . --which worst", "--which: worst not in {final,best}"},
        Bad{"eval . --episodes 0", "--episodes: must be a positive number, got '0'"},
        Bad{"train --preset zooo", "--preset: zooo not in"},
        Bad{"sweep noise --out /tmp/x --jobs -1", "--jobs: must be a positive"},
        Bad{"rollout --env Pendulum-v1 --actions /no/such/file",
            "File does not exist: /no/such/file"},
        Bad{"trian", "unknown command 'trian' (did you mean 'train'?)"},
        Bad{"bench updat", "unknown bench command 'updat' (did you mean 'update'?)"},
        Bad{"train --seed -1", "--seed: must be an integer from 0 to 2^63-1"},
        Bad{"train --seed 9223372036854775808", "--seed: must be an integer from 0 to 2^63-1"}}) {
    r = run_command(b.command);
    EXPECT_EQ(r.exit_code, 2) << b.command << "\n" << r.output;
    EXPECT_NE(r.output.find(b.message), std::string::npos) << b.command << "\n" << r.output;
  }
}

// Several envs: a fixed seed and env count give the same run whatever the thread count, and a
// resumed run equals an uninterrupted one.
// Asynchronous collection: deterministic, resumable, the same number of updates as the
// synchronous loop, and a different trajectory (its actions lag one update phase).
TEST(Smoke, AsyncCollectionIsDeterministicAndResumes) {
  auto config = [](int64_t steps, bool async) {
    Config c = tiny_config(steps);
    c.trainer.num_envs = 2;
    c.trainer.async_collect = async;
    c.trainer.update_every = 2;
    return c;
  };
  const std::string a = temp_dir() + "/run", b = temp_dir() + "/run", split = temp_dir() + "/run",
                    sync = temp_dir() + "/run";
  train_new(config(1000, true), a, silent());
  train_new(config(1000, true), b, silent());
  train_new(config(610, true), split, silent());
  train_resume(split, 1000, silent());
  train_new(config(1000, false), sync, silent());
  const std::string eval = read_file(a + "/eval.csv");
  EXPECT_EQ(eval, read_file(b + "/eval.csv"));
  EXPECT_EQ(eval, read_file(split + "/eval.csv"));
  EXPECT_EQ(read_file(a + "/policy_final.bin"), read_file(split + "/policy_final.bin"));
  EXPECT_NE(read_file(a + "/policy_final.bin"), read_file(sync + "/policy_final.bin"));
  // the update counts of the last progress rows agree: (1000 − 200) / 2 updates by the end
  auto last_updates = [](const std::string& csv) {
    std::stringstream ss(csv);
    std::string line, last;
    while (std::getline(ss, line)) last = line;
    size_t pos = 0;
    for (int i = 0; i < 7; ++i) pos = last.find(',', pos) + 1;
    return last.substr(pos, last.find(',', pos) - pos);
  };
  EXPECT_EQ(last_updates(read_file(a + "/progress.csv")),
            last_updates(read_file(sync + "/progress.csv")));
}

TEST(Smoke, ParallelEnvsAreDeterministicAndResume) {
  auto config = [](int64_t steps, int threads) {
    Config c = tiny_config(steps);
    c.trainer.num_envs = 3;
    c.trainer.threads = threads;
    c.trainer.eval_every = 300;  // a multiple of nothing in particular: crossings count
    return c;
  };
  const std::string a = temp_dir() + "/run", b = temp_dir() + "/run", split = temp_dir() + "/run";
  train_new(config(1200, 2), a, silent());
  train_new(config(1200, 1), b, silent());
  train_new(config(601, 2), split, silent());
  train_resume(split, 1200, silent());
  const std::string eval = read_file(a + "/eval.csv");
  EXPECT_EQ(eval, read_file(b + "/eval.csv"));
  EXPECT_EQ(eval, read_file(split + "/eval.csv"));
  EXPECT_EQ(read_file(a + "/policy_final.bin"), read_file(b + "/policy_final.bin"));
  EXPECT_EQ(read_file(a + "/policy_final.bin"), read_file(split + "/policy_final.bin"));
  // 3 envs × 200-step episodes: episodes end in threes, each row with a full-length episode
  const std::string progress = read_file(a + "/progress.csv");
  EXPECT_NE(progress.find("\n600,3,"), std::string::npos) << progress;
  // and they are not copies of one env: different reset seeds give different returns
  Config one = tiny_config(1200);
  const std::string c = temp_dir() + "/run";
  train_new(one, c, silent());
  EXPECT_NE(read_file(c + "/eval.csv"), eval);
}

// The updates column (8th) of each progress.csv row, keyed by the row's step.
std::map<int64_t, int64_t> updates_by_step(const std::string& csv) {
  std::map<int64_t, int64_t> out;
  std::stringstream ss(csv);
  std::string line;
  std::getline(ss, line);  // header
  while (std::getline(ss, line)) {
    std::vector<std::string> cols;
    std::stringstream ls(line);
    std::string col;
    while (std::getline(ls, col, ',')) cols.push_back(col);
    out[std::stoll(cols.at(0))] = std::stoll(cols.at(7));
  }
  return out;
}

// update_unit episode with gradient_steps -1 (SB3's train_freq=(n, "episode"), gradient_steps=-1;
// the 2018 TD3 loop): at each n-th episode end, one update per env step since the previous phase.
// Pendulum's episodes are 200 steps; a row is logged before that step's updates run.
TEST(Smoke, EpisodeUnitUpdatesAtEpisodeEnds) {
  auto config = [](int64_t steps, int every, int64_t learning_starts, int64_t update_after) {
    Config c = tiny_config(steps);
    c.trainer.update_unit = "episode";
    c.trainer.update_every = every;
    c.trainer.gradient_steps = -1;
    c.trainer.learning_starts = learning_starts;
    c.trainer.update_after = update_after;
    return c;
  };
  // every episode, from the first: 200 updates at each episode end
  const std::string a = temp_dir() + "/run";
  train_new(config(1000, 1, 200, 0), a, silent());
  EXPECT_EQ(
      updates_by_step(read_file(a + "/progress.csv")),
      (std::map<int64_t, int64_t>{{200, 0}, {400, 200}, {600, 400}, {800, 600}, {1000, 800}}));
  // every second episode (steps 400, 800), updates held back until learning_starts (the default
  // update_after): the phase at 400 is skipped, the one at 800 makes the 400 updates of its steps
  const std::string b = temp_dir() + "/run";
  train_new(config(1000, 2, 500, -1), b, silent());
  EXPECT_EQ(updates_by_step(read_file(b + "/progress.csv")),
            (std::map<int64_t, int64_t>{{200, 0}, {400, 0}, {600, 0}, {800, 0}, {1000, 400}}));
  // a run cut between phases resumes with its owed steps: identical to the straight run
  const std::string split = temp_dir() + "/run";
  train_new(config(610, 2, 500, -1), split, silent());
  train_resume(split, 1000, silent());
  expect_same_run(b, split);
  // and with update_unit step, -1 is update_every updates per phase
  Config four = tiny_config(600), minus_one = tiny_config(600);
  four.trainer.update_every = minus_one.trainer.update_every = 4;
  four.trainer.gradient_steps = 4;
  minus_one.trainer.gradient_steps = -1;
  const std::string c4 = temp_dir() + "/run", cm = temp_dir() + "/run";
  train_new(four, c4, silent());
  train_new(minus_one, cm, silent());
  EXPECT_EQ(read_file(c4 + "/policy_final.bin"), read_file(cm + "/policy_final.bin"));
  EXPECT_NE(read_file(c4 + "/policy_final.bin"), read_file(a + "/policy_final.bin"));
}

// The issue's learning check: `ddpg train --env Pendulum-v1 --preset zoo --steps 20000` reaches a
// final mean evaluation return >= -200 averaged over seeds 0, 1, 2, each seed >= -300.
void pendulum_zoo_reaches_minus200(int num_envs) {
  double sum = 0;
  for (uint64_t seed : {0, 1, 2}) {
    ConfigSources src;
    src.preset = "zoo";
    src.env_id = "Pendulum-v1";
    src.seed = seed;
    src.total_steps = 20000;
    src.sets = {"trainer.num_envs=" + std::to_string(num_envs)};
    const std::string dir = temp_dir() + "/run";
    const TrainSummary s = train_new(resolve_config(src), dir, silent());
    std::printf("num_envs %d, seed %lu: final eval %.1f (%.0f s)\n", num_envs,
                static_cast<unsigned long>(seed), s.final_eval_mean, s.seconds);
    EXPECT_GE(s.final_eval_mean, -300.0) << "seed " << seed;
    sum += s.final_eval_mean;
  }
  EXPECT_GE(sum / 3, -200.0);
}

TEST(Learning, PendulumZooReachesMinus200) { pendulum_zoo_reaches_minus200(1); }

// Issue 5: several envs leave learning unchanged in distribution: the same check, same
// thresholds, with four envs (same total env steps and updates per env step).
TEST(Learning, PendulumZooWithFourEnvsReachesMinus200) { pendulum_zoo_reaches_minus200(4); }

// The issue's MuJoCo check: InvertedPendulum-v4 with the `ourddpg` preset reaches a mean evaluation
// return of 1000 (the maximum) within 50k steps, seed 0. The run goes in 10k-step chunks through
// exact resume and stops at the first chunk whose evaluations reach 1000.
TEST(Learning, InvertedPendulumReaches1000Within50k) {
  ConfigSources src;
  src.preset = "ourddpg";
  src.env_id = "InvertedPendulum-v4";
  src.seed = 0;
  src.total_steps = 10000;
  const std::string dir = temp_dir() + "/run";
  train_new(resolve_config(src), dir, silent());
  auto best = [&] {
    std::stringstream ss(read_file(dir + "/eval.csv"));
    std::string line;
    std::getline(ss, line);
    double b = -1e9;
    while (std::getline(ss, line)) b = std::max(b, std::stod(line.substr(line.find(',') + 1)));
    return b;
  };
  int64_t steps = 10000;
  while (best() < 1000.0 && steps < 50000) {
    steps += 10000;
    train_resume(dir, steps, silent());
  }
  std::printf("best evaluation %.1f within %ld steps\n", best(), static_cast<long>(steps));
  EXPECT_GE(best(), 1000.0);
}

// Issue 4's check: on Pendulum-v1, adaptive parameter noise's measured distance settles within
// ±25% of its target (the desired action std 0.2), averaged over the last 20 logged episodes.
// 30000 steps: σ_w moves by at most 1% per 50 updates, and from 0.2 it needs ~10000 updates to
// reach the ~0.035 this actor settles at (measured: 0.27 after 20000 steps, 0.217 after 30000).
TEST(Learning, ParamNoiseDistanceTracksItsTarget) {
  ConfigSources src;
  src.preset = "zoo";
  src.env_id = "Pendulum-v1";
  src.sets = {"noise.type=param", "noise.sigma=0.2", "agent.layer_norm=actor"};
  src.total_steps = 30000;
  const std::string dir = temp_dir() + "/run";
  train_new(resolve_config(src), dir, silent());
  std::stringstream ss(read_file(dir + "/progress.csv"));
  std::string line;
  std::getline(ss, line);
  std::vector<double> distances;
  while (std::getline(ss, line)) {
    std::vector<std::string> cells;
    std::stringstream cs(line);
    std::string cell;
    while (std::getline(cs, cell, ',')) cells.push_back(cell);
    if (cells.size() > 9 && !cells[9].empty() && std::stod(cells[9]) > 0) {
      distances.push_back(std::stod(cells[9]));
    }
  }
  ASSERT_GE(distances.size(), 20u);
  double mean = 0;
  for (size_t i = distances.size() - 20; i < distances.size(); ++i) mean += distances[i] / 20;
  std::printf("mean distance over the last 20 episodes: %.4f (target 0.2)\n", mean);
  EXPECT_NEAR(mean, 0.2, 0.05);
}

}  // namespace
}  // namespace ddpg
