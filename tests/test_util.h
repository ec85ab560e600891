// Small helpers shared by the unit tests.
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <functional>
#include <string>

#include "ddpg/io.h"

namespace ddpg {

// The message of the ddpg::Error that `fn` throws, or "" when it throws none.
inline std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

#ifdef DDPG_BINARY
struct CommandResult {
  int exit_code;
  std::string output;  // stdout and stderr
};

// Runs the `ddpg` under test (DDPG_BINARY) with `args`, after `env_prefix` (e.g. "VAR=value").
inline CommandResult run_command(const std::string& args, const std::string& env_prefix = "") {
  const std::string cmd = env_prefix + " " + std::string(DDPG_BINARY) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}
#endif

}  // namespace ddpg
