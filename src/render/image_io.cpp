// The image files of render.h: PNG, frame strips, animated GIF, and MP4 through ffmpeg.
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

#include "ddpg/io.h"
#include "ddpg/render.h"

namespace ddpg {
namespace {

void put_u32_be(std::string& out, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<char>((v >> s) & 0xff));
}
void put_u16_le(std::string& out, int v) {
  out.push_back(static_cast<char>(v & 0xff));
  out.push_back(static_cast<char>((v >> 8) & 0xff));
}

// One PNG chunk: length, type, data, CRC-32 of type and data.
void png_chunk(std::string& out, const char* type, const std::string& data) {
  put_u32_be(out, static_cast<uint32_t>(data.size()));
  std::string body = type + data;
  out += body;
  put_u32_be(out, crc32(body.data(), body.size()));
}

int paeth(int a, int b, int c) {
  const int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
  return pa <= pb && pa <= pc ? a : (pb <= pc ? b : c);
}

}  // namespace

std::string encode_png(const Image& image) {
  const int w = image.width, h = image.height;
  const size_t row = static_cast<size_t>(w) * 3;
  // each row with the filter whose output has the smallest sum of |signed bytes| (libpng's
  // heuristic): a filter-type byte, then the filtered bytes
  std::string raw;
  raw.reserve((row + 1) * h);
  std::vector<uint8_t> zero(row, 0), best(row), trial(row);
  for (int y = 0; y < h; ++y) {
    const uint8_t* cur = image.pixel(0, y);
    const uint8_t* up = y > 0 ? image.pixel(0, y - 1) : zero.data();
    long best_cost = -1;
    int best_type = 0;
    for (int type = 0; type < 5; ++type) {
      long cost = 0;
      for (size_t i = 0; i < row; ++i) {
        const int a = i >= 3 ? cur[i - 3] : 0, b = up[i], c = i >= 3 ? up[i - 3] : 0;
        int pred = 0;
        switch (type) {
          case 1:
            pred = a;
            break;
          case 2:
            pred = b;
            break;
          case 3:
            pred = (a + b) / 2;
            break;
          case 4:
            pred = paeth(a, b, c);
            break;
          default:
            break;
        }
        trial[i] = static_cast<uint8_t>(cur[i] - pred);
        cost += std::abs(static_cast<int8_t>(trial[i]));
      }
      if (best_cost < 0 || cost < best_cost) {
        best_cost = cost;
        best_type = type;
        best.swap(trial);
      }
    }
    raw.push_back(static_cast<char>(best_type));
    raw.append(reinterpret_cast<const char*>(best.data()), row);
  }
  uLongf packed_size = compressBound(raw.size());
  std::string packed(packed_size, '\0');
  if (compress2(reinterpret_cast<Bytef*>(&packed[0]), &packed_size,
                reinterpret_cast<const Bytef*>(raw.data()), raw.size(), 6) != Z_OK) {
    throw Error("zlib could not compress a " + std::to_string(w) + " x " + std::to_string(h) +
                " image");
  }
  packed.resize(packed_size);

  std::string out = "\x89PNG\r\n\x1a\n";
  std::string ihdr;
  put_u32_be(ihdr, static_cast<uint32_t>(w));
  put_u32_be(ihdr, static_cast<uint32_t>(h));
  ihdr += std::string("\x08\x02\x00\x00\x00", 5);  // 8 bits, RGB, deflate, filters, no interlace
  png_chunk(out, "IHDR", ihdr);
  png_chunk(out, "IDAT", packed);
  png_chunk(out, "IEND", "");
  return out;
}

Image frame_strip(const std::vector<Image>& frames, int gap) {
  if (frames.empty()) throw Error("a frame strip needs at least one frame");
  const int w = frames[0].width, h = frames[0].height, n = static_cast<int>(frames.size());
  Image strip(n * w + (n - 1) * gap, h);
  std::fill(strip.rgb.begin(), strip.rgb.end(), 128);
  for (int k = 0; k < n; ++k) {
    for (int y = 0; y < h; ++y) {
      std::memcpy(strip.pixel(k * (w + gap), y), frames[k].pixel(0, y), static_cast<size_t>(w) * 3);
    }
  }
  return strip;
}

// ---------------------------------------------------------------------------------------------
// GIF

