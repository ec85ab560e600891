// Fuzz target: a config file (YAML) as `ddpg train --config` reads it. Any input may be refused,
// only with ddpg::Error; an accepted one must write back (to_yaml) to YAML that reads back to
// itself.
#include <cstdlib>

#include "ddpg/config.h"
#include "fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ddpg;
  Config c;
  ConfigErrors errors;
  try {
    apply_yaml(c, fuzz::as_text(data, size), "fuzz.yaml", errors);
    validate(c, errors);
  } catch (const Error&) {
    return 0;
  }
  if (!errors.empty()) return 0;
  const std::string written = to_yaml(c);
  Config back;
  ConfigErrors back_errors;
  apply_yaml(back, written, "written.yaml", back_errors);
  if (!back_errors.empty() || to_yaml(back) != written) std::abort();  // not a round trip
  return 0;
}
