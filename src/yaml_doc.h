// One YAML document from text, read safely (config files, sweep grids).
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>

namespace ddpg {

// The single document of `text` (a Null node when the text is empty). Throws Error naming
// `origin` and the line when the YAML is malformed or holds more than one document (--- ...).
// yaml-cpp 0.7's LoadAll loops forever on some malformed input (a lone ','), so documents are
// counted here with a guard: a document must start past where the previous one started.
YAML::Node load_single_document(const std::string& text, const std::string& origin);

}  // namespace ddpg