namespace {

constexpr int kColours15 = 1 << 15;

uint16_t to15(const uint8_t* p) { return ((p[0] >> 3) << 10) | ((p[1] >> 3) << 5) | (p[2] >> 3); }
int channel15(uint16_t c, int k) { return (c >> (10 - 5 * k)) & 31; }

// Median cut: at most 256 colours for the 15-bit colours in `histogram`, each the mean of the
// 8-bit colours its box holds (`sums`: their sum per 15-bit colour), so that pictures of at most
// 256 colours keep them exactly; `index` maps every used 15-bit colour to its box.
std::vector<std::array<uint8_t, 3>> median_cut(const std::vector<uint32_t>& histogram,
                                               const std::vector<std::array<uint64_t, 3>>& sums,
                                               std::vector<uint8_t>& index) {
  std::vector<uint16_t> colours;
  for (int c = 0; c < kColours15; ++c) {
    if (histogram[c]) colours.push_back(static_cast<uint16_t>(c));
  }
  struct Box {
    size_t begin, end;  // into colours
  };
  std::vector<Box> boxes = {{0, colours.size()}};
  auto widest = [&](const Box& b, int& axis) {
    int best = -1;
    for (int k = 0; k < 3; ++k) {
      int lo = 31, hi = 0;
      for (size_t i = b.begin; i < b.end; ++i) {
        lo = std::min(lo, channel15(colours[i], k));
        hi = std::max(hi, channel15(colours[i], k));
      }
      if (hi - lo > best) {
        best = hi - lo;
        axis = k;
      }
    }
    return best;
  };
  while (boxes.size() < 256) {
    // split the box with the most pixels among those with more than one colour
    int pick = -1;
    uint64_t most = 0;
    for (size_t b = 0; b < boxes.size(); ++b) {
      if (boxes[b].end - boxes[b].begin < 2) continue;
      uint64_t n = 0;
      for (size_t i = boxes[b].begin; i < boxes[b].end; ++i) n += histogram[colours[i]];
      if (pick < 0 || n > most) {
        pick = static_cast<int>(b);
        most = n;
      }
    }
    if (pick < 0) break;
    Box box = boxes[pick];
    int axis = 0;
    widest(box, axis);
    std::sort(colours.begin() + box.begin, colours.begin() + box.end,
              [&](uint16_t a, uint16_t b) { return channel15(a, axis) < channel15(b, axis); });
    // the weighted median, leaving at least one colour on each side
    uint64_t half = most / 2, acc = 0;
    size_t cut = box.begin + 1;
    for (size_t i = box.begin; i + 1 < box.end; ++i) {
      acc += histogram[colours[i]];
      cut = i + 1;
      if (acc >= half) break;
    }
    boxes[pick] = {box.begin, cut};
    boxes.push_back({cut, box.end});
  }
  std::vector<std::array<uint8_t, 3>> palette;
  index.assign(kColours15, 0);
  for (const Box& b : boxes) {
    uint64_t sum[3] = {0, 0, 0}, n = 0;
    for (size_t i = b.begin; i < b.end; ++i) {
      for (int k = 0; k < 3; ++k) sum[k] += sums[colours[i]][k];
      n += histogram[colours[i]];
      index[colours[i]] = static_cast<uint8_t>(palette.size());
    }
    std::array<uint8_t, 3> rgb{};
    for (int k = 0; k < 3; ++k) rgb[k] = static_cast<uint8_t>(n > 0 ? (sum[k] + n / 2) / n : 0);
    palette.push_back(rgb);
  }
  if (palette.empty()) palette.push_back({0, 0, 0});
  return palette;
}

// GIF's variable-width LZW (8-bit symbols, codes of 9 to 12 bits, LSB first), in sub-blocks.
class LzwWriter {
 public:
  explicit LzwWriter(std::string& out) : out_(out) {}

  void encode(const std::vector<uint8_t>& symbols) {
    out_.push_back(8);  // minimum code size
    reset();
    emit(kClear);
    int w = -1;
    for (const uint8_t k : symbols) {
      if (w < 0) {
        w = k;
        continue;
      }
      const uint32_t key = (static_cast<uint32_t>(w) << 8) | k;
      const auto it = table_.find(key);
      if (it != table_.end()) {
        w = it->second;
        continue;
      }
      emit(w);
      if (next_ < 4096) {
        table_.emplace(key, next_++);
        if (next_ > (1 << bits_) && bits_ < 12) ++bits_;
      } else {
        emit(kClear);
        reset();
      }
      w = k;
    }
    if (w >= 0) emit(w);
    emit(kEnd);
    if (nbits_ > 0) block_.push_back(static_cast<char>(acc_ & 0xff));
    flush_block();
    out_.push_back(0);  // block terminator
  }

