// Gemm kernels: see gemm.h.
//
// Outer-product kernel (nn, tn): an R × 16C tile of C in R·C zmm accumulators; for each k it loads
// C vectors of B's row k and, for each of the R rows, broadcasts a(i, k) and issues C FMAs. 8 × 3
// (24 accumulators, 11 loads per 24 FMAs) keeps Zen 4's FMA pipes busy; the last column vector of a
// tile is masked, so any n works without padding.
//
// Dot-product kernel (nt): an R × S tile of C from R rows of A and S rows of B, each accumulator a
// zmm of partial sums along k, reduced to one float at the end. 3 × 8 (24 accumulators, 11 loads
// per 24 FMAs); the reduction costs ~3 instructions per output against k/16 FMAs. It needs no
// transposed copy of the weights, which would cost a pass over every weight matrix per update.
//
// Only the kernel section is compiled for AVX-512 (a target pragma), so the rest of the library
// stays portable.
#include "ddpg/gemm.h"

#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

extern "C" {
// The CBLAS entry point (declared here so that no particular cblas.h is needed); the enums are
// passed as their integer values.
void cblas_sgemm(int order, int trans_a, int trans_b, int m, int n, int k, float alpha,
                 const float* a, int lda, const float* b, int ldb, float beta, float* c, int ldc);
}

namespace ddpg::gemm {
namespace {

constexpr int kRowMajor = 101, kNoTrans = 111, kTrans = 112;
constexpr int kRows = 8;      // outer-product tile: R rows
constexpr int kVecs = 3;      //                     C vectors (16 floats each)
constexpr int kDotRows = 3;   // dot-product tile: R rows of A
constexpr int kDotCols = 8;   //                   S rows of B (columns of C)
constexpr int kDotMinK = 32;  // below this the dot kernel's reductions dominate: BLAS

void blas(bool ta, bool tb, int m, int n, int k, const float* a, int lda, const float* b, int ldb,
          float* c, int ldc) {
  cblas_sgemm(kRowMajor, ta ? kTrans : kNoTrans, tb ? kTrans : kNoTrans, m, n, k, 1.0f, a, lda, b,
              ldb, 0.0f, c, ldc);
}

// The AVX-512 kernels (called only where the CPU has AVX-512; gemm() checks at run time).
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512vl,avx2,fma"))), \
                             apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,avx512vl,avx2,fma")
#endif

// One R × 16C tile: C[i, j] = Σ_k a(i, k) B[k, j], a(i, k) = A[k·lda + i] (TA) or A[i·lda + k].
// The last of the C vectors is masked by `mask`.
template <int R, int C, bool TA>
__attribute__((always_inline)) inline void tile(int k_len, const float* __restrict a, int lda,
                                                const float* __restrict b, int ldb,
                                                float* __restrict c, int ldc, __mmask16 mask,
                                                const Epilogue& ep) {
  __m512 acc[R][C];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 8
    for (int v = 0; v < C; ++v) acc[r][v] = _mm512_setzero_ps();
  }
  for (int k = 0; k < k_len; ++k) {
    const float* brow = b + int64_t{k} * ldb;
    __m512 bv[C];
#pragma GCC unroll 8
    for (int v = 0; v < C; ++v) {
      bv[v] =
          v + 1 == C ? _mm512_maskz_loadu_ps(mask, brow + 16 * v) : _mm512_loadu_ps(brow + 16 * v);
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const __m512 x = _mm512_set1_ps(TA ? a[int64_t{k} * lda + r] : a[int64_t{r} * lda + k]);
#pragma GCC unroll 8
      for (int v = 0; v < C; ++v) acc[r][v] = _mm512_fmadd_ps(x, bv[v], acc[r][v]);
    }
  }
  if (ep.bias) {
#pragma GCC unroll 8
    for (int v = 0; v < C; ++v) {
      const __m512 bias = _mm512_maskz_loadu_ps(v + 1 == C ? mask : 0xFFFF, ep.bias + 16 * v);
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) acc[r][v] = _mm512_add_ps(acc[r][v], bias);
    }
  }
  if (ep.relu) {
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
#pragma GCC unroll 8
      for (int v = 0; v < C; ++v) {
        // (not _mm512_max_ps: GCC 12's header trips -Wmaybe-uninitialized on it)
        const __mmask16 pos = _mm512_cmp_ps_mask(acc[r][v], _mm512_setzero_ps(), _CMP_GT_OQ);
        acc[r][v] = _mm512_maskz_mov_ps(pos, acc[r][v]);
      }
    }
  }
  if (ep.gate) {
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
#pragma GCC unroll 8
      for (int v = 0; v < C; ++v) {
        const float* g = ep.gate + int64_t{r} * ep.gate_ld + 16 * v;
        const __m512 gv = _mm512_maskz_loadu_ps(v + 1 == C ? mask : 0xFFFF, g);
        const __mmask16 open = _mm512_cmp_ps_mask(gv, _mm512_setzero_ps(), _CMP_GT_OQ);
        acc[r][v] = _mm512_maskz_mov_ps(open, acc[r][v]);
      }
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 8
    for (int v = 0; v < C; ++v) {
      float* p = c + int64_t{r} * ldc + 16 * v;
      if (v + 1 == C) {
        _mm512_mask_storeu_ps(p, mask, acc[r][v]);
      } else {
        _mm512_storeu_ps(p, acc[r][v]);
      }
    }
  }
}

