// Gemm kernels: see gemm.h. The kernels themselves are in gemm_kernels.inc, written once over a
// vector ISA and compiled here once per ISA, each inside its own target region, so that the rest
// of the library stays portable and each path runs only where the CPU has its instructions.
//
// Tiles per ISA (accumulators + the operands of one k step must fit the register file):
//   AVX-512 (32 zmm): outer product 8 rows × 3 vectors (24 accumulators, 11 loads per 24 FMAs),
//                     dot product 3 × 8; tuned on Zen 4 (one 512-bit FMA per cycle) and Zen 5
//                     (two); the same tiles keep two FMA pipes busy (24 independent chains).
//   AVX2 (16 ymm):    outer product 6 rows × 2 vectors (12 accumulators, 8 loads per 12 FMAs),
//                     dot product 3 × 4.
#include "ddpg/gemm.h"

#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "ddpg/aligned.h"
#include "ddpg/io.h"

extern "C" {
// The CBLAS entry point (declared here so that no particular cblas.h is needed); the enums are
// passed as their integer values.
void cblas_sgemm(int order, int trans_a, int trans_b, int m, int n, int k, float alpha,
                 const float* a, int lda, const float* b, int ldb, float beta, float* c, int ldc);
}

namespace ddpg::gemm {
namespace {

constexpr int kRowMajor = 101, kNoTrans = 111, kTrans = 112;

void blas(bool ta, bool tb, int m, int n, int k, const float* a, int lda, const float* b, int ldb,
          float* c, int ldc) {
  cblas_sgemm(kRowMajor, ta ? kTrans : kNoTrans, tb ? kTrans : kNoTrans, m, n, k, 1.0f, a, lda, b,
              ldb, 0.0f, c, ldc);
}

// Walks the cache lines of a block of rows (the B operand of the next column block) a few at a
// time, prefetching them into L2 while the current block computes: the weights come from L3, and
// the first tile of each block would otherwise wait for them.
class Prefetcher {
 public:
  Prefetcher(const float* base, int rows, int row_floats, int ld, int tiles)
      : base_(reinterpret_cast<const char*>(base)),
        stride_(int64_t{ld} * 4),
        lines_per_row_((int64_t{row_floats} * 4 + 63) / 64),
        rows_(row_floats > 0 ? rows : 0),
        per_tile_(tiles > 0 ? (rows_ * lines_per_row_ + tiles - 1) / tiles : 0) {}
  void step() {
    for (int64_t c = 0; c < per_tile_ && row_ < rows_; ++c) {
      _mm_prefetch(base_ + row_ * stride_ + line_ * 64, _MM_HINT_T1);
      if (++line_ == lines_per_row_) {
        line_ = 0;
        ++row_;
      }
    }
  }

 private:
  const char* base_;
  int64_t stride_, lines_per_row_, rows_, per_tile_;
  int64_t row_ = 0, line_ = 0;
};

// The epilogue as a separate pass, after a BLAS multiply.
void apply_epilogue(int m, int n, float* c, int ldc, const Epilogue& ep) {
  if (!ep.bias && !ep.relu && !ep.gate) return;
  for (int r = 0; r < m; ++r) {
    float* row = c + int64_t{r} * ldc;
    if (ep.bias) {
      for (int j = 0; j < n; ++j) row[j] += ep.bias[j];
    }
    if (ep.relu) {
      for (int j = 0; j < n; ++j) row[j] = row[j] > 0.0f ? row[j] : 0.0f;
    }
    if (ep.gate) {
      const float* g = ep.gate + int64_t{r} * ep.gate_ld;
      for (int j = 0; j < n; ++j) row[j] = g[j] > 0.0f ? row[j] : 0.0f;
    }
  }
}

}  // namespace

// ---- AVX-512 ----
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512vl,avx2,fma"))), \
                             apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,avx512vl,avx2,fma")
#endif
namespace avx512 {
namespace {

#define DDPG_VOP static __attribute__((always_inline)) inline

struct V {
  using Reg = __m512;
  using Mask = __mmask16;
  using Sums = __m256;  // kDotCols sums
  static constexpr int kWidth = 16, kRows = 8, kVecs = 3, kDotRows = 3, kDotCols = 8, kRowVecs = 16;