 private:
  static constexpr int kClear = 256, kEnd = 257;

  void reset() {
    table_.clear();
    next_ = 258;
    bits_ = 9;
  }
  void emit(int code) {
    acc_ |= static_cast<uint32_t>(code) << nbits_;
    nbits_ += bits_;
    while (nbits_ >= 8) {
      block_.push_back(static_cast<char>(acc_ & 0xff));
      acc_ >>= 8;
      nbits_ -= 8;
      if (block_.size() == 255) flush_block();
    }
  }
  void flush_block() {
    if (block_.empty()) return;
    out_.push_back(static_cast<char>(block_.size()));
    out_ += block_;
    block_.clear();
  }

  std::string& out_;
  std::unordered_map<uint32_t, int> table_;
  int next_ = 258, bits_ = 9;
  uint32_t acc_ = 0;
  int nbits_ = 0;
  std::string block_;
};

}  // namespace

GifWriter::GifWriter(int width, int height)
    : width_(width), height_(height), histogram_(kColours15, 0), sums_(kColours15, {0, 0, 0}) {}

void GifWriter::add(const Image& frame, int delay_cs) {
  if (frame.width != width_ || frame.height != height_) {
    throw Error("GIF frames must all be " + std::to_string(width_) + " x " +
                std::to_string(height_));
  }
  std::vector<uint16_t> q(static_cast<size_t>(width_) * height_);
  for (size_t i = 0; i < q.size(); ++i) {
    const uint8_t* p = &frame.rgb[3 * i];
    q[i] = to15(p);
    ++histogram_[q[i]];
    for (int k = 0; k < 3; ++k) sums_[q[i]][k] += p[k];
  }
  frames_.push_back(std::move(q));
  delays_.push_back(std::clamp(delay_cs, 2, 65535));
}

std::string GifWriter::finish() {
  std::vector<uint8_t> index;
  std::vector<std::array<uint8_t, 3>> palette = median_cut(histogram_, sums_, index);
  palette.resize(256, {0, 0, 0});

  std::string out = "GIF89a";
  put_u16_le(out, width_);
  put_u16_le(out, height_);
  out.push_back(static_cast<char>(0xf7));  // global colour table of 256, 8-bit colour resolution
  out.push_back(0);                        // background colour index
  out.push_back(0);                        // square pixels
  for (const auto& c : palette) out.append(reinterpret_cast<const char*>(c.data()), 3);
  // NETSCAPE2.0: loop forever
  out += std::string("\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00", 19);

  std::vector<uint8_t> prev, cur(static_cast<size_t>(width_) * height_), symbols;
  for (size_t f = 0; f < frames_.size(); ++f) {
    for (size_t i = 0; i < cur.size(); ++i) cur[i] = index[frames_[f][i]];
    std::vector<uint16_t>().swap(frames_[f]);  // free as we go
    // the rectangle that changed since the previous frame (all of the first; 1 × 1 when none)
    int x0 = 0, y0 = 0, x1 = width_ - 1, y1 = height_ - 1;
    if (!prev.empty()) {
      x0 = width_;
      y0 = height_;
      x1 = y1 = -1;
      for (int y = 0; y < height_; ++y) {
        for (int x = 0; x < width_; ++x) {
          const size_t i = static_cast<size_t>(y) * width_ + x;
          if (cur[i] != prev[i]) {
            x0 = std::min(x0, x);
            x1 = std::max(x1, x);
            y0 = std::min(y0, y);
            y1 = std::max(y1, y);
          }
        }
      }
      if (x1 < 0) x0 = x1 = y0 = y1 = 0;
    }
    // graphic control: no disposal (the next frame draws over this one), the delay
    out += std::string("\x21\xf9\x04\x04", 4);
    put_u16_le(out, delays_[f]);
    out += std::string("\x00\x00", 2);
    // image descriptor, no local colour table, not interlaced
    out.push_back(0x2c);
    put_u16_le(out, x0);
    put_u16_le(out, y0);
    put_u16_le(out, x1 - x0 + 1);
    put_u16_le(out, y1 - y0 + 1);
    out.push_back(0);
    symbols.clear();
    for (int y = y0; y <= y1; ++y) {
      const uint8_t* r = &cur[static_cast<size_t>(y) * width_];
      symbols.insert(symbols.end(), r + x0, r + x1 + 1);
    }
    LzwWriter(out).encode(symbols);
    prev.swap(cur);
    cur.resize(prev.size());
  }
  out.push_back(0x3b);  // trailer
  frames_.clear();
  delays_.clear();
  return out;
}