// Picks the tile for r ≤ R rows and v ≤ C vectors (the edges of C).
template <int R, int C, bool TA>
void tile_v(int v, int k_len, const float* a, int lda, const float* b, int ldb, float* c, int ldc,
            __mmask16 mask, const Epilogue& ep) {
  if constexpr (C >= 1) {
    if (v == C) {
      tile<R, C, TA>(k_len, a, lda, b, ldb, c, ldc, mask, ep);
    } else {
      tile_v<R, C - 1, TA>(v, k_len, a, lda, b, ldb, c, ldc, mask, ep);
    }
  }
}

template <int R, bool TA>
void tile_rv(int r, int v, int k_len, const float* a, int lda, const float* b, int ldb, float* c,
             int ldc, __mmask16 mask, const Epilogue& ep) {
  if constexpr (R >= 1) {
    if (r == R) {
      tile_v<R, kVecs, TA>(v, k_len, a, lda, b, ldb, c, ldc, mask, ep);
    } else {
      tile_rv<R - 1, TA>(r, v, k_len, a, lda, b, ldb, c, ldc, mask, ep);
    }
  }
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

// Column panels of 16·kVecs outer, row blocks inner: a panel of B (k × 48 floats, 77 KB for
// k = 400) stays in L2 while the rows of A stream past it.
template <bool TA>
void kernel(int m, int n, int k, const float* a, int lda, const float* b, int ldb, float* c,
            int ldc, const Epilogue& ep) {
  for (int j0 = 0; j0 < n; j0 += 16 * kVecs) {
    const int width = std::min(16 * kVecs, n - j0);
    const int vecs = (width + 15) / 16;
    const int tail = width - 16 * (vecs - 1);
    const __mmask16 mask = static_cast<__mmask16>((1u << tail) - 1u);
    // The weights (nn's B) come from L3; tn's B is a layer input, already in cache.
    const int next = j0 + 16 * kVecs;
    Prefetcher pf(b + next, !TA && next < n ? k : 0, std::min(16 * kVecs, n - next), ldb,
                  (m + kRows - 1) / kRows);
    for (int i0 = 0; i0 < m; i0 += kRows) {
      pf.step();
      const int rows = std::min(kRows, m - i0);
      const float* ai = TA ? a + i0 : a + int64_t{i0} * lda;
      Epilogue at = ep;  // the epilogue's operands at this tile
      if (at.bias) at.bias += j0;
      if (at.gate) at.gate += int64_t{i0} * at.gate_ld + j0;
      tile_rv<kRows, TA>(rows, vecs, k, ai, lda, b + j0, ldb, c + int64_t{i0} * ldc + j0, ldc, mask,
                         at);
    }
  }
}

// Sums each of the 8 accumulators into one float: lane s of the result is Σ a[s].
__attribute__((always_inline)) inline __m256 reduce8(const __m512* a) {
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
  return _mm256_add_ps(_mm256_permute2f128_ps(g0, g1, 0x20), _mm256_permute2f128_ps(g0, g1, 0x31));
}

// One R × S tile (S ≤ 8 columns, stored under `cols`): C[i, j] = Σ_k A[i, k] B[j, k].
template <int R, int S>
__attribute__((always_inline)) inline void dot_tile(int k_len, const float* __restrict a, int lda,
                                                    const float* __restrict b, int ldb,
                                                    float* __restrict c, int ldc, __mmask8 cols,
                                                    const Epilogue& ep) {
  __m512 acc[R][8];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 8
    for (int s = 0; s < 8; ++s) acc[r][s] = _mm512_setzero_ps();
  }
  // Full vectors of k, then the masked remainder.
  const auto step = [&](int k, __mmask16 m) __attribute__((always_inline)) {
    __m512 x[R];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) x[r] = _mm512_maskz_loadu_ps(m, a + int64_t{r} * lda + k);
#pragma GCC unroll 8
    for (int s = 0; s < S; ++s) {
      __m512 w = _mm512_maskz_loadu_ps(m, b + int64_t{s} * ldb + k);
      // Keeps w in a register: GCC would otherwise fold the load into each of the R FMAs, and
      // the kernel would be bound by loads.
      asm("" : "+v"(w));
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) acc[r][s] = _mm512_fmadd_ps(x[r], w, acc[r][s]);
    }
  };
  int k = 0;
  for (; k + 16 <= k_len; k += 16) step(k, 0xFFFF);
  if (k < k_len) step(k, static_cast<__mmask16>((1u << (k_len - k)) - 1u));
  const __m256 bias = ep.bias ? _mm256_maskz_loadu_ps(cols, ep.bias) : _mm256_setzero_ps();
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
    __m256 y = _mm256_add_ps(reduce8(acc[r]), bias);
    if (ep.relu) {
      y = _mm256_maskz_mov_ps(_mm256_cmp_ps_mask(y, _mm256_setzero_ps(), _CMP_GT_OQ), y);
    }
    _mm256_mask_storeu_ps(c + int64_t{r} * ldc, cols, y);
  }
}

