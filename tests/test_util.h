// Small helpers shared by the unit tests.
#pragma once

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

}  // namespace ddpg
