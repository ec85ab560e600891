// Distributed sweeps over MPI: `mpirun -np N ddpg sweep GRID --out DIR` (or `srun` under Slurm)
// spreads a grid's runs over the ranks with a dynamic queue.
//
// Rank 0 does everything a local sweep does (plans the grid, holds the folder's lock, writes the
// manifest and the runs' config.yaml) and runs `--jobs` runs itself (1 by default under MPI); every
// other rank is a worker that asks rank 0 for a run, runs it as the same `ddpg train --resume`
// child process a local sweep starts, reports its exit status, and asks again, so that a long run
// holds up only its own rank. Runs are independent and each is the same command as locally, so a
// distributed sweep's run folders equal a local sweep's byte for byte. A run whose process fails
// is reported (and its folder kept) without stopping the others; a rerun of the same command
// resumes, as a local sweep does.
//
// Assumption: OUT and the ddpg binary are at the same paths on every host (a shared file system,
// as on Slurm clusters). Each run folder has one writer (the rank running it), the manifest only
// rank 0. MPI carries only the small control messages; no run data crosses it.
#pragma once

#include "ddpg/sweep.h"

namespace ddpg {

// True when this process was started by an MPI launcher (mpirun/mpiexec of Open MPI or MPICH, or
// Slurm's srun with PMI/PMIx): the environment names a rank.
bool launched_by_mpi();

// MPI for the life of this object (MPI_Init_thread, then MPI_Finalize) and this process's rank
// and the job's size. `funneled`: other threads run beside MPI, only this one calls it.
class MpiSession {
 public:
  explicit MpiSession(bool funneled = false);
  ~MpiSession();
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;
  int rank() const { return rank_; }
  int size() const { return size_; }

 private:
  int rank_ = 0, size_ = 1;
};
// The sweep as one rank of an MPI job (see above); returns the number of failed runs on rank 0, 0
// on the workers. Throws Interrupted on rank 0 when the job was stopped.
int run_sweep_mpi(const SweepOptions& opts);

}  // namespace ddpg
