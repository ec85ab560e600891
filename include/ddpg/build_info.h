// Provenance of this binary and the machine it runs on, recorded in every run's meta.json so that a
// result can be traced to the code, build and CPU that produced it.
//
// The commit is read from git at build time (cmake/build_info.cmake, rerun at every build);
// `dirty` is true when tracked files differed from that commit. A tree without git gives
// "unknown".
#pragma once

#include <string>

namespace ddpg {

struct BuildInfo {
  const char* commit;      // 40 hex digits, or "unknown"
  bool dirty;              // tracked files differed from `commit` when this was built
  const char* build_type;  // CMAKE_BUILD_TYPE: Release, Debug, Asan
  const char* compiler;    // compiler id and version
};
const BuildInfo& build_info();

// The CPU as /proc/cpuinfo names it, with its family and model numbers (vendors reuse names such as
// "AMD EPYC" across generations), e.g. "AMD EPYC (family 26, model 2)"; "unknown" where unreadable.
std::string cpu_model();

}  // namespace ddpg
