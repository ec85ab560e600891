// TensorBoard event files: see tensorboard.h.
#include "src/tensorboard.h"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

#include "ddpg/io.h"

namespace ddpg {
namespace {

// Protobuf wire format, the few pieces an Event needs.
void varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}
void key(std::string& out, int field, int wire) { varint(out, (uint64_t(field) << 3) | wire); }
void bytes_field(std::string& out, int field, const std::string& b) {
  key(out, field, 2);
  varint(out, b.size());
  out += b;
}
template <class T>
void fixed(std::string& out, int field, T v) {  // double: wire 1, float: wire 5
  key(out, field, sizeof(T) == 8 ? 1 : 5);
  char raw[sizeof(T)];
  std::memcpy(raw, &v, sizeof(T));
  out.append(raw, sizeof(T));
}

double wall_time() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string event_head(int64_t step) {
  std::string e;
  fixed<double>(e, 1, wall_time());
  key(e, 2, 0);
  varint(e, static_cast<uint64_t>(step));
  return e;
}

}  // namespace

uint32_t masked_crc32c(const void* data, size_t n) {
  const uint32_t c = crc32c(data, n);
  return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

EventWriter::EventWriter(const std::string& dir, int64_t resumed_at) {
  char host[256] = "localhost";
  gethostname(host, sizeof host - 1);
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  path_ = dir + "/events.out.tfevents." +
          std::to_string(std::chrono::duration_cast<std::chrono::seconds>(now).count()) + "." +
          host + "." + std::to_string(::getpid());
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) throw Error("cannot open the TensorBoard event file '" + path_ + "'");
  std::string first = event_head(0);
  bytes_field(first, 3, "brain.Event:2");
  record(first);
  if (resumed_at >= 0) {
    std::string log;  // SessionLog { status: START }
    key(log, 1, 0);
    varint(log, 1);
    std::string e = event_head(resumed_at);
    bytes_field(e, 6, log);
    record(e);
  }
}

EventWriter::~EventWriter() {
  if (fd_ >= 0) ::close(fd_);
}

void EventWriter::scalars(int64_t step, const std::vector<std::pair<std::string, double>>& values) {
  std::string summary;
  for (const auto& [tag, v] : values) {
    std::string value;
    bytes_field(value, 1, tag);
    fixed<float>(value, 2, static_cast<float>(v));
    bytes_field(summary, 1, value);
  }
  std::string e = event_head(step);
  bytes_field(e, 5, summary);
  record(e);
}

void EventWriter::record(const std::string& event) {
  std::string r;
  const uint64_t len = event.size();
  char head[12];
  std::memcpy(head, &len, 8);
  const uint32_t len_crc = masked_crc32c(head, 8);
  std::memcpy(head + 8, &len_crc, 4);
  r.append(head, 12);
  r += event;
  const uint32_t data_crc = masked_crc32c(event.data(), event.size());
  r.append(reinterpret_cast<const char*>(&data_crc), 4);
  write_all(fd_, r.data(), r.size(), path_);
}

}  // namespace ddpg
