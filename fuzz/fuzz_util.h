// Helpers shared by the fuzz targets (fuzz/README.md): a scratch folder per process, and archive
// framing so that mutated bodies get past the header and checksum to the parsers behind them.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <string>

#include "ddpg/io.h"

namespace ddpg::fuzz {

// A folder of this process's own under /tmp, made once.
inline const std::string& scratch_dir() {
  static const std::string dir = [] {
    char tmpl[] = "/tmp/ddpg_fuzz_XXXXXX";
    return std::string(mkdtemp(tmpl));
  }();
  return dir;
}

inline std::string as_text(const uint8_t* data, size_t size) {
  return std::string(reinterpret_cast<const char*>(data), size);
}

// An archive file from a fuzz input. Its first byte chooses: odd → the rest is the whole file
// (header and checksum checks); even → the rest is the body, framed with `magic`, `version` and a
// correct checksum (the parsers behind them).
inline std::string archive_from(const uint8_t* data, size_t size, const std::string& magic,
                                uint32_t version) {
  if (size == 0) return "";
  if (data[0] & 1) return as_text(data + 1, size - 1);
  std::string file = magic;
  file.append(reinterpret_cast<const char*>(&version), sizeof version);
  file.append(reinterpret_cast<const char*>(data + 1), size - 1);
  const uint32_t crc = crc32(file.data(), file.size());
  file.append(reinterpret_cast<const char*>(&crc), sizeof crc);
  return file;
}

}  // namespace ddpg::fuzz
