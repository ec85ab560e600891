// Distributed training (trainer.distributed = actors, src/distributed.h) under Open MPI's mpirun on
// this host: one learner and its actor ranks. With one actor a run is deterministic; a stopped run
// resumes from the learner's checkpoint; a job that does not match the setting is refused before
// anything is written; and with two actors TD3 learns Pendulum as one process does. (Across
// network-namespace hosts: tests/mpi_hosts_test.sh.)
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "ddpg/io.h"
#include "tests/mpi_test_util.h"

namespace ddpg {
namespace {

using mpi_test::kMpirun;
using mpi_test::shell;
using mpi_test::temp_dir;

// A small Pendulum run's command line (after `ddpg train`).
std::string small_run(const std::string& dir, int steps) {
  return " --env Pendulum-v1 --preset none --steps " + std::to_string(steps) +
         " --set trainer.distributed=actors --set agent.hidden=[32,32] --set agent.batch_size=32"
         " --set trainer.learning_starts=300 --set trainer.eval_every=500"
         " --set trainer.eval_episodes=2 --set trainer.checkpoint_every=250 --out " +
         dir + " -q";
}

// The columns of progress.csv that do not depend on timing (all but steps/s and seconds).
std::string progress_without_timing(const std::string& path) {
  std::istringstream in(read_file(path));
  std::string line, out;
  while (std::getline(in, line)) {
    for (int k = 0; k < 2; ++k) line = line.substr(0, line.rfind(','));
    out += line + "\n";
  }
  return out;
}

nlohmann::json read_json(const std::string& path) { return nlohmann::json::parse(read_file(path)); }

TEST(Smoke, DistributedTrainingWithOneActorIsDeterministic) {
  const std::string dir = temp_dir();
  std::string out;
  for (const char* run : {"/a", "/b"}) {
    ASSERT_EQ(shell(kMpirun + "-np 2 " + DDPG_BINARY + " train" + small_run(dir + run, 2000), &out),
              0)
        << out;
  }
  const std::string eval = read_file(dir + "/a/eval.csv");
  EXPECT_EQ(std::count(eval.begin(), eval.end(), '\n'), 5) << eval;  // header + 4 evaluations
  EXPECT_EQ(eval, read_file(dir + "/b/eval.csv"));
  EXPECT_EQ(progress_without_timing(dir + "/a/progress.csv"),
            progress_without_timing(dir + "/b/progress.csv"));
  EXPECT_EQ(read_file(dir + "/a/policy_final.bin"), read_file(dir + "/b/policy_final.bin"));
  const nlohmann::json d = read_json(dir + "/a/distributed.json");
  EXPECT_EQ(d["actors"], 1);
  EXPECT_EQ(d["env_steps"], 2000);
  EXPECT_EQ(d["batches"], 40);              // trainer.actor_batch 50
  EXPECT_EQ(d["updates"], 2000 - 300 + 1);  // one per env step from step 300 on, as one process
  EXPECT_EQ(d["hosts"].size(), 2u);
  // The lag bound with one actor: a batch is acted with the parameters sent two answers before
  // its own, so at most the updates of two batches (50 each) plus refresh_every − 1 (49).
  EXPECT_GT(d["lag_updates_max"].get<int64_t>(), 0);
  EXPECT_LE(d["lag_updates_max"].get<int64_t>(), 2 * 50 + 49);
  const std::string summary = read_file(dir + "/a/summary.json");
  EXPECT_NE(summary.find("\"steps\": 2000"), std::string::npos) << summary;
}

TEST(Smoke, DistributedTrainingWithTwoActorsUsesBoth) {
  const std::string dir = temp_dir();
  std::string out;
  ASSERT_EQ(shell(kMpirun + "-np 3 " + DDPG_BINARY + " train" + small_run(dir + "/r", 3000), &out),
            0)
      << out;
  const nlohmann::json d = read_json(dir + "/r/distributed.json");
  EXPECT_EQ(d["actors"], 2);
  EXPECT_EQ(d["env_steps"], 3000);
  EXPECT_EQ(d["updates"], 3000 - 300 + 1);
  for (double rate : d["actor_env_steps_per_s"]) EXPECT_GT(rate, 0.0);
  // every transition arrived: the replay's rows are the env steps (n_step 1)
  EXPECT_GT(d["bytes_in"].get<double>(), 3000.0 * (2 * 3 + 1 + 3) * sizeof(float));
  const std::string eval = read_file(dir + "/r/eval.csv");
  EXPECT_NE(eval.find("\n3000,"), std::string::npos) << eval;
}

// SB3's train_freq (1, "episode") with gradient_steps -1 (the zoo presets): at each episode end as
// many updates as env steps since the previous phase, counted across the actor's 50-step batches,
// as one process makes them. Pendulum's episodes end at 200, 400, ..., 2000; the first phase is
// before learning_starts (300) and makes none, the nine after it 200 each. (Until 2026-12-03 the
// learner counted only the last batch's steps: 50 updates a phase, 450 in all.)
TEST(Smoke, DistributedEpisodePhasesMakeOneProcesssUpdates) {
  const std::string dir = temp_dir();
  std::string out;
  ASSERT_EQ(shell(kMpirun + "-np 2 " + DDPG_BINARY + " train" + small_run(dir + "/r", 2000) +
                      " --set trainer.update_unit=episode --set trainer.gradient_steps=-1",
                  &out),
            0)
      << out;
  EXPECT_EQ(read_json(dir + "/r/distributed.json")["updates"], 9 * 200);
  ASSERT_EQ(shell(std::string(DDPG_BINARY) + " train" + small_run(dir + "/one", 2000) +
                      " --set trainer.distributed=none --set trainer.update_unit=episode"
                      " --set trainer.gradient_steps=-1",
                  &out),
            0)
      << out;
  // progress.csv's `updates` column (logged at each episode's end, before its phase) agrees
  const auto updates_column = [](const std::string& path) {
    std::istringstream in(read_file(path));
    std::string line, out;
    std::getline(in, line);
    while (std::getline(in, line)) {
      std::istringstream cells(line);
      std::string cell;
      for (int k = 0; k < 8; ++k) std::getline(cells, cell, ',');
      out += cell + " ";
    }
    return out;
  };
  const std::string one = updates_column(dir + "/one/progress.csv");
  EXPECT_EQ(one, "0 0 200 400 600 800 1000 1200 1400 1600 ");
  EXPECT_EQ(updates_column(dir + "/r/progress.csv"), one);
}

// SIGINT to mpirun (Ctrl-C) reaches every rank: the learner saves its checkpoint, stops the
// actors and exits; `mpirun ... train --resume` continues the run to its end from that checkpoint.
TEST(Smoke, DistributedTrainingStopsOnSignalAndResumes) {
  const std::string dir = temp_dir(), run = dir + "/r";
  const std::string cmd = kMpirun + "-np 3 " + DDPG_BINARY + " train" + small_run(run, 400000);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    setpgid(0, 0);
    execl("/bin/sh", "sh", "-c", (cmd + " > " + dir + "/first.txt 2>&1").c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  // stop it once learning has begun and a checkpoint exists
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (std::chrono::steady_clock::now() < deadline) {
    if (file_exists(run + "/checkpoints/last.ckpt") && file_exists(run + "/eval.csv") &&
        read_file(run + "/eval.csv").find("\n1000,") != std::string::npos) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ::kill(-pid, SIGINT);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_FALSE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << read_file(dir + "/first.txt");
  const nlohmann::json meta = read_json(run + "/meta.json");
  ASSERT_EQ(meta["segments"].size(), 1u) << read_file(dir + "/first.txt");
  EXPECT_FALSE(meta["segments"][0]["finished"].get<bool>());
  const int64_t stopped_at = meta["segments"][0]["to_step"];
  EXPECT_GE(stopped_at, 1000);
  EXPECT_LT(stopped_at, 400000);
  EXPECT_FALSE(file_exists(run + "/summary.json"));
  // resume to a few thousand steps past the stop
  const int64_t end = (stopped_at / 500 + 4) * 500;
  std::string out;
  ASSERT_EQ(shell(kMpirun + "-np 3 " + DDPG_BINARY + " train --resume " + run + " --steps " +
                      std::to_string(end) + " -q",
                  &out),
            0)
      << out;
  const nlohmann::json after = read_json(run + "/meta.json");
  ASSERT_EQ(after["segments"].size(), 2u);
  EXPECT_EQ(after["segments"][1]["from_step"], stopped_at);
  EXPECT_TRUE(after["segments"][1]["finished"].get<bool>());
  EXPECT_NE(read_file(run + "/summary.json").find("\"steps\": " + std::to_string(end)),
            std::string::npos);
  // one eval row per 500 steps, none repeated or lost across the stop
  std::istringstream rows(read_file(run + "/eval.csv"));
  std::string line;
  std::getline(rows, line);
  int64_t expect = 500;
  while (std::getline(rows, line)) {
    EXPECT_EQ(std::stoll(line.substr(0, line.find(','))), expect) << line;
    expect += 500;
  }
  EXPECT_EQ(expect, end + 500);
}

// As in one process (trainer_test.cpp): a run killed after its last checkpoint but before its
// summary finishes when resumed; the learner stops its actors at their first batch.
TEST(Smoke, DistributedResumeFinishesARunStoppedAfterItsLastCheckpoint) {
  const std::string run = temp_dir() + "/r";
  std::string out;
  ASSERT_EQ(shell(kMpirun + "-np 3 " + DDPG_BINARY + " train" + small_run(run, 1500), &out), 0)
      << out;
  const std::string eval = read_file(run + "/eval.csv");
  const nlohmann::json summary = read_json(run + "/summary.json");
  ASSERT_EQ(::unlink((run + "/summary.json").c_str()), 0);
  ASSERT_EQ(::unlink((run + "/policy_final.bin").c_str()), 0);
  ASSERT_EQ(shell(kMpirun + "-np 3 " + DDPG_BINARY + " train --resume " + run + " -q", &out), 0)
      << out;
  EXPECT_EQ(read_file(run + "/eval.csv"), eval);
  EXPECT_TRUE(file_exists(run + "/policy_final.bin"));
  const nlohmann::json again = read_json(run + "/summary.json");
  EXPECT_EQ(again["steps"], summary["steps"]);
  EXPECT_EQ(again["final_eval_mean"], summary["final_eval_mean"]);
}

TEST(Smoke, DistributedTrainingRefusesAMismatchedJob) {
  const std::string dir = temp_dir();
  std::string out;
  // the setting without an MPI job
  EXPECT_EQ(shell(std::string(DDPG_BINARY) + " train" + small_run(dir + "/a", 1000), &out), 1);
  EXPECT_NE(out.find("mpirun -np K"), std::string::npos) << out;
  EXPECT_FALSE(file_exists(dir + "/a"));
  // an MPI job without the setting: every rank would train the same run
  EXPECT_NE(shell(kMpirun + "-np 2 " + DDPG_BINARY +
                      " train --env Pendulum-v1 --steps 1000 -q --out " + dir + "/b",
                  &out),
            0);
  EXPECT_NE(out.find("trainer.distributed = none"), std::string::npos) << out;
  EXPECT_FALSE(file_exists(dir + "/b"));
  // settings that do not apply to distributed training
  EXPECT_NE(shell(kMpirun + "-np 2 " + DDPG_BINARY + " train" + small_run(dir + "/c", 1000) +
                      " --set noise.type=param",
                  &out),
            0);
  EXPECT_NE(out.find("noise.type = param is not supported"), std::string::npos) << out;
  EXPECT_FALSE(file_exists(dir + "/c"));
}

// The single-process learning check (trainer_test.cpp, PendulumZooReachesMinus200) with one
// learner and two actor ranks, same thresholds: final mean evaluation return >= -200 averaged over
// seeds 0, 1, 2, each seed >= -300, after 20000 env steps.
TEST(Learning, DistributedPendulumZooReachesMinus200) {
  double sum = 0;
  for (int seed : {0, 1, 2}) {
    const std::string dir = temp_dir() + "/run";
    std::string out;
    ASSERT_EQ(shell(kMpirun + "-np 3 " + DDPG_BINARY +
                        " train --env Pendulum-v1 --preset zoo --steps 20000 --seed " +
                        std::to_string(seed) + " --set trainer.distributed=actors -q --out " + dir,
                    &out),
              0)
        << out;
    const nlohmann::json s = read_json(dir + "/summary.json");
    const double final_eval = s["final_eval_mean"];
    std::printf("2 actors, seed %d: final eval %.1f\n", seed, final_eval);
    EXPECT_GE(final_eval, -300.0) << "seed " << seed;
    sum += final_eval;
  }
  EXPECT_GE(sum / 3, -200.0);
}

}  // namespace
}  // namespace ddpg
