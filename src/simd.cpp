// simd kernels: see simd.h. The kernel bodies are written once as always-inline functions and
// instantiated inside a baseline wrapper and an AVX2+FMA wrapper (GCC compiles an inlined body for
// the ISA of the function it lands in); `omp simd` reductions let the compiler vectorise the dot
// products without reassociating anything else.
#include "ddpg/simd.h"

#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "ddpg/aligned.h"
#include "ddpg/io.h"

namespace ddpg::simd {
namespace {

#define DDPG_INLINE inline __attribute__((always_inline))

DDPG_INLINE void gemv_body(const float* w, const float* b, int n, int in, const float* x,
                           float* y) {
  int o = 0;
  // Eight rows at a time: eight independent accumulators hide the FMA latency.
  for (; o + 8 <= n; o += 8) {
    const float* w0 = w + int64_t{o} * in;
    const float *w1 = w0 + in, *w2 = w1 + in, *w3 = w2 + in, *w4 = w3 + in, *w5 = w4 + in,
                *w6 = w5 + in, *w7 = w6 + in;
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
#pragma omp simd reduction(+ : s0, s1, s2, s3, s4, s5, s6, s7)
    for (int i = 0; i < in; ++i) {
      const float xi = x[i];
      s0 += w0[i] * xi;
      s1 += w1[i] * xi;
      s2 += w2[i] * xi;
      s3 += w3[i] * xi;
      s4 += w4[i] * xi;
      s5 += w5[i] * xi;
      s6 += w6[i] * xi;
      s7 += w7[i] * xi;
    }
    y[o] = s0 + b[o];
    y[o + 1] = s1 + b[o + 1];
    y[o + 2] = s2 + b[o + 2];
    y[o + 3] = s3 + b[o + 3];
    y[o + 4] = s4 + b[o + 4];
    y[o + 5] = s5 + b[o + 5];
    y[o + 6] = s6 + b[o + 6];
    y[o + 7] = s7 + b[o + 7];
  }
  for (; o < n; ++o) {
    const float* wr = w + int64_t{o} * in;
    float s = 0;
#pragma omp simd reduction(+ : s)
    for (int i = 0; i < in; ++i) s += wr[i] * x[i];
    y[o] = s + b[o];
  }
}

DDPG_INLINE void adam_body(float* __restrict p, const float* __restrict grad, float* __restrict m,
                           float* __restrict v, int64_t n, const AdamCoefficients& c) {
  const float b1 = c.beta1, b2 = c.beta2, ob1 = 1.0f - c.beta1, ob2 = 1.0f - c.beta2;
  const float wd = c.weight_decay, eps = c.eps, step = c.step_size, inv_bc2 = 1.0f / c.sqrt_bc2;
#pragma omp simd
  for (int64_t k = 0; k < n; ++k) {
    const float g = grad[k] + wd * p[k];
    const float mk = b1 * m[k] + ob1 * g;
    const float vk = b2 * v[k] + ob2 * g * g;
    m[k] = mk;
    v[k] = vk;
    p[k] -= step * mk / (std::sqrt(vk) * inv_bc2 + eps);
  }
}

DDPG_INLINE void polyak_body(float* __restrict t, const float* __restrict o, int64_t n, float tau) {
#pragma omp simd
  for (int64_t k = 0; k < n; ++k) t[k] += tau * (o[k] - t[k]);
}

// LayerNorm's sums, in double over 16 fixed partial sums (lane l takes elements j ≡ l mod 16),
// combined in a fixed order: the compiler vectorises the 16 lanes at any width, and every width
// gives the same bits. f(j) is the term of element j.
template <typename F>
DDPG_INLINE double sum16(int n, F f) {
  double part[16] = {};
  int j = 0;
  for (; j + 16 <= n; j += 16) {
#pragma GCC unroll 16
    for (int l = 0; l < 16; ++l) part[l] += f(j + l);
  }
  for (int l = 0; j + l < n; ++l) part[l] += f(j + l);
  for (int w = 8; w >= 1; w /= 2) {
#pragma GCC unroll 8
    for (int l = 0; l < w; ++l) part[l] += part[l + w];
  }
  return part[0];
}

DDPG_INLINE void layer_norm_body(float* y, int rows, int ld, int n, const float* gain,
                                 const float* bias, float eps, float* xhat, float* rstd,
                                 bool relu) {
  for (int r = 0; r < rows; ++r) {
    float* __restrict row = y + int64_t{r} * ld;
    const float mean = static_cast<float>(sum16(n, [&](int j) { return double{row[j]}; }) / n);
    const double sq = sum16(n, [&](int j) {
      const double c = row[j] - mean;
      return c * c;
    });
    const float rs = static_cast<float>(1.0 / std::sqrt(sq / n + eps));
    if (rstd) rstd[r] = rs;
    float* __restrict xh = xhat ? xhat + int64_t{r} * n : nullptr;
#pragma omp simd
    for (int j = 0; j < n; ++j) {
      const float h = (row[j] - mean) * rs;
      if (xh) xh[j] = h;
      const float out = gain[j] * h + bias[j];
      row[j] = relu ? std::max(out, 0.0f) : out;
    }
  }
}

DDPG_INLINE void layer_norm_backward_body(float* g, int rows, int n, const float* gain,
                                          const float* xhat, const float* rstd, float* gg,
                                          float* gbias) {
  if (gg) {
    std::fill(gg, gg + n, 0.0f);
    std::fill(gbias, gbias + n, 0.0f);
    for (int r = 0; r < rows; ++r) {
      const float* __restrict gr = g + int64_t{r} * n;
      const float* __restrict xh = xhat + int64_t{r} * n;
#pragma omp simd
      for (int j = 0; j < n; ++j) {
        gg[j] += gr[j] * xh[j];
        gbias[j] += gr[j];
      }
    }
  }
  // dz = (1/σ)(ĝ − mean ĝ − x̂ · mean(ĝ x̂)) with ĝ = g · gain
  for (int r = 0; r < rows; ++r) {
    float* __restrict gr = g + int64_t{r} * n;
    const float* __restrict xh = xhat + int64_t{r} * n;
#pragma omp simd
    for (int j = 0; j < n; ++j) gr[j] *= gain[j];
    const float a = static_cast<float>(sum16(n, [&](int j) { return double{gr[j]}; }) / n);
    const float c =
        static_cast<float>(sum16(n, [&](int j) { return static_cast<double>(gr[j] * xh[j]); }) / n);
    const float rs = rstd[r];
#pragma omp simd
    for (int j = 0; j < n; ++j) gr[j] = rs * (gr[j] - a - xh[j] * c);
  }
}

DDPG_INLINE void adam_fused_body(float* p, const float* const* grads, int count, float* m, float* v,
                                 int64_t n, const AdamCoefficients& c, float* target, float tau) {
  constexpr int64_t kBlock = 512;  // the summed gradient stays in L1
  alignas(64) float g[kBlock];
  for (int64_t b0 = 0; b0 < n; b0 += kBlock) {
    const int64_t len = std::min(kBlock, n - b0);
    const float* g0 = grads[0] + b0;
#pragma omp simd
    for (int64_t k = 0; k < len; ++k) g[k] = g0[k];
    for (int s = 1; s < count; ++s) {
      const float* gs = grads[s] + b0;
#pragma omp simd
      for (int64_t k = 0; k < len; ++k) g[k] += gs[k];
    }
    adam_body(p + b0, g, m + b0, v + b0, len, c);
    if (target) polyak_body(target + b0, p + b0, len, tau);
  }
}

__attribute__((target("avx2,fma"))) void gemv_avx2(const float* w, const float* b, int n, int in,
                                                   const float* x, float* y) {
  gemv_body(w, b, n, in, x, y);
}
void gemv_base(const float* w, const float* b, int n, int in, const float* x, float* y) {
  gemv_body(w, b, n, in, x, y);
}
__attribute__((target("avx2,fma"))) void adam_avx2(float* p, const float* g, float* m, float* v,
                                                   int64_t n, const AdamCoefficients& c) {
  adam_body(p, g, m, v, n, c);
}
void adam_base(float* p, const float* g, float* m, float* v, int64_t n, const AdamCoefficients& c) {
  adam_body(p, g, m, v, n, c);
}
__attribute__((target("avx2,fma"))) void adam_fused_avx2(float* p, const float* const* grads,
                                                         int count, float* m, float* v, int64_t n,
                                                         const AdamCoefficients& c, float* target,
                                                         float tau) {
  adam_fused_body(p, grads, count, m, v, n, c, target, tau);
}
// The same bodies at 512 bits: the same IEEE operations on each element, so the same bits as the
// AVX2 form (tested); where sqrt and divide run at full width (Zen 5) the pass is ~25% faster.
__attribute__((target("avx512f,avx512vl,avx2,fma"))) void adam_avx512(float* p, const float* g,
                                                                      float* m, float* v, int64_t n,
                                                                      const AdamCoefficients& c) {
  adam_body(p, g, m, v, n, c);
}
__attribute__((target("avx512f,avx512vl,avx2,fma"))) void adam_fused_avx512(
    float* p, const float* const* grads, int count, float* m, float* v, int64_t n,
    const AdamCoefficients& c, float* target, float tau) {
  adam_fused_body(p, grads, count, m, v, n, c, target, tau);
}
#define DDPG_LN_VARIANTS(SUFFIX, TARGET)                                                    \
  TARGET void layer_norm_##SUFFIX(float* y, int rows, int ld, int n, const float* gain,     \
                                  const float* bias, float eps, float* xhat, float* rstd,   \
                                  bool relu) {                                              \
    layer_norm_body(y, rows, ld, n, gain, bias, eps, xhat, rstd, relu);                     \
  }                                                                                         \
  TARGET void layer_norm_backward_##SUFFIX(float* g, int rows, int n, const float* gain,    \
                                           const float* xhat, const float* rstd, float* gg, \
                                           float* gbias) {                                  \
    layer_norm_backward_body(g, rows, n, gain, xhat, rstd, gg, gbias);                      \
  }