  DDPG_VOP Mask first(int lanes) { return static_cast<Mask>((1u << lanes) - 1u); }
  DDPG_VOP Reg zero() { return _mm512_setzero_ps(); }
  DDPG_VOP Reg load(const float* p) { return _mm512_loadu_ps(p); }
  DDPG_VOP Reg load_masked(Mask m, const float* p) { return _mm512_maskz_loadu_ps(m, p); }
  DDPG_VOP void store(float* p, Reg v) { _mm512_storeu_ps(p, v); }
  DDPG_VOP void store_masked(float* p, Mask m, Reg v) { _mm512_mask_storeu_ps(p, m, v); }
  DDPG_VOP Reg set1(float x) { return _mm512_set1_ps(x); }
  DDPG_VOP Reg fmadd(Reg a, Reg b, Reg c) { return _mm512_fmadd_ps(a, b, c); }
  DDPG_VOP Reg add(Reg a, Reg b) { return _mm512_add_ps(a, b); }
  // (Not _mm512_max_ps: GCC 12's header trips -Wmaybe-uninitialized on it.)
  DDPG_VOP Reg relu(Reg v) {
    return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_GT_OQ), v);
  }
  DDPG_VOP Reg gate(Reg v, Reg g) {
    return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(g, _mm512_setzero_ps(), _CMP_GT_OQ), v);
  }

  // Sums each of the 8 accumulators into one float: lane s of the result is Σ a[s].
  DDPG_VOP Sums reduce(const Reg* a) {
    __m256 y[8];
#pragma GCC unroll 8
    for (int q = 0; q < 8; ++q) {
      // Halves by the masked extract: GCC 12's plain extract (and _mm512_castps512_ps256, which
      // uses it) trip -Wmaybe-uninitialized in its own header.
      const __m512d d = _mm512_castps_pd(a[q]);
      const __m256 lo =
          _mm256_castpd_ps(_mm512_mask_extractf64x4_pd(_mm256_setzero_pd(), 0xFF, d, 0));
      const __m256 hi =
          _mm256_castpd_ps(_mm512_mask_extractf64x4_pd(_mm256_setzero_pd(), 0xFF, d, 1));
      y[q] = _mm256_add_ps(lo, hi);
    }
    const __m256 h0 = _mm256_hadd_ps(y[0], y[1]), h1 = _mm256_hadd_ps(y[2], y[3]);
    const __m256 h2 = _mm256_hadd_ps(y[4], y[5]), h3 = _mm256_hadd_ps(y[6], y[7]);
    const __m256 g0 = _mm256_hadd_ps(h0, h1), g1 = _mm256_hadd_ps(h2, h3);
    // g0 holds the sums of a[0..3] over each 128-bit half, g1 those of a[4..7].
    return _mm256_add_ps(_mm256_permute2f128_ps(g0, g1, 0x20),
                         _mm256_permute2f128_ps(g0, g1, 0x31));
  }
  DDPG_VOP __mmask8 sums_mask(int count) { return static_cast<__mmask8>((1u << count) - 1u); }
  DDPG_VOP Sums sums_zero() { return _mm256_setzero_ps(); }
  DDPG_VOP Sums sums_load(const float* p, int count) {
    return _mm256_maskz_loadu_ps(sums_mask(count), p);
  }
  DDPG_VOP Sums sums_add(Sums a, Sums b) { return _mm256_add_ps(a, b); }
  DDPG_VOP Sums sums_relu(Sums y) {
    return _mm256_maskz_mov_ps(_mm256_cmp_ps_mask(y, _mm256_setzero_ps(), _CMP_GT_OQ), y);
  }
  DDPG_VOP void sums_store(float* p, int count, Sums y) {
    _mm256_mask_storeu_ps(p, sums_mask(count), y);
  }

  // bt (k × n, ldt) = the n × k block b (ldb) transposed, in 16 × 16 blocks in registers: each
  // block reads 16 rows of b and writes 16 rows of bt, a cache line each, so every line is touched
  // once (an 8 × 8 version, which writes half lines, ran 3x slower on Zen 5 for 256 × 256).
  static void transpose(int n, int k, const float* b, int ldb, float* bt, int ldt) {
    for (int j0 = 0; j0 < n; j0 += 16) {
      const int rows = std::min(16, n - j0);
      const __mmask16 row_mask = static_cast<__mmask16>((1u << rows) - 1u);
      for (int q0 = 0; q0 < k; q0 += 16) {
        const int cols = std::min(16, k - q0);
        const __mmask16 col_mask = static_cast<__mmask16>((1u << cols) - 1u);
        __m512 r[16];
#pragma GCC unroll 16
        for (int i = 0; i < 16; ++i) {
          r[i] = i < rows ? _mm512_maskz_loadu_ps(col_mask, b + int64_t{j0 + i} * ldb + q0)
                          : _mm512_setzero_ps();
        }
        // (The masked forms of the shuffles: GCC 12's plain ones trip -Wmaybe-uninitialized.)
        // Pairs of rows interleaved, then quads: u[4g + c], 128-bit lane L, holds column 4L + c of
        // rows 4g..4g+3.
        __m512 t[16], u[16];
#pragma GCC unroll 8
        for (int i = 0; i < 8; ++i) {
          t[2 * i] = _mm512_maskz_unpacklo_ps(0xFFFF, r[2 * i], r[2 * i + 1]);
          t[2 * i + 1] = _mm512_maskz_unpackhi_ps(0xFFFF, r[2 * i], r[2 * i + 1]);
        }
#pragma GCC unroll 4
        for (int g = 0; g < 4; ++g) {
          u[4 * g] = _mm512_maskz_shuffle_ps(0xFFFF, t[4 * g], t[4 * g + 2], 0x44);
          u[4 * g + 1] = _mm512_maskz_shuffle_ps(0xFFFF, t[4 * g], t[4 * g + 2], 0xEE);
          u[4 * g + 2] = _mm512_maskz_shuffle_ps(0xFFFF, t[4 * g + 1], t[4 * g + 3], 0x44);
          u[4 * g + 3] = _mm512_maskz_shuffle_ps(0xFFFF, t[4 * g + 1], t[4 * g + 3], 0xEE);
        }
        // Then the 128-bit lanes across the four groups: column 4L + c gathers lane L of u[c],
        // u[4 + c], u[8 + c], u[12 + c].
        __m512 o[16];
#pragma GCC unroll 4
        for (int c = 0; c < 4; ++c) {
          const __m512 v0 = _mm512_maskz_shuffle_f32x4(0xFFFF, u[c], u[4 + c],
                                                       0x88);  // lanes 0, 2 of groups 0, 1
          const __m512 w0 = _mm512_maskz_shuffle_f32x4(0xFFFF, u[c], u[4 + c], 0xDD);  // lanes 1, 3
          const __m512 v1 = _mm512_maskz_shuffle_f32x4(0xFFFF, u[8 + c], u[12 + c], 0x88);
          const __m512 w1 = _mm512_maskz_shuffle_f32x4(0xFFFF, u[8 + c], u[12 + c], 0xDD);
          o[c] = _mm512_maskz_shuffle_f32x4(0xFFFF, v0, v1, 0x88);
          o[8 + c] = _mm512_maskz_shuffle_f32x4(0xFFFF, v0, v1, 0xDD);
          o[4 + c] = _mm512_maskz_shuffle_f32x4(0xFFFF, w0, w1, 0x88);
          o[12 + c] = _mm512_maskz_shuffle_f32x4(0xFFFF, w0, w1, 0xDD);
        }
#pragma GCC unroll 16
        for (int c = 0; c < 16; ++c) {
          if (c < cols) _mm512_mask_storeu_ps(bt + int64_t{q0 + c} * ldt + j0, row_mask, o[c]);
        }
      }
    }
  }
};

