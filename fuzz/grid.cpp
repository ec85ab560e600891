// Fuzz target: a sweep grid file as `ddpg sweep GRID --dry-run` plans it (every run's config
// resolved, nothing written). Any input may be refused, only with ddpg::Error.
#include "ddpg/sweep.h"
#include "fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ddpg;
  const std::string path = fuzz::scratch_dir() + "/grid.yaml";
  write_file_atomic(path, fuzz::as_text(data, size));
  SweepOptions opts;
  opts.grid_file = path;
  opts.out = fuzz::scratch_dir() + "/no_runs_here";
  opts.dry_run = true;
  try {
    plan_sweep(opts);
  } catch (const Error&) {
  }
  return 0;
}