DDPG_LN_VARIANTS(avx512, __attribute__((target("avx512f,avx512vl,avx2,fma"))))
DDPG_LN_VARIANTS(avx2, __attribute__((target("avx2,fma"))))
DDPG_LN_VARIANTS(base, )
#undef DDPG_LN_VARIANTS

void adam_fused_base(float* p, const float* const* grads, int count, float* m, float* v, int64_t n,
                     const AdamCoefficients& c, float* target, float tau) {
  adam_fused_body(p, grads, count, m, v, n, c, target, tau);
}

bool has_avx2() {
  static const bool yes = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return yes;
}

bool has_avx512() {
  static const bool yes = __builtin_cpu_supports("avx512f");
  return yes;
}

// Peak loops: kChains independent accumulators, each a chain of dependent multiply-adds. Returns
// the multiply-adds done per lane.
constexpr int kChains = 12;

__attribute__((target("avx512f"))) double peak_avx512(int64_t iters, float* sink) {
  __m512 acc[kChains];
  for (int j = 0; j < kChains; ++j) acc[j] = _mm512_set1_ps(0.001f * j);
  const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
  for (int64_t i = 0; i < iters; ++i) {
    for (int j = 0; j < kChains; ++j) acc[j] = _mm512_fmadd_ps(acc[j], a, b);
  }
  __m512 s = acc[0];
  for (int j = 1; j < kChains; ++j) s = _mm512_add_ps(s, acc[j]);
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, s);
  *sink = lanes[0] + lanes[15];
  return static_cast<double>(iters) * kChains * 16;
}

