// Lookup into the generated table of embedded files.
#include "ddpg/embedded.h"

namespace ddpg {

const std::string* embedded_file(const std::string& path) {
  const auto& files = embedded_files();
  auto it = files.find(path);
  return it == files.end() ? nullptr : &it->second;
}

}  // namespace ddpg