// ---------------------------------------------------------------------------------------------
// MP4

std::string find_ffmpeg() {
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    const size_t end = std::min(dirs.find(':', start), dirs.size());
    const std::string dir = end > start ? dirs.substr(start, end - start) : ".";
    const std::string candidate = dir + "/ffmpeg";
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return "";
}

std::string require_ffmpeg(const std::string& out) {
  std::string ffmpeg = find_ffmpeg();
  if (ffmpeg.empty()) {
    throw Error("writing '" + out +
                "' needs ffmpeg, which is not on PATH: install it (apt-get install ffmpeg), or "
                "write a .gif or .png, which need nothing else");
  }
  return ffmpeg;
}

Mp4Writer::Mp4Writer(const std::string& path, int width, int height, double fps)
    : path_(path),
      tmp_(path + ".tmp." + std::to_string(::getpid())),
      width_(width),
      height_(height) {
  if (width % 2 || height % 2) {
    throw Error("an MP4 (yuv420p) needs an even width and height, got " + std::to_string(width) +
                " x " + std::to_string(height));
  }
  const std::string ffmpeg = require_ffmpeg(path);
  char size[32], rate[32];
  std::snprintf(size, sizeof size, "%dx%d", width, height);
  std::snprintf(rate, sizeof rate, "%.6f", fps);
  std::vector<std::string> args = {
      ffmpeg,      "-hide_banner", "-loglevel", "error",    "-y",         "-f",   "rawvideo",
      "-pix_fmt",  "rgb24",        "-s",        size,       "-framerate", rate,   "-i",
      "pipe:0",    "-c:v",         "libx264",   "-pix_fmt", "yuv420p",    "-crf", "20",
      "-movflags", "+faststart",   "-f",        "mp4",      tmp_};
  // a socket rather than a pipe, so that a write after ffmpeg died fails with EPIPE through
  // MSG_NOSIGNAL instead of raising SIGPIPE in this process
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    throw Error(std::string("cannot make a socket pair for ffmpeg: ") + std::strerror(errno));
  }
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    throw Error(std::string("cannot start ffmpeg: ") + std::strerror(errno));
  }
  if (pid == 0) {
    ::dup2(fds[1], 0);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(ffmpeg.c_str(), argv.data());
    _exit(127);
  }
  ::close(fds[1]);
  pid_ = pid;
  fd_ = fds[0];
}

void Mp4Writer::add(const Image& frame) {
  if (frame.width != width_ || frame.height != height_) {
    throw Error("MP4 frames must all be " + std::to_string(width_) + " x " +
                std::to_string(height_));
  }
  const char* p = reinterpret_cast<const char*>(frame.rgb.data());
  size_t left = frame.rgb.size();
  while (left > 0) {
    const ssize_t n = ::send(fd_, p, left, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw Error("ffmpeg stopped reading frames for '" + path_ + "' (see its message)");
    p += n;
    left -= static_cast<size_t>(n);
  }
}

void Mp4Writer::stop() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  int status = 0;
  if (pid_ > 0) {
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
  pid_ = -1;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    ::unlink(tmp_.c_str());
    throw Error("ffmpeg failed writing '" + path_ + "' (exit status " +
                std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) +
                "; its message is above); is Debian's ffmpeg, with libx264, installed?");
  }
}

void Mp4Writer::finish() {
  stop();
  const int fd = ::open(tmp_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
  if (::rename(tmp_.c_str(), path_.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    ::unlink(tmp_.c_str());
    throw Error("cannot rename '" + tmp_ + "' to '" + path_ + "': " + why);
  }
}

Mp4Writer::~Mp4Writer() {
  if (pid_ < 0) return;
  ::kill(pid_, SIGTERM);
  try {
    stop();
  } catch (const Error&) {
    // abandoned: stop() removed the temporary
  }
  ::unlink(tmp_.c_str());
}

}  // namespace ddpg