#include "gemm_kernels.inc"

}  // namespace
}  // namespace avx512
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

// ---- AVX2 + FMA ----
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#endif
namespace avx2 {
namespace {

struct V {
  using Reg = __m256;
  using Mask = __m256i;  // lanes with the sign bit set are loaded and stored
  using Sums = __m128;   // kDotCols sums
  static constexpr int kWidth = 8, kRows = 6, kVecs = 2, kDotRows = 3, kDotCols = 4, kRowVecs = 12;

  DDPG_VOP Mask first(int lanes) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(lanes), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  DDPG_VOP Reg zero() { return _mm256_setzero_ps(); }
  DDPG_VOP Reg load(const float* p) { return _mm256_loadu_ps(p); }
  DDPG_VOP Reg load_masked(Mask m, const float* p) { return _mm256_maskload_ps(p, m); }
  DDPG_VOP void store(float* p, Reg v) { _mm256_storeu_ps(p, v); }
  DDPG_VOP void store_masked(float* p, Mask m, Reg v) { _mm256_maskstore_ps(p, m, v); }
  DDPG_VOP Reg set1(float x) { return _mm256_set1_ps(x); }
  DDPG_VOP Reg fmadd(Reg a, Reg b, Reg c) { return _mm256_fmadd_ps(a, b, c); }
  DDPG_VOP Reg add(Reg a, Reg b) { return _mm256_add_ps(a, b); }
  DDPG_VOP Reg relu(Reg v) {
    return _mm256_and_ps(v, _mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_GT_OQ));
  }
  DDPG_VOP Reg gate(Reg v, Reg g) {
    return _mm256_and_ps(v, _mm256_cmp_ps(g, _mm256_setzero_ps(), _CMP_GT_OQ));
  }

