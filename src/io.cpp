// io: atomic files, line logs and the checked binary archive.
#include "ddpg/io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace ddpg {
namespace {

std::string errno_text() { return std::strerror(errno); }

std::string parent_dir(const std::string& path) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

void write_all(int fd, const char* p, uint64_t n, const std::string& path) {
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      throw Error("cannot write '" + path + "': " + errno_text());
    }
    p += w;
    n -= static_cast<uint64_t>(w);
  }
}

void write_file_atomic(const std::string& path, const std::string& data) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw Error("cannot create '" + tmp + "': " + errno_text());
  try {
    write_all(fd, data.data(), data.size(), tmp);
    if (::fsync(fd) != 0) throw Error("cannot sync '" + tmp + "': " + errno_text());
  } catch (...) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = errno_text();
    ::unlink(tmp.c_str());
    throw Error("cannot rename '" + tmp + "' to '" + path + "': " + why);
  }
  // Make the rename itself durable.
  const int dfd = ::open(parent_dir(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

std::string read_file(const std::string& path, uint64_t max_bytes) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) throw Error("cannot read '" + path + "': " + errno_text());
  if (!S_ISREG(st.st_mode)) {
    throw Error("'" + path + "' is not a regular file (a directory, device or pipe); name a file");
  }
  if (max_bytes > 0 && static_cast<uint64_t>(st.st_size) > max_bytes) {
    throw Error("'" + path + "' is " + std::to_string(st.st_size) + " bytes, more than the " +
                std::to_string(max_bytes >> 20) +
                " MiB a text input may have; is it the right file?");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot read '" + path + "': " + errno_text());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool file_exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

void make_dirs(const std::string& path) {
  if (path.empty()) return;
  std::string partial;
  std::stringstream ss(path);
  std::string part;
  if (path[0] == '/') partial = "/";
  while (std::getline(ss, part, '/')) {
    if (part.empty()) continue;
    partial += part;
    if (::mkdir(partial.c_str(), 0755) != 0 && errno != EEXIST) {
      throw Error("cannot create directory '" + partial + "': " + errno_text());
    }
    partial += "/";
  }
}

LineLog::~LineLog() { close(); }

void LineLog::open(const std::string& path, const std::string& header) {
  close();
  path_ = path;
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) throw Error("cannot open log '" + path + "': " + errno_text());
  struct stat st;
  ::fstat(fd_, &st);
  size_ = static_cast<uint64_t>(st.st_size);
  if (size_ == 0 && !header.empty()) append(header);
}

void LineLog::append(const std::string& line) {
  const std::string full = line + "\n";
  write_all(fd_, full.data(), full.size(), path_);
  size_ += full.size();
}

void LineLog::truncate_to(uint64_t size) {
  if (::ftruncate(fd_, static_cast<off_t>(size)) != 0) {
    throw Error("cannot truncate log '" + path_ + "': " + errno_text());
  }
  size_ = size;
}

void LineLog::close() {
  if (fd_ >= 0) {
    ::fsync(fd_);
    ::close(fd_);
  }
  fd_ = -1;
}

namespace {

// A reflected CRC-32 with polynomial `Poly` (reversed form), initial value and final xor ~0.
template <uint32_t Poly>
uint32_t reflected_crc32(const void* data, uint64_t n) {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? Poly ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  uint32_t c = 0xFFFFFFFFu;
  const auto* p = static_cast<const unsigned char*>(data);
  for (uint64_t i = 0; i < n; ++i) c = table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

}  // namespace

uint32_t crc32(const void* data, uint64_t n) { return reflected_crc32<0xEDB88320u>(data, n); }

uint32_t crc32c(const void* data, uint64_t n) { return reflected_crc32<0x82F63B78u>(data, n); }

ArchiveWriter::ArchiveWriter(const std::string& magic, uint32_t version) {
  buf_.reserve(1 << 16);
  raw(magic.data(), magic.size());
  raw(&version, sizeof version);
}

std::string ArchiveWriter::finish() {
  const uint32_t c = crc32(buf_.data(), buf_.size());
  buf_.append(reinterpret_cast<const char*>(&c), sizeof c);
  return std::move(buf_);
}

ArchiveReader::ArchiveReader(std::string data, const std::string& magic, uint32_t version,
                             const std::string& what, uint32_t oldest_version)
    : data_(std::move(data)), what_(what) {
  const uint64_t head = magic.size() + sizeof(uint32_t);
  if (data_.size() < head + sizeof(uint32_t) || data_.compare(0, magic.size(), magic) != 0) {
    throw Error("'" + what_ + "' is not a " + magic + " file (wrong or missing header)");
  }
  uint32_t stored_crc;
  std::memcpy(&stored_crc, data_.data() + data_.size() - sizeof stored_crc, sizeof stored_crc);
  end_ = data_.size() - sizeof stored_crc;
  if (crc32(data_.data(), end_) != stored_crc) {
    throw Error("'" + what_ +
                "' is damaged or truncated (checksum mismatch); use an earlier checkpoint or "
                "start the run again");
  }
  uint32_t v;
  std::memcpy(&v, data_.data() + magic.size(), sizeof v);
  const uint32_t oldest = oldest_version == 0 ? version : oldest_version;
  if (v < oldest || v > version) {
    throw Error("'" + what_ + "' has format version " + std::to_string(v) + ", this build reads " +
                (oldest == version ? std::to_string(version)
                                   : std::to_string(oldest) + " to " + std::to_string(version)));
  }
  version_ = v;
  pos_ = head;
}

void ArchiveReader::raw(void* p, uint64_t n) {
  if (n > end_ - pos_) throw Error("'" + what_ + "' ends early (truncated or mismatched layout)");
  std::memcpy(p, data_.data() + pos_, n);
  pos_ += n;
}

std::string ArchiveReader::str() {
  const uint64_t n = u64();
  if (n > end_ - pos_) throw Error("'" + what_ + "' ends early (truncated or mismatched layout)");
  std::string s(data_.data() + pos_, n);
  pos_ += n;
  return s;
}

void ArchiveReader::expect_tag(const std::string& name) {
  const std::string got = str();
  if (got != name) {
    throw Error("'" + what_ + "': expected section '" + name + "' but found '" + got +
                "' (file from an incompatible build or run)");
  }
}

uint64_t ArchiveReader::peek_count() const {
  uint64_t n;
  if (sizeof n > end_ - pos_) throw Error("'" + what_ + "' ends early");
  std::memcpy(&n, data_.data() + pos_, sizeof n);
  return n;
}

void ArchiveReader::floats(float* p, uint64_t n, const std::string& field) {
  const uint64_t stored = u64();
  if (stored != n) {
    throw Error("'" + what_ + "': " + field + " has " + std::to_string(stored) +
                " values, expected " + std::to_string(n) +
                " (checkpoint from a different configuration?)");
  }
  raw(p, n * sizeof(float));
}

void ArchiveReader::doubles(double* p, uint64_t n, const std::string& field) {
  const uint64_t stored = u64();
  if (stored != n) {
    throw Error("'" + what_ + "': " + field + " has " + std::to_string(stored) +
                " values, expected " + std::to_string(n) +
                " (checkpoint from a different configuration?)");
  }
  raw(p, n * sizeof(double));
}

std::vector<double> ArchiveReader::doubles_any() {
  const uint64_t n = peek_count();
  if (n > (end_ - pos_) / sizeof(double)) throw Error("'" + what_ + "' ends early");
  std::vector<double> v(n);
  doubles(v.data(), n, "values");
  return v;
}

std::string format_double(double v) {
  char buf[32];
  for (int prec = 6; prec <= 17; ++prec) {
    std::snprintf(buf, sizeof buf, "%.*g", prec, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

}  // namespace ddpg
