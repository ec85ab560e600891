// What the tests that start MPI jobs on this host share (sweep_mpi_test.cpp, distributed_test.cpp):
// a scratch folder, the mpirun command line, and a shell command's exit status and output.
#pragma once

#include <stdlib.h>
#include <sys/wait.h>

#include <cstdlib>
#include <string>

#include "ddpg/io.h"

namespace ddpg::mpi_test {

inline std::string temp_dir() {
  char tmpl[] = "/tmp/ddpg_mpi_XXXXXX";
  return mkdtemp(tmpl);
}

// mpirun as root needs its consent flags; --oversubscribe lets 3 ranks share 2 cores. Under the
// sanitizer build the ranks run without the leak check: Open MPI's runtime keeps allocations in
// plugins it unloads at exit, which LeakSanitizer reports without a module name that
// tests/lsan.supp could match. (The code they run is leak-checked by the tests that run it in one
// process; address and UB checks stay on.) Each test process keeps Open MPI's session directory
// in a folder of its own: two mpiruns starting at once (ctest -j2 runs two of these tests side by
// side) race to create /tmp/ompi.<host>.<uid>, and Open MPI 4 fails the loser with "A call to
// mkdir was unable to create the desired directory ... File exists" (open-mpi/ompi#8510).
inline const std::string kMpirun =
    "env ${ASAN_OPTIONS:+ASAN_OPTIONS=\"$ASAN_OPTIONS:detect_leaks=0\"} "
    "mpirun --allow-run-as-root --oversubscribe --mca btl self,tcp,vader --mca orte_tmpdir_base " +
    temp_dir() + " ";

// Exit status of a shell command, its output (stdout and stderr) in `out`.
inline int shell(const std::string& cmd, std::string* out = nullptr) {
  const std::string file = temp_dir() + "/out.txt";
  const int rc = std::system((cmd + " > " + file + " 2>&1").c_str());
  if (out) *out = read_file(file);
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

}  // namespace ddpg::mpi_test
