// Distributed sweeps over MPI: see sweep_mpi.h.
#include "ddpg/sweep_mpi.h"

#include <mpi.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "ddpg/io.h"

namespace ddpg {
namespace {

// Messages. Worker → rank 0: kReport {run, status, interrupted} (run −1: the first request).
// Rank 0 → worker: kAssign "run\nsteps\ndir", kStop (no more runs), kInterrupt (stop the run).
enum Tag : int { kReport = 1, kAssign = 2, kStop = 3, kInterrupt = 4 };

std::atomic<int> g_worker_signal{0};
void on_worker_signal(int sig) { g_worker_signal = sig; }

// Rank 0's view of the other ranks.
class MpiWorkers : public RemoteWorkers {
 public:
  explicit MpiWorkers(int size) : size_(size), stopped_(static_cast<size_t>(size), false) {}

  std::optional<Report> poll() override {
    int flag = 0;
    MPI_Status st;
    MPI_Iprobe(MPI_ANY_SOURCE, kReport, MPI_COMM_WORLD, &flag, &st);
    if (!flag) return std::nullopt;
    int64_t msg[3];
    MPI_Recv(msg, 3, MPI_INT64_T, st.MPI_SOURCE, kReport, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    busy_.erase(st.MPI_SOURCE);
    idle_.insert(st.MPI_SOURCE);
    Report r;
    r.worker = st.MPI_SOURCE;
    r.run = msg[0];
    r.status = static_cast<int>(msg[1]);
    r.interrupted = msg[2] != 0;
    return r;
  }

  std::optional<int> idle_worker() const override {
    if (idle_.empty()) return std::nullopt;
    return *idle_.begin();
  }

  int busy() const override { return static_cast<int>(busy_.size()); }

  void assign(int worker, int64_t run, const SweepRun& r) override {
    const std::string text =
        std::to_string(run) + "\n" + std::to_string(r.config.trainer.total_steps) + "\n" + r.dir;
    MPI_Send(text.data(), static_cast<int>(text.size()), MPI_CHAR, worker, kAssign, MPI_COMM_WORLD);
    idle_.erase(worker);
    busy_.insert(worker);
  }

  void interrupt() override {
    for (int w : busy_) MPI_Send(nullptr, 0, MPI_CHAR, w, kInterrupt, MPI_COMM_WORLD);
  }

  void finish() override {
    // Idle workers wait for an answer to their report: kStop. The others report when their run
    // ends (a report run_sweep no longer reads: it has stopped waiting for runs) and get kStop
    // then.
    auto stop = [&](int w) {
      MPI_Send(nullptr, 0, MPI_CHAR, w, kStop, MPI_COMM_WORLD);
      stopped_[static_cast<size_t>(w)] = true;
    };
    for (int w : idle_) {
      if (!stopped_[static_cast<size_t>(w)]) stop(w);
    }
    idle_.clear();
    for (;;) {
      int left = 0;
      for (int w = 1; w < size_; ++w) left += stopped_[static_cast<size_t>(w)] ? 0 : 1;
      if (left == 0) break;
      int64_t msg[3];
      MPI_Status st;
      MPI_Recv(msg, 3, MPI_INT64_T, MPI_ANY_SOURCE, kReport, MPI_COMM_WORLD, &st);
      if (!stopped_[static_cast<size_t>(st.MPI_SOURCE)]) stop(st.MPI_SOURCE);
    }
    busy_.clear();
    // A request that crossed an interrupt may still be in flight from a stopped worker: read it.
    for (;;) {
      int flag = 0;
      MPI_Status st;
      MPI_Iprobe(MPI_ANY_SOURCE, kReport, MPI_COMM_WORLD, &flag, &st);
      if (!flag) break;
      int64_t msg[3];
      MPI_Recv(msg, 3, MPI_INT64_T, st.MPI_SOURCE, kReport, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    }
  }

 private:
  int size_;
  std::vector<bool> stopped_;
  std::set<int> busy_, idle_;
};

// A worker rank: ask, run, report, until told to stop.
int worker_loop(const SweepOptions& opts) {
  g_worker_signal = 0;
  auto old_int = std::signal(SIGINT, on_worker_signal);
  auto old_term = std::signal(SIGTERM, on_worker_signal);
  int64_t report[3] = {-1, 0, 0};
  for (;;) {
    MPI_Send(report, 3, MPI_INT64_T, 0, kReport, MPI_COMM_WORLD);
    MPI_Status st;
    MPI_Probe(0, MPI_ANY_TAG, MPI_COMM_WORLD, &st);
    if (st.MPI_TAG == kStop || st.MPI_TAG == kInterrupt) {
      MPI_Recv(nullptr, 0, MPI_CHAR, 0, st.MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      if (st.MPI_TAG == kStop) break;
      report[0] = -1;  // an interrupt that crossed our request: nothing was running
      continue;
    }
    int len = 0;
    MPI_Get_count(&st, MPI_CHAR, &len);
    std::string text(static_cast<size_t>(len), '\0');
    MPI_Recv(text.data(), len, MPI_CHAR, 0, kAssign, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    const size_t a = text.find('\n'), b = text.find('\n', a + 1);
    const int64_t run = std::stoll(text.substr(0, a));
    const int64_t steps = std::stoll(text.substr(a + 1, b - a - 1));
    const std::string dir = text.substr(b + 1);

    // Run it; a signal here, or an interrupt from rank 0, makes the child checkpoint and stop.
    const pid_t pid = start_sweep_child(opts.self_exe, dir, steps);
    bool interrupted = false;
    int status = 0;
    for (;;) {
      if (waitpid(pid, &status, WNOHANG) == pid) break;
      int flag = 0;
      MPI_Iprobe(0, kInterrupt, MPI_COMM_WORLD, &flag, MPI_STATUS_IGNORE);
      if (flag) {
        MPI_Recv(nullptr, 0, MPI_CHAR, 0, kInterrupt, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      }
      if ((flag || g_worker_signal != 0) && !interrupted) {
        kill(pid, SIGINT);
        interrupted = true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    const bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    report[0] = run;
    report[1] = ok ? 0 : (WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    report[2] = interrupted && !ok ? 1 : 0;
  }
  std::signal(SIGINT, old_int);
  std::signal(SIGTERM, old_term);
  return 0;
}

}  // namespace

bool launched_by_mpi() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "PMI_RANK"}) {
    if (std::getenv(v) != nullptr) return true;
  }
  return false;
}

MpiSession::MpiSession(bool funneled) {
  int provided = 0;
  MPI_Init_thread(nullptr, nullptr, funneled ? MPI_THREAD_FUNNELED : MPI_THREAD_SINGLE, &provided);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
}

MpiSession::~MpiSession() { MPI_Finalize(); }

int run_sweep_mpi(const SweepOptions& opts) {
  const MpiSession mpi;
  const int size = mpi.size();
  if (mpi.rank() != 0) return worker_loop(opts);
  SweepOptions local = opts;
  if (local.jobs <= 0) local.jobs = 1;  // one run per rank, as mpirun places one rank per core
  MpiWorkers workers(size);
  if (size == 1 || opts.dry_run) {
    try {
      const int failed = run_sweep(local);
      workers.finish();
      return failed;
    } catch (...) {
      workers.finish();
      throw;
    }
  }
  try {
    return run_sweep(local, &workers);
  } catch (...) {
    // (planning failed, or the job was stopped: let every worker go before the error propagates)
    workers.finish();
    throw;
  }
}

}  // namespace ddpg