  // Lane s of the result is Σ a[s], for 4 accumulators.
  DDPG_VOP Sums reduce(const Reg* a) {
    const __m256 h0 = _mm256_hadd_ps(a[0], a[1]), h1 = _mm256_hadd_ps(a[2], a[3]);
    const __m256 g = _mm256_hadd_ps(h0, h1);  // sums of a[0..3] over each 128-bit half
    return _mm_add_ps(_mm256_castps256_ps128(g), _mm256_extractf128_ps(g, 1));
  }
  DDPG_VOP __m128i sums_mask(int count) {
    return _mm_cmpgt_epi32(_mm_set1_epi32(count), _mm_setr_epi32(0, 1, 2, 3));
  }
  DDPG_VOP Sums sums_zero() { return _mm_setzero_ps(); }
  DDPG_VOP Sums sums_load(const float* p, int count) {
    return _mm_maskload_ps(p, sums_mask(count));
  }
  DDPG_VOP Sums sums_add(Sums a, Sums b) { return _mm_add_ps(a, b); }
  DDPG_VOP Sums sums_relu(Sums y) {
    return _mm_and_ps(y, _mm_cmp_ps(y, _mm_setzero_ps(), _CMP_GT_OQ));
  }
  DDPG_VOP void sums_store(float* p, int count, Sums y) {
    _mm_maskstore_ps(p, sums_mask(count), y);
  }

  // One 8 × 8 block: bt[q, j] = b[j, q] for j, q < 8.
  DDPG_VOP void transpose8(const float* b, int ldb, float* bt, int ldt) {
    __m256 r[8];
#pragma GCC unroll 8
    for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(b + int64_t{i} * ldb);
    // Pairs, then quads, then halves.
    const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    const __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    const __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    const __m256 o[8] = {
        _mm256_permute2f128_ps(u0, u4, 0x20), _mm256_permute2f128_ps(u1, u5, 0x20),
        _mm256_permute2f128_ps(u2, u6, 0x20), _mm256_permute2f128_ps(u3, u7, 0x20),
        _mm256_permute2f128_ps(u0, u4, 0x31), _mm256_permute2f128_ps(u1, u5, 0x31),
        _mm256_permute2f128_ps(u2, u6, 0x31), _mm256_permute2f128_ps(u3, u7, 0x31)};
#pragma GCC unroll 8
    for (int i = 0; i < 8; ++i) _mm256_storeu_ps(bt + int64_t{i} * ldt, o[i]);
  }

  // bt (k × n, ldt) = the n × k block b (ldb) transposed: 8 × 8 blocks in registers, two at a
  // time one above the other, so that each row of bt gets a whole cache line (16 floats) at once
  // (one block at a time wrote half lines and ran 4–5x slower for 256 × 256 on Zen 5); the edges
  // one element at a time.
  static void transpose(int n, int k, const float* b, int ldb, float* bt, int ldt) {
    int j = 0;
    for (; j + 8 <= n; j += j + 16 <= n ? 16 : 8) {
      const bool pair = j + 16 <= n;
      int q = 0;
      for (; q + 8 <= k; q += 8) {
        transpose8(b + int64_t{j} * ldb + q, ldb, bt + int64_t{q} * ldt + j, ldt);
        if (pair) transpose8(b + int64_t{j + 8} * ldb + q, ldb, bt + int64_t{q} * ldt + j + 8, ldt);
      }
      for (; q < k; ++q) {
        for (int i = 0; i < (pair ? 16 : 8); ++i) {
          bt[int64_t{q} * ldt + j + i] = b[int64_t{j + i} * ldb + q];
        }
      }
    }
    for (; j < n; ++j) {
      for (int q = 0; q < k; ++q) bt[int64_t{q} * ldt + j] = b[int64_t{j} * ldb + q];
    }
  }
};

#undef DDPG_VOP

#include "gemm_kernels.inc"

}  // namespace
}  // namespace avx2
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

