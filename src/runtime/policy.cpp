// The dependency-free policy runtime: the policy-file reader and the forward pass. See
// include/ddpg/runtime/policy.h. This file uses the standard library only.
//
// The file layout it reads is the one src/agent.cpp writes (save_policy), little-endian:
//   "DDPGPOLI", u32 version (2 or 3)
//   i64 obs_dim, i64 act_dim, u64 n, n × i64 hidden width, str activation, str layer_norm
//   str "module:actor", u64 tensor count, per tensor: u64 count, count × f32
//     (per hidden layer W (out × in, row-major), b, [LayerNorm gain, bias]; then W_out, b_out)
//   u64 has_obs_norm, [str "obs_norm", f64 count, f64 clip, u64 n + n × f64 mean, u64 n + n × f64
//   m2] version 3: str "env", str env id, u64 n + n × f64 low, u64 n + n × f64 high u32 CRC-32
//   (IEEE, reflected) of everything before it
// where str is u64 length + bytes.
#include "ddpg/runtime/policy.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>

namespace ddpg::runtime {
namespace {

const char kMagic[] = "DDPGPOLI";
constexpr uint32_t kNewestVersion = 3, kOldestVersion = 2;
constexpr float kLayerNormEps = 1e-5f;  // as training (LibTorch's default)
constexpr float kLeakySlope = 0.01f;
constexpr double kNormEps = 1e-8;

uint32_t crc32(const char* p, size_t n) {
  static const auto table = [] {
    std::vector<uint32_t> t(256);
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; ++i) c = table[(c ^ static_cast<uint8_t>(p[i])) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

// Bounds-checked little-endian reads over the file's bytes (before the checksum).
class Reader {
 public:
  Reader(const std::string& data, size_t begin, size_t end, const std::string& what)
      : data_(data), pos_(begin), end_(end), what_(what) {}

  uint64_t u64() { return le(8); }
  int64_t i64() { return static_cast<int64_t>(le(8)); }
  double f64() {
    const uint64_t bits = le(8);
    double d;
    std::memcpy(&d, &bits, sizeof d);
    return d;
  }
  std::string str() {
    const uint64_t n = count(1, "a text field");
    std::string s = data_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  void expect(const std::string& tag) {
    const std::string got = str();
    if (got != tag) fail("expected section '" + tag + "', found '" + got + "'");
  }
  // A stored count followed by that many elements of `size` bytes, checked against the bytes left.
  uint64_t count(size_t size, const std::string& field) {
    const uint64_t n = u64();
    if (n > (end_ - pos_) / size) fail(field + " is longer than the file");
    return n;
  }
  void floats(float* out, uint64_t n, const std::string& field) {
    if (count(4, field) != n) fail(field + " has the wrong size");
    for (uint64_t i = 0; i < n; ++i) {
      const uint32_t bits = static_cast<uint32_t>(le(4));
      std::memcpy(&out[i], &bits, sizeof bits);
    }
  }
  std::vector<double> doubles(uint64_t n, const std::string& field) {
    if (count(8, field) != n) fail(field + " has the wrong size");
    std::vector<double> v(n);
    for (double& x : v) x = f64();
    return v;
  }
  [[noreturn]] void fail(const std::string& why) const {
    throw Error("'" + what_ + "': " + why + "; the policy file is damaged or not one");
  }

 private:
  uint64_t le(int n) {
    if (end_ - pos_ < static_cast<size_t>(n)) fail("it ends early");
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(data_[pos_ + i]);
    pos_ += n;
    return v;
  }
  const std::string& data_;
  size_t pos_, end_;
  const std::string& what_;
};

uint32_t read_u32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

// Weights are packed for streaming: the first out − out % kC columns in blocks of kC columns, each
// block in × kC (row i of the block: W[j0..j0+kC)[i]), then the remaining `tail` columns as rows
// of W (tail × in). A block is then read front to back, once per kR rows of the batch.
// (the kernels below are inlined into dense(), so that they are compiled for each of its targets)
#if defined(__GNUC__)
#define DDPG_RUNTIME_INLINE inline __attribute__((always_inline))
#else
#define DDPG_RUNTIME_INLINE inline
#endif

constexpr int kC = 32;  // columns per block: two AVX-512 or four AVX2 registers
constexpr int kR = 4;   // batch rows sharing one pass over a block
constexpr int kK = 4;   // one row: independent partial sums over i, to hide the FMA latency

// One row, columns [j0, j0 + kC): y = b + Σ_i x[i] · block[i].
DDPG_RUNTIME_INLINE void row_block(const float* x, int in, const float* block, const float* b,
                                   float* y) {
  float acc[kK][kC] = {};
  int i = 0;
  for (; i + kK <= in; i += kK) {
    for (int k = 0; k < kK; ++k) {
      const float* w = block + static_cast<size_t>(i + k) * kC;
      for (int c = 0; c < kC; ++c) acc[k][c] += x[i + k] * w[c];
    }
  }
  for (; i < in; ++i) {
    const float* w = block + static_cast<size_t>(i) * kC;
    for (int c = 0; c < kC; ++c) acc[0][c] += x[i] * w[c];
  }
  for (int c = 0; c < kC; ++c) {
    float sum = b[c];
    for (int k = 0; k < kK; ++k) sum += acc[k][c];
    y[c] = sum;
  }
}

// kR rows (x rows of stride in, y rows of stride out), columns [j0, j0 + kC).
DDPG_RUNTIME_INLINE void rows_block(const float* x, int in, const float* block, const float* b,
                                    float* y, int out) {
  float acc[kR][kC];
  for (int r = 0; r < kR; ++r)
    for (int c = 0; c < kC; ++c) acc[r][c] = b[c];
  for (int i = 0; i < in; ++i) {
    const float* w = block + static_cast<size_t>(i) * kC;
    for (int r = 0; r < kR; ++r) {
      const float xr = x[static_cast<size_t>(r) * in + i];
      for (int c = 0; c < kC; ++c) acc[r][c] += xr * w[c];
    }
  }
  for (int r = 0; r < kR; ++r)
    for (int c = 0; c < kC; ++c) y[static_cast<size_t>(r) * out + c] = acc[r][c];
}

// One row, one tail column: b + W[j] · x, in 16 partial sums.
DDPG_RUNTIME_INLINE float dot(const float* w, const float* x, int in, float b) {
  float acc[16] = {};
  int i = 0;
  for (; i + 16 <= in; i += 16)
    for (int c = 0; c < 16; ++c) acc[c] += w[i + c] * x[i + c];
  float sum = b;
  for (; i < in; ++i) sum += w[i] * x[i];
  for (int c = 0; c < 16; ++c) sum += acc[c];
  return sum;
}

// y (rows × out) = x (rows × in) · Wᵀ + b on the packed weights. Compiled for AVX-512 and AVX2 as
// well as the baseline, where GCC can choose the variant when the program loads.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#endif
void dense(const float* x, int rows, int in, const float* packed, const float* b, int out,
           float* y) {
  const int blocked = out - out % kC;
  const float* tail = packed + static_cast<size_t>(blocked) * in;
  int r = 0;
  for (; r + kR <= rows; r += kR) {
    const float* xr = x + static_cast<size_t>(r) * in;
    float* yr = y + static_cast<size_t>(r) * out;
    for (int j0 = 0; j0 < blocked; j0 += kC) {
      rows_block(xr, in, packed + static_cast<size_t>(j0) * in, b + j0, yr + j0, out);
    }
  }
  for (; r < rows; ++r) {
    const float* xr = x + static_cast<size_t>(r) * in;
    float* yr = y + static_cast<size_t>(r) * out;
    for (int j0 = 0; j0 < blocked; j0 += kC) {
      row_block(xr, in, packed + static_cast<size_t>(j0) * in, b + j0, yr + j0);
    }
  }
  for (r = 0; r < rows; ++r) {
    const float* xr = x + static_cast<size_t>(r) * in;
    float* yr = y + static_cast<size_t>(r) * out;
    for (int j = blocked; j < out; ++j) {
      yr[j] = dot(tail + static_cast<size_t>(j - blocked) * in, xr, in, b[j]);
    }
  }
}

// LayerNorm of one row in place, with the statistics summed in double as training does.
void layer_norm(float* y, int n, const float* gain, const float* beta) {
  double sum = 0.0;
  for (int j = 0; j < n; ++j) sum += y[j];
  const float mean = static_cast<float>(sum / n);
  double sq = 0.0;
  for (int j = 0; j < n; ++j) {
    const double c = y[j] - mean;
    sq += c * c;
  }
  const float r = static_cast<float>(1.0 / std::sqrt(sq / n + kLayerNormEps));
  for (int j = 0; j < n; ++j) y[j] = gain[j] * ((y[j] - mean) * r) + beta[j];
}

}  // namespace

Policy::Policy(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error("cannot open policy file '" + path + "' (does it exist?)");
  std::ostringstream ss;
  ss << f.rdbuf();
  *this = from_bytes(ss.str(), path);
}

Policy Policy::from_bytes(const std::string& data, const std::string& what) {
  const size_t head = sizeof kMagic - 1 + 4;
  if (data.size() < head + 4 || data.compare(0, sizeof kMagic - 1, kMagic) != 0) {
    throw Error("'" + what + "' is not a policy file (no DDPGPOLI header)");
  }
  const size_t end = data.size() - 4;
  if (crc32(data.data(), end) != read_u32(data.data() + end)) {
    throw Error("'" + what + "' is damaged or truncated (checksum mismatch)");
  }
  Policy p;
  PolicyInfo& info = p.info_;
  info.format_version = read_u32(data.data() + sizeof kMagic - 1);
  if (info.format_version < kOldestVersion || info.format_version > kNewestVersion) {
    throw Error("'" + what + "' has policy format version " + std::to_string(info.format_version) +
                "; this runtime reads versions 2 and 3");
  }
  Reader in(data, head, end, what);
  const int64_t obs_dim = in.i64(), act_dim = in.i64();
  const uint64_t n_hidden = in.u64();
  if (obs_dim <= 0 || act_dim <= 0 || obs_dim > (1 << 20) || act_dim > (1 << 20) || n_hidden > 64) {
    in.fail("implausible sizes in the header");
  }
  info.obs_dim = static_cast<int>(obs_dim);
  info.act_dim = static_cast<int>(act_dim);
  for (uint64_t i = 0; i < n_hidden; ++i) {
    const int64_t h = in.i64();
    if (h <= 0 || h > (1 << 20)) in.fail("implausible layer width " + std::to_string(h));
    info.hidden.push_back(static_cast<int>(h));
  }
  info.activation = in.str();
  if (info.activation == "relu") {
    p.act_ = Act::kRelu;
  } else if (info.activation == "tanh") {
    p.act_ = Act::kTanh;
  } else if (info.activation == "elu") {
    p.act_ = Act::kElu;
  } else if (info.activation == "leaky_relu") {
    p.act_ = Act::kLeakyRelu;
  } else {
    in.fail("unknown activation '" + info.activation + "'");
  }
  const std::string ln = in.str();
  if (ln != "none" && ln != "actor" && ln != "critic" && ln != "both") {
    in.fail("unknown layer_norm setting '" + ln + "'");
  }
  info.layer_norm = ln == "actor" || ln == "both";

  in.expect("module:actor");
  const uint64_t tensors = in.u64();
  const uint64_t per_hidden = info.layer_norm ? 4 : 2;
  if (tensors != per_hidden * n_hidden + 2) in.fail("the actor has the wrong number of tensors");
  int width = info.obs_dim;
  for (size_t i = 0; i <= n_hidden; ++i) {
    Layer L;
    L.in = width;
    L.out = i < n_hidden ? info.hidden[i] : info.act_dim;
    const std::string name = "layer " + std::to_string(i);
    // (checked against the bytes left before anything is allocated)
    if (static_cast<uint64_t>(L.in) * L.out > end) in.fail(name + " is larger than the file");
    std::vector<float> w(static_cast<size_t>(L.in) * L.out);  // out × in, row-major
    in.floats(w.data(), w.size(), name + " weight");
    L.packed.resize(w.size());
    const int blocked = L.out - L.out % kC;
    size_t k = 0;
    for (int j0 = 0; j0 < blocked; j0 += kC)
      for (int i = 0; i < L.in; ++i)
        for (int c = 0; c < kC; ++c) L.packed[k++] = w[static_cast<size_t>(j0 + c) * L.in + i];
    std::copy(w.begin() + static_cast<size_t>(blocked) * L.in, w.end(), L.packed.begin() + k);
    L.b.resize(L.out);
    in.floats(L.b.data(), L.out, name + " bias");
    if (info.layer_norm && i < n_hidden) {
      L.gain.resize(L.out);
      L.beta.resize(L.out);
      in.floats(L.gain.data(), L.out, name + " LayerNorm gain");
      in.floats(L.beta.data(), L.out, name + " LayerNorm bias");
    }
    p.widest_ = std::max({p.widest_, L.in, L.out});
    width = L.out;
    p.layers_.push_back(std::move(L));
  }

  info.obs_norm = in.u64() != 0;
  if (info.obs_norm) {
    in.expect("obs_norm");
    const double count = in.f64();
    p.clip_ = in.f64();
    p.mean_ = in.doubles(info.obs_dim, "observation mean");
    const std::vector<double> m2 = in.doubles(info.obs_dim, "observation variance");
    p.std_.resize(info.obs_dim);
    for (int i = 0; i < info.obs_dim; ++i) {
      const double var = count > 0 ? m2[i] / count : 1.0;
      p.std_[i] = std::sqrt(var + kNormEps);
    }
  }
  if (info.format_version >= 3) {
    in.expect("env");
    info.env_id = in.str();
    info.act_low = in.doubles(info.act_dim, "action low bounds");
    info.act_high = in.doubles(info.act_dim, "action high bounds");
    for (int i = 0; i < info.act_dim; ++i) {
      if (!std::isfinite(info.act_low[i]) || !std::isfinite(info.act_high[i]) ||
          info.act_low[i] > info.act_high[i]) {
        in.fail("action bounds of dimension " + std::to_string(i) + " are not finite and ordered");
      }
    }
  }
  p.reserve(1);
  return p;
}

void Policy::reserve(int rows) {
  if (rows <= rows_reserved_) return;
  x_.assign(static_cast<size_t>(rows) * widest_, 0.0f);
  y_.assign(static_cast<size_t>(rows) * widest_, 0.0f);
  u_.assign(static_cast<size_t>(rows) * info_.act_dim, 0.0f);
  rows_reserved_ = rows;
}

template <class T>
void Policy::normalise(const T* obs, int rows, float* z) const {
  const size_t n = static_cast<size_t>(rows) * info_.obs_dim;
  if (!info_.obs_norm) {
    for (size_t k = 0; k < n; ++k) z[k] = static_cast<float>(obs[k]);
    return;
  }
  for (size_t k = 0; k < n; k += info_.obs_dim) {
    for (int i = 0; i < info_.obs_dim; ++i) {
      const double v = (static_cast<double>(obs[k + i]) - mean_[i]) / std_[i];
      z[k + i] = static_cast<float>(std::fmax(-clip_, std::fmin(clip_, v)));
    }
  }
}

void Policy::forward(int rows) {
  float* a = x_.data();
  float* b = y_.data();
  for (size_t i = 0; i < layers_.size(); ++i) {
    const Layer& L = layers_[i];
    const bool last = i + 1 == layers_.size();
    float* dst = last ? u_.data() : b;
    dense(a, rows, L.in, L.packed.data(), L.b.data(), L.out, dst);
    const size_t n = static_cast<size_t>(rows) * L.out;
    if (last) {
      for (size_t k = 0; k < n; ++k) dst[k] = std::tanh(dst[k]);
      break;
    }
    if (!L.gain.empty()) {
      for (int r = 0; r < rows; ++r)
        layer_norm(dst + static_cast<size_t>(r) * L.out, L.out, L.gain.data(), L.beta.data());
    }
    switch (act_) {
      case Act::kRelu:
        for (size_t k = 0; k < n; ++k) dst[k] = dst[k] > 0.0f ? dst[k] : 0.0f;
        break;
      case Act::kTanh:
        for (size_t k = 0; k < n; ++k) dst[k] = std::tanh(dst[k]);
        break;
      case Act::kElu:
        for (size_t k = 0; k < n; ++k) dst[k] = dst[k] > 0.0f ? dst[k] : std::expm1(dst[k]);
        break;
      case Act::kLeakyRelu:
        for (size_t k = 0; k < n; ++k) dst[k] = dst[k] > 0.0f ? dst[k] : kLeakySlope * dst[k];
        break;
    }
    std::swap(a, b);
  }
}

template <class T>
void Policy::rescale(const float* unit, int rows, T* action) const {
  const int m = info_.act_dim;
  for (int r = 0; r < rows; ++r) {
    for (int j = 0; j < m; ++j) {
      const size_t k = static_cast<size_t>(r) * m + j;
      const double u = unit[k];
      action[k] = static_cast<T>(
          has_bounds() ? info_.act_low[j] + (u + 1.0) * 0.5 * (info_.act_high[j] - info_.act_low[j])
                       : u);
    }
  }
}

void Policy::act_unit(const double* obs, float* unit) {
  normalise(obs, 1, x_.data());
  forward(1);
  std::copy(u_.begin(), u_.begin() + info_.act_dim, unit);
}

void Policy::act(const double* obs, double* action) { act_batch(obs, 1, action); }

void Policy::act(const float* obs, float* action) { act_batch(obs, 1, action); }

std::vector<double> Policy::act(const std::vector<double>& obs) {
  if (static_cast<int>(obs.size()) != info_.obs_dim) {
    throw Error("this policy takes observations of size " + std::to_string(info_.obs_dim) +
                ", got " + std::to_string(obs.size()) +
                (info_.env_id.empty() ? "" : " (it was trained on " + info_.env_id + ")"));
  }
  std::vector<double> action(info_.act_dim);
  act_batch(obs.data(), 1, action.data());
  return action;
}

void Policy::act_batch(const double* obs, int rows, double* actions) {
  if (rows <= 0) return;
  reserve(rows);
  normalise(obs, rows, x_.data());
  forward(rows);
  rescale(u_.data(), rows, actions);
}

void Policy::act_batch(const float* obs, int rows, float* actions) {
  if (rows <= 0) return;
  reserve(rows);
  normalise(obs, rows, x_.data());
  forward(rows);
  rescale(u_.data(), rows, actions);
}

}  // namespace ddpg::runtime