__attribute__((target("avx2,fma"))) double peak_avx2(int64_t iters, float* sink) {
  __m256 acc[kChains];
  for (int j = 0; j < kChains; ++j) acc[j] = _mm256_set1_ps(0.001f * j);
  const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
  for (int64_t i = 0; i < iters; ++i) {
    for (int j = 0; j < kChains; ++j) acc[j] = _mm256_fmadd_ps(acc[j], a, b);
  }
  __m256 s = acc[0];
  for (int j = 1; j < kChains; ++j) s = _mm256_add_ps(s, acc[j]);
  float lanes[8];
  _mm256_storeu_ps(lanes, s);
  *sink = lanes[0] + lanes[7];
  return static_cast<double>(iters) * kChains * 8;
}

double peak_sse(int64_t iters, float* sink) {
  __m128 acc[kChains];
  for (int j = 0; j < kChains; ++j) acc[j] = _mm_set1_ps(0.001f * j);
  const __m128 a = _mm_set1_ps(0.999999f), b = _mm_set1_ps(1e-7f);
  for (int64_t i = 0; i < iters; ++i) {
    for (int j = 0; j < kChains; ++j) acc[j] = _mm_add_ps(_mm_mul_ps(acc[j], a), b);
  }
  __m128 s = acc[0];
  for (int j = 1; j < kChains; ++j) s = _mm_add_ps(s, acc[j]);
  *sink = _mm_cvtss_f32(s);
  return static_cast<double>(iters) * kChains * 4;
}

bool cpu_has(Isa i) {
  switch (i) {
    case Isa::kAvx512:
      return has_avx512() && has_avx2();
    case Isa::kAvx2:
      return has_avx2();
    case Isa::kBaseline:
      return true;
  }
  return false;
}