// ---- dispatch ----
namespace {

bool cpu_has(Path p) {
  switch (p) {
    case Path::kAvx512:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl");
    case Path::kAvx2:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case Path::kBlas:
      return true;
  }
  return false;
}

// The path DDPG_GEMM names, or the fastest the CPU has.
Path initial_path() {
  const char* env = std::getenv("DDPG_GEMM");
  if (env && *env) {
    for (Path p : {Path::kAvx512, Path::kAvx2, Path::kBlas}) {
      if (std::strcmp(env, path_name(p)) != 0) continue;
      if (!cpu_has(p)) {
        throw Error(std::string("DDPG_GEMM=") + env + ": this CPU lacks the instructions of that " +
                    "path; use one it has (" + (cpu_has(Path::kAvx2) ? "avx2, " : "") +
                    "blas) or unset DDPG_GEMM");
      }
      return p;
    }
    throw Error(std::string("DDPG_GEMM=") + env +
                ": unknown multiply path; use avx512, avx2 or blas, or unset DDPG_GEMM");
  }
  for (Path p : {Path::kAvx512, Path::kAvx2}) {
    if (cpu_has(p)) return p;
  }
  return Path::kBlas;
}

std::atomic<Path>& current() {
  static std::atomic<Path> p{initial_path()};
  return p;
}

}  // namespace

const char* path_name(Path p) {
  switch (p) {
    case Path::kAvx512:
      return "avx512";
    case Path::kAvx2:
      return "avx2";
    case Path::kBlas:
      return "blas";
  }
  return "?";
}

bool supported(Path p) { return cpu_has(p); }

Path path() { return current().load(std::memory_order_relaxed); }

bool native() { return path() != Path::kBlas; }

void force(Path p) {
  if (!cpu_has(p)) {
    throw Error(std::string("gemm::force: this CPU has no ") + path_name(p) + " instructions");
  }
  current().store(p, std::memory_order_relaxed);
}

void reset() { current().store(initial_path(), std::memory_order_relaxed); }

void nn(int m, int n, int k, const float* a, int lda, const float* b, int ldb, float* c, int ldc,
        const Epilogue& ep) {
  if (m <= 0 || n <= 0) return;
  switch (k > 0 ? path() : Path::kBlas) {
    case Path::kAvx512:
      return avx512::nn(m, n, k, a, lda, b, ldb, c, ldc, ep);
    case Path::kAvx2:
      return avx2::nn(m, n, k, a, lda, b, ldb, c, ldc, ep);
    case Path::kBlas:
      blas(false, false, m, n, k, a, lda, b, ldb, c, ldc);
      return apply_epilogue(m, n, c, ldc, ep);
  }
}

void tn(int m, int n, int k, const float* a, int lda, const float* b, int ldb, float* c, int ldc) {
  if (m <= 0 || n <= 0) return;
  switch (k > 0 ? path() : Path::kBlas) {
    case Path::kAvx512:
      return avx512::tn(m, n, k, a, lda, b, ldb, c, ldc);
    case Path::kAvx2:
      return avx2::tn(m, n, k, a, lda, b, ldb, c, ldc);
    case Path::kBlas:
      return blas(true, false, m, n, k, a, lda, b, ldb, c, ldc);
  }
}

void transpose(int n, int k, const float* b, int ldb, float* bt, int ldt) {
  if (n <= 0 || k <= 0) return;
  switch (path()) {
    case Path::kAvx512:
      return avx512::transpose(n, k, b, ldb, bt, ldt);
    case Path::kAvx2:
      return avx2::transpose(n, k, b, ldb, bt, ldt);
    case Path::kBlas:
      break;
  }
  constexpr int kBlock = 16;  // blocks whose rows read and written stay in L1
  for (int j0 = 0; j0 < n; j0 += kBlock) {
    for (int q0 = 0; q0 < k; q0 += kBlock) {
      for (int j = j0; j < std::min(n, j0 + kBlock); ++j) {
        for (int q = q0; q < std::min(k, q0 + kBlock); ++q) {
          bt[int64_t{q} * ldt + j] = b[int64_t{j} * ldb + q];
        }
      }
    }
  }
}

void nt(int m, int n, int k, const float* a, int lda, const float* b, int ldb, float* c, int ldc,
        const Epilogue& ep) {
  if (m <= 0 || n <= 0) return;
  switch (k > 0 ? path() : Path::kBlas) {
    case Path::kAvx512:
      return avx512::nt(m, n, k, a, lda, b, ldb, c, ldc, ep);
    case Path::kAvx2:
      return avx2::nt(m, n, k, a, lda, b, ldb, c, ldc, ep);
    case Path::kBlas:
      blas(false, true, m, n, k, a, lda, b, ldb, c, ldc);
      return apply_epilogue(m, n, c, ldc, ep);
  }
}

}  // namespace ddpg::gemm