// Picks the tile for s ≤ S columns (the edge of C), as tile_v does for the outer-product kernel.
template <int R, int S>
void dot_tile_s(int s, int k_len, const float* a, int lda, const float* b, int ldb, float* c,
                int ldc, const Epilogue& ep) {
  if constexpr (S >= 1) {
    if (s == S) {
      dot_tile<R, S>(k_len, a, lda, b, ldb, c, ldc, static_cast<__mmask8>((1u << S) - 1u), ep);
    } else {
      dot_tile_s<R, S - 1>(s, k_len, a, lda, b, ldb, c, ldc, ep);
    }
  }
}

// Column blocks of kDotCols outer, row blocks inner: the block's rows of B (8 × k floats, 12.5 KB
// for k = 400) stay in L1 while the rows of A stream past.
void dot_kernel(int m, int n, int k, const float* a, int lda, const float* b, int ldb, float* c,
                int ldc, const Epilogue& ep) {
  for (int j0 = 0; j0 < n; j0 += kDotCols) {
    const int cols = std::min(kDotCols, n - j0);
    Epilogue at = ep;
    if (at.bias) at.bias += j0;
    const float* bj = b + int64_t{j0} * ldb;
    const int next = j0 + kDotCols;
    Prefetcher pf(b + int64_t{next} * ldb, std::max(0, std::min(kDotCols, n - next)), k, ldb,
                  (m + kDotRows - 1) / kDotRows);
    for (int i0 = 0; i0 < m; i0 += kDotRows) {
      pf.step();
      const float* ai = a + int64_t{i0} * lda;
      float* ci = c + int64_t{i0} * ldc + j0;
      switch (std::min(kDotRows, m - i0)) {
        case 3:
          dot_tile_s<3, kDotCols>(cols, k, ai, lda, bj, ldb, ci, ldc, at);
          break;
        case 2:
          dot_tile_s<2, kDotCols>(cols, k, ai, lda, bj, ldb, ci, ldc, at);
          break;
        default:
          dot_tile_s<1, kDotCols>(cols, k, ai, lda, bj, ldb, ci, ldc, at);
          break;
      }
    }
  }
}

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

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

bool detect_native() {
  const char* env = std::getenv("DDPG_GEMM");
  if (env && std::strcmp(env, "blas") == 0) return false;
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl");
}

bool available() {
  static const bool yes = detect_native();
  return yes;
}

std::atomic<bool> g_force_blas{false};

}  // namespace

bool native() { return available() && !g_force_blas.load(std::memory_order_relaxed); }

void force_blas(bool on) { g_force_blas.store(on, std::memory_order_relaxed); }

void nn(int m, int n, int k, const float* a, int lda, const float* b, int ldb, float* c, int ldc,
        const Epilogue& ep) {
  if (m <= 0 || n <= 0) return;
  if (native() && n >= 16) {
    kernel<false>(m, n, k, a, lda, b, ldb, c, ldc, ep);
  } else {
    blas(false, false, m, n, k, a, lda, b, ldb, c, ldc);
    apply_epilogue(m, n, c, ldc, ep);
  }
}

void tn(int m, int n, int k, const float* a, int lda, const float* b, int ldb, float* c, int ldc) {
  if (m <= 0 || n <= 0) return;
  if (native() && n >= 16) {
    kernel<true>(m, n, k, a, lda, b, ldb, c, ldc, Epilogue{});
  } else {
    blas(true, false, m, n, k, a, lda, b, ldb, c, ldc);
  }
}

void nt(int m, int n, int k, const float* a, int lda, const float* b, int ldb, float* c, int ldc,
        const Epilogue& ep) {
  if (m <= 0 || n <= 0) return;
  if (native() && k >= kDotMinK) {
    dot_kernel(m, n, k, a, lda, b, ldb, c, ldc, ep);
  } else if (native() && n >= 16 && k > 0) {
    // A short k (a first layer: the observation's width): Bᵀ is small, so transpose it and use
    // the outer-product kernel, whose cost is then mostly storing C.
    thread_local std::vector<float> bt;
    if (bt.size() < static_cast<size_t>(k) * n) bt.resize(static_cast<size_t>(k) * n);
    for (int j = 0; j < n; ++j) {
      for (int q = 0; q < k; ++q) bt[static_cast<size_t>(q) * n + j] = b[int64_t{j} * ldb + q];
    }
    kernel<false>(m, n, k, a, lda, bt.data(), n, c, ldc, ep);
  } else {
    blas(false, true, m, n, k, a, lda, b, ldb, c, ldc);
    apply_epilogue(m, n, c, ldc, ep);
  }
}

}  // namespace ddpg::gemm
