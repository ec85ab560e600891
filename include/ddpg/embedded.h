// Files compiled into the binary (configs/, envs/mujoco/assets/), looked up by their path relative
// to the source tree, so that an installed or moved binary needs nothing beside it.
#pragma once

#include <map>
#include <string>

namespace ddpg {

const std::map<std::string, std::string>& embedded_files();
// The file's text, or nullptr when no such file was embedded.
const std::string* embedded_file(const std::string& path);

}  // namespace ddpg
