// Distributed sweeps (sweep_mpi.h) under Open MPI's mpirun on this host: the same run folders as a
// local sweep, byte for byte, with runs spread over the ranks; a run whose process dies is reported
// without stopping the others, and rerunning the command completes the grid. (The multi-host test,
// across network namespaces, is tests/mpi_hosts_test.sh.)
#include <dirent.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>

#include "ddpg/io.h"
#include "tests/mpi_test_util.h"

namespace ddpg {
namespace {

using mpi_test::kMpirun;
using mpi_test::shell;
using mpi_test::temp_dir;

std::string tiny_grid(const std::string& dir, int long_steps) {
  const std::string grid = dir + "/tiny.yaml";
  write_file_atomic(grid, R"(question: Tiny grid for the distributed-sweep test
axis: noise
envs: [Pendulum-v1, MountainCarContinuous-v0]
seeds: [0, 1, 2]
preset: none
steps: {Pendulum-v1: )" + std::to_string(long_steps) +
                              R"(, default: 600}
base:
  agent: {hidden: [16, 16], batch_size: 16, buffer_size: 3000}
  trainer: {learning_starts: 100, eval_every: 300, eval_episodes: 1, checkpoint_every: 100}
variants:
  gaussian: {noise: {type: gaussian}}
)");
  return grid;
}

const char* const kRuns[] = {"gaussian/Pendulum-v1/seed_0",
                             "gaussian/Pendulum-v1/seed_1",
                             "gaussian/Pendulum-v1/seed_2",
                             "gaussian/MountainCarContinuous-v0/seed_0",
                             "gaussian/MountainCarContinuous-v0/seed_1",
                             "gaussian/MountainCarContinuous-v0/seed_2"};

TEST(Smoke, DistributedSweepEqualsLocalSweep) {
  const std::string dir = temp_dir();
  const std::string grid = tiny_grid(dir, 900);
  const std::string local = dir + "/local", spread = dir + "/mpi";
  std::string out;
  ASSERT_EQ(
      shell(std::string(DDPG_BINARY) + " sweep " + grid + " --out " + local + " --jobs 2 -q", &out),
      0)
      << out;
  ASSERT_EQ(
      shell(kMpirun + "-np 3 " + DDPG_BINARY + " sweep " + grid + " --out " + spread + " -q", &out),
      0)
      << out;
  std::set<std::string> ranks;
  for (const char* run : kRuns) {
    SCOPED_TRACE(run);
    EXPECT_EQ(read_file(local + "/" + run + "/eval.csv"),
              read_file(spread + "/" + run + "/eval.csv"));
    EXPECT_EQ(read_file(local + "/" + run + "/policy_final.bin"),
              read_file(spread + "/" + run + "/policy_final.bin"));
    const std::string log = read_file(spread + "/" + run + "/train.log");
    const size_t at = log.find("MPI rank ");
    ASSERT_NE(at, std::string::npos) << log;
    ranks.insert(log.substr(at + 9, 1));
  }
  EXPECT_GE(ranks.size(), 2u) << "every run went to one rank";
  const auto manifest = nlohmann::json::parse(read_file(spread + "/manifest.json"));
  ASSERT_EQ(manifest["runs"].size(), 6u);
  for (const auto& run : manifest["runs"]) EXPECT_EQ(run["status"], "done");
}

// The pid of the `ddpg train` process working in `run_dir`, or 0.
pid_t train_process_of(const std::string& run_dir) {
  DIR* proc = opendir("/proc");
  if (!proc) return 0;
  pid_t found = 0;
  while (dirent* e = readdir(proc)) {
    const pid_t pid = static_cast<pid_t>(std::atoi(e->d_name));
    if (pid <= 0) continue;
    std::ifstream in("/proc/" + std::string(e->d_name) + "/cmdline", std::ios::binary);
    std::string cmd((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (cmd.find("train") != std::string::npos && cmd.find(run_dir + '\0') != std::string::npos) {
      found = pid;
      break;
    }
  }
  closedir(proc);
  return found;
}

TEST(Smoke, DistributedSweepReportsADeadRunAndTheRerunCompletes) {
  const std::string dir = temp_dir();
  const std::string grid = tiny_grid(dir, 4000);
  const std::string out_dir = dir + "/mpi";
  const std::string victim = out_dir + "/gaussian/Pendulum-v1/seed_1";
  const std::string cmd =
      kMpirun + "-np 3 " + DDPG_BINARY + " sweep " + grid + " --out " + out_dir + " -q";
  const pid_t job = fork();
  if (job == 0) {
    freopen("/dev/null", "w", stdout);
    freopen("/dev/null", "w", stderr);
    execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  // Kill the victim's process once it has written a checkpoint.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  pid_t train = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    if (file_exists(victim + "/checkpoints/last.ckpt") && (train = train_process_of(victim)) > 0) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_GT(train, 0) << "the run never started";
  kill(train, SIGKILL);
  int status = 0;
  waitpid(job, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 1) << "a failed run makes the sweep exit with 1";
  auto manifest = nlohmann::json::parse(read_file(out_dir + "/manifest.json"));
  int done = 0, failed = 0;
  for (const auto& run : manifest["runs"]) {
    done += run["status"] == "done";
    if (run["status"] == "failed") {
      ++failed;
      EXPECT_EQ(run["dir"], "gaussian/Pendulum-v1/seed_1");
    }
  }
  EXPECT_EQ(failed, 1);
  EXPECT_EQ(done, 5) << "the other runs went on";

  // The same command again resumes the dead run from its checkpoint and completes the grid; the run
  // equals one that was never interrupted.
  std::string out;
  ASSERT_EQ(shell(cmd, &out), 0) << out;
  manifest = nlohmann::json::parse(read_file(out_dir + "/manifest.json"));
  for (const auto& run : manifest["runs"]) EXPECT_EQ(run["status"], "done");
  const std::string straight = dir + "/straight";
  ASSERT_EQ(shell(std::string(DDPG_BINARY) + " sweep " + grid + " --out " + straight +
                      " --envs Pendulum-v1 --seeds 1 -q",
                  &out),
            0)
      << out;
  EXPECT_EQ(read_file(straight + "/gaussian/Pendulum-v1/seed_1/eval.csv"),
            read_file(victim + "/eval.csv"));
}

}  // namespace
}  // namespace ddpg