// The ISA DDPG_SIMD names, or the widest the CPU has.
Isa initial_isa() {
  const char* env = std::getenv("DDPG_SIMD");
  if (env && *env) {
    for (Isa i : {Isa::kAvx512, Isa::kAvx2, Isa::kBaseline}) {
      if (std::strcmp(env, isa_name(i)) != 0) continue;
      if (!cpu_has(i)) {
        throw Error(std::string("DDPG_SIMD=") + env + ": this CPU lacks those instructions; use " +
                    (cpu_has(Isa::kAvx2) ? "avx2 or " : "") + "baseline, or unset DDPG_SIMD");
      }
      return i;
    }
    throw Error(std::string("DDPG_SIMD=") + env +
                ": unknown instruction set; use avx512, avx2 or baseline, or unset DDPG_SIMD");
  }
  for (Isa i : {Isa::kAvx512, Isa::kAvx2}) {
    if (cpu_has(i)) return i;
  }
  return Isa::kBaseline;
}

std::atomic<Isa>& current_isa() {
  static std::atomic<Isa> i{initial_isa()};
  return i;
}

// Calls the form of a kernel for the chosen ISA (see adam_isa).
template <typename F512, typename F2, typename FBase, typename... Args>
void dispatch(F512 avx512, F2 avx2, FBase base, Args... args) {
  switch (current_isa().load(std::memory_order_relaxed)) {
    case Isa::kAvx512:
      return avx512(args...);
    case Isa::kAvx2:
      return avx2(args...);
    case Isa::kBaseline:
      break;
  }
  base(args...);
}

}  // namespace

const char* isa_name(Isa i) {
  switch (i) {
    case Isa::kAvx512:
      return "avx512";
    case Isa::kAvx2:
      return "avx2";
    case Isa::kBaseline:
      return "baseline";
  }
  return "?";
}

bool supported(Isa i) { return cpu_has(i); }

Isa adam_isa() { return current_isa().load(std::memory_order_relaxed); }

void force_adam_isa(Isa i) {
  if (!cpu_has(i)) {
    throw Error(std::string("simd::force_adam_isa: this CPU has no ") + isa_name(i) +
                " instructions");
  }
  current_isa().store(i, std::memory_order_relaxed);
}

std::string isa() {
  // Adam, Polyak and LayerNorm at the chosen width; gemv (acting) at AVX2 at most
  const Isa i = adam_isa();
  return i == Isa::kAvx2 ? "avx2+fma" : isa_name(i);
}

void gemv(const float* w, const float* b, int n, int in, const float* x, float* y) {
  if (has_avx2()) {
    gemv_avx2(w, b, n, in, x, y);
  } else {
    gemv_base(w, b, n, in, x, y);
  }
}

void adam(float* p, const float* grad, float* m, float* v, int64_t n, const AdamCoefficients& c) {
  dispatch(adam_avx512, adam_avx2, adam_base, p, grad, m, v, n, c);
}

void adam_fused(float* p, const float* const* grads, int count, float* m, float* v, int64_t n,
                const AdamCoefficients& c, float* target, float tau) {
  dispatch(adam_fused_avx512, adam_fused_avx2, adam_fused_base, p, grads, count, m, v, n, c, target,
           tau);
}

void layer_norm(float* y, int rows, int ld, int n, const float* gain, const float* bias, float eps,
                float* xhat, float* rstd, bool relu) {
  dispatch(layer_norm_avx512, layer_norm_avx2, layer_norm_base, y, rows, ld, n, gain, bias, eps,
           xhat, rstd, relu);
}

void layer_norm_backward(float* g, int rows, int n, const float* gain, const float* xhat,
                         const float* rstd, float* gain_grad, float* bias_grad) {
  dispatch(layer_norm_backward_avx512, layer_norm_backward_avx2, layer_norm_backward_base, g, rows,
           n, gain, xhat, rstd, gain_grad, bias_grad);
}

void sum(float* dst, const float* const* src, int count, int64_t n) {
  if (count == 1) {
    if (dst != src[0]) {
      for (int64_t k = 0; k < n; ++k) dst[k] = src[0][k];
    }
    return;
  }
  for (int64_t k = 0; k < n; ++k) {
    float s = src[0][k];
    for (int j = 1; j < count; ++j) s += src[j][k];
    dst[k] = s;
  }
}

double sum_squares(const float* x, int64_t n) {
  double s = 0.0;
  for (int64_t k = 0; k < n; ++k) s += static_cast<double>(x[k]) * x[k];
  return s;
}

