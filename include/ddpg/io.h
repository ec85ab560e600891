// io: errors, atomic files, and the little binary archive that checkpoints are made of.
//
// Every file the project writes for a user (checkpoints, configs, summaries) goes through
// write_file_atomic: a temporary beside the target, fsync, rename, so a crash leaves either the old
// file or the new one, never a partial one. Archives start with a magic word and a format version,
// and end with a checksum of everything before it, so that a truncated or foreign file is refused
// with a message instead of being half-read.
#pragma once

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

namespace ddpg {

// The one exception type of the project: the message names the problem and, where there is one,
// the fix. The command line prints it and exits non-zero.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A run or sweep stopped by a signal (SIGINT, SIGTERM, SIGHUP) after saving its state; the command
// line exits with 128 + the signal's number, as shells report a process killed by it.
class Interrupted : public Error {
 public:
  Interrupted(const std::string& what, int signal) : Error(what), signal_(signal) {}
  int signal() const { return signal_; }

 private:
  int signal_;
};

// Writes `data` to `path` atomically (temporary + fsync + rename). Throws Error on failure.
void write_file_atomic(const std::string& path, const std::string& data);
// Reads a whole regular file. Throws Error naming the path when it cannot be read, is not a
// regular file (a directory, device or pipe), or is larger than `max_bytes` (0: no limit).
std::string read_file(const std::string& path, uint64_t max_bytes = 0);
// The limit for text inputs a person writes (config and grid files, action CSVs): 16 MiB.
constexpr uint64_t kTextFileLimit = 16u << 20;
bool file_exists(const std::string& path);
// Creates a directory and its parents (like mkdir -p).
void make_dirs(const std::string& path);

// Appends lines to a log file, one write() per line so a crash never leaves half a line, and
// can cut the file back to a length recorded in a checkpoint.
// Writes all n bytes to fd (retrying short writes and EINTR); throws Error naming `path`.
void write_all(int fd, const char* p, uint64_t n, const std::string& path);

class LineLog {
 public:
  LineLog() = default;
  ~LineLog();
  LineLog(const LineLog&) = delete;
  LineLog& operator=(const LineLog&) = delete;

  // Opens `path` for appending. With `header` and an empty file, writes the header line first.
  void open(const std::string& path, const std::string& header);
  void append(const std::string& line);  // `line` without the newline
  uint64_t size() const { return size_; }
  // Cuts the file back to `size` bytes (used on resume to drop rows past the checkpoint).
  void truncate_to(uint64_t size);
  void close();

 private:
  int fd_ = -1;
  uint64_t size_ = 0;
  std::string path_;
};

// Binary archive writer: little-endian fields appended to a string.
class ArchiveWriter {
 public:
  ArchiveWriter(const std::string& magic, uint32_t version);
  void u64(uint64_t v) { raw(&v, sizeof v); }
  void i64(int64_t v) { raw(&v, sizeof v); }
  void f64(double v) { raw(&v, sizeof v); }
  void boolean(bool v) { u64(v ? 1 : 0); }
  void str(const std::string& s) {
    u64(s.size());
    raw(s.data(), s.size());
  }
  // A named section marker, checked on read so that a mismatched layout fails loudly.
  void tag(const std::string& name) { str(name); }
  void floats(const float* p, uint64_t n) {
    u64(n);
    raw(p, n * sizeof(float));
  }
  void doubles(const double* p, uint64_t n) {
    u64(n);
    raw(p, n * sizeof(double));
  }
  void doubles(const std::vector<double>& v) { doubles(v.data(), v.size()); }
  void raw(const void* p, uint64_t n) { buf_.append(static_cast<const char*>(p), n); }
  // The finished archive, with its checksum appended.
  std::string finish();

 private:
  std::string buf_;
};

// Binary archive reader: checks magic, version and checksum up front, then every read checks
// bounds, so a damaged file raises Error instead of reading garbage.
class ArchiveReader {
 public:
  // `what` names the file in messages (usually its path).
  // Reads format versions oldest_version..version (oldest_version 0: exactly `version`).
  ArchiveReader(std::string data, const std::string& magic, uint32_t version,
                const std::string& what, uint32_t oldest_version = 0);
  uint32_t version() const { return version_; }
  uint64_t u64() { return pod<uint64_t>(); }
  int64_t i64() { return pod<int64_t>(); }
  double f64() { return pod<double>(); }
  bool boolean() { return u64() != 0; }
  std::string str();
  void expect_tag(const std::string& name);
  // Reads exactly `n` floats/doubles, failing when the stored count differs (a shape mismatch).
  void floats(float* p, uint64_t n, const std::string& field);
  void doubles(double* p, uint64_t n, const std::string& field);
  std::vector<double> doubles_any();
  uint64_t peek_count() const;
  void raw(void* p, uint64_t n);
  bool at_end() const { return pos_ == end_; }
  uint64_t remaining() const { return end_ - pos_; }  // bytes left before the checksum
  const std::string& what() const { return what_; }

 private:
  template <class T>
  T pod() {
    T v;
    raw(&v, sizeof v);
    return v;
  }
  std::string data_;
  uint64_t pos_ = 0;
  uint64_t end_ = 0;
  std::string what_;
  uint32_t version_ = 0;
};

// CRC-32 (IEEE) of a byte range.
uint32_t crc32(const void* data, uint64_t n);
// CRC-32C (Castagnoli) of a byte range.
uint32_t crc32c(const void* data, uint64_t n);

// Shortest decimal text that reads back to the same double ("%.17g" trimmed).
std::string format_double(double v);

}  // namespace ddpg