namespace {

// Best GFLOP/s of a peak loop over `seconds`.
template <typename Kernel>
double peak_run(Kernel kernel, double seconds) {
  using Clock = std::chrono::steady_clock;
  float sink = 0;
  kernel(20000, &sink);  // warm up (clock ramp)
  double best = 0.0;
  const auto end = Clock::now() + std::chrono::duration<double>(seconds);
  while (Clock::now() < end) {
    const auto t0 = Clock::now();
    const double fmas = kernel(2000000, &sink);
    const double dt = std::chrono::duration<double>(Clock::now() - t0).count();
    best = std::max(best, 2.0 * fmas / dt / 1e9);
  }
  volatile float keep = sink;
  (void)keep;
  return best;
}

// Read loops: sum `n` floats (n a multiple of 8 vectors) into 8 independent accumulators, so that
// the loads, not the adds, set the pace.
__attribute__((target("avx512f"))) float read_avx512(const float* p, int64_t n) {
  __m512 acc[8];
  for (int j = 0; j < 8; ++j) acc[j] = _mm512_setzero_ps();
  for (int64_t i = 0; i < n; i += 128) {
    for (int j = 0; j < 8; ++j) acc[j] = _mm512_add_ps(acc[j], _mm512_loadu_ps(p + i + 16 * j));
  }
  for (int j = 1; j < 8; ++j) acc[0] = _mm512_add_ps(acc[0], acc[j]);
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, acc[0]);
  return lanes[0] + lanes[15];
}

__attribute__((target("avx2"))) float read_avx2(const float* p, int64_t n) {
  __m256 acc[8];
  for (int j = 0; j < 8; ++j) acc[j] = _mm256_setzero_ps();
  for (int64_t i = 0; i < n; i += 64) {
    for (int j = 0; j < 8; ++j) acc[j] = _mm256_add_ps(acc[j], _mm256_loadu_ps(p + i + 8 * j));
  }
  for (int j = 1; j < 8; ++j) acc[0] = _mm256_add_ps(acc[0], acc[j]);
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, acc[0]);
  return lanes[0] + lanes[7];
}

float read_sse(const float* p, int64_t n) {
  __m128 acc[8];
  for (int j = 0; j < 8; ++j) acc[j] = _mm_setzero_ps();
  for (int64_t i = 0; i < n; i += 32) {
    for (int j = 0; j < 8; ++j) acc[j] = _mm_add_ps(acc[j], _mm_loadu_ps(p + i + 4 * j));
  }
  for (int j = 1; j < 8; ++j) acc[0] = _mm_add_ps(acc[0], acc[j]);
  alignas(16) float lanes[4];
  _mm_store_ps(lanes, acc[0]);
  return lanes[0] + lanes[3];
}

}  // namespace

double read_gbps(int64_t bytes, double seconds) {
  using Clock = std::chrono::steady_clock;
  const int64_t n = std::max<int64_t>(128, (bytes / 4 + 127) / 128 * 128);
  FloatBuffer buf(n);
  for (int64_t i = 0; i < n; ++i) buf[i] = 1e-3f * static_cast<float>(i % 7);
  float (*read)(const float*, int64_t) = has_avx512() ? read_avx512
                                         : has_avx2() ? read_avx2
                                                      : read_sse;
  float sink = read(buf.data(), n);  // the buffer into cache
  double best = 0.0;
  const auto end = Clock::now() + std::chrono::duration<double>(seconds);
  while (Clock::now() < end) {
    const int reps = 64;  // the clock's own cost amortised over several passes
    const auto t0 = Clock::now();
    for (int r = 0; r < reps; ++r) sink += read(buf.data(), n);
    const double dt = std::chrono::duration<double>(Clock::now() - t0).count();
    best = std::max(best, 4.0 * static_cast<double>(n) * reps / dt / 1e9);
  }
  volatile float keep = sink;
  (void)keep;
  return best;
}

double fma_peak_gflops(double seconds, int* width) { return fma_peaks(seconds).best(width); }

int FmaPeaks::fma_units_512bit() const {
  if (avx512 <= 0.0) return 0;
  return avx2 > 0.0 && avx512 > 1.5 * avx2 ? 2 : 1;
}

double FmaPeaks::best(int* width) const {
  double b = 0.0;
  int w = 4;
  if (avx512 > 0.0) {
    b = avx512;
    w = 16;
  }
  if (avx2 > b * 1.02) {  // the wider unit only counts where it is really faster
    b = avx2;
    w = 8;
  }
  if (b == 0.0) b = sse;
  if (width) *width = w;
  return b;
}

FmaPeaks fma_peaks(double seconds) {
  FmaPeaks p;
  if (has_avx512()) p.avx512 = peak_run(peak_avx512, seconds);
  if (has_avx2()) p.avx2 = peak_run(peak_avx2, seconds);
  if (p.avx512 == 0.0 && p.avx2 == 0.0) p.sse = peak_run(peak_sse, seconds);
  return p;
}

}  // namespace ddpg::simd
