// Gemm kernels: see gemm.h.
//
// The kernel computes an R × 16C tile of C in R·C zmm accumulators: for each k it loads C vectors of
// B's row k and, for each of the R rows, broadcasts a(i, k) and issues C FMAs. 8 × 3 (24
// accumulators, 11 loads per 24 FMAs) keeps Zen 4's FMA pipes busy; the last column vector of a
// tile is masked, so any n works without padding. Only the kernel section is compiled for AVX-512
// (a target pragma), so the rest of the library stays portable.
#include "ddpg/gemm.h"

#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>

extern "C" {
// The CBLAS entry point (as in mlp.cpp); the enums are passed as their integer values.
void cblas_sgemm(int order, int trans_a, int trans_b, int m, int n, int k, float alpha,
                 const float* a, int lda, const float* b, int ldb, float beta, float* c, int ldc);
}

namespace ddpg::gemm {
namespace {

constexpr int kRowMajor = 101, kNoTrans = 111, kTrans = 112;
constexpr int kRows = 8;  // R of the full tile
constexpr int kVecs = 3;  // C of the full tile (16 floats each)

void blas(bool ta, bool tb, int m, int n, int k, const float* a, int lda, const float* b, int ldb,
          float* c, int ldc) {
  cblas_sgemm(kRowMajor, ta ? kTrans : kNoTrans, tb ? kTrans : kNoTrans, m, n, k, 1.0f, a, lda, b,
              ldb, 0.0f, c, ldc);
}

#pragma GCC push_options
#pragma GCC target("avx512f,avx2,fma")

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
      bv[v] = v + 1 == C ? _mm512_maskz_loadu_ps(mask, brow + 16 * v) : _mm512_loadu_ps(brow + 16 * v);
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
    for (int i0 = 0; i0 < m; i0 += kRows) {
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

// 8 × 8 blocks through AVX registers; the ragged edges element by element.
void transpose_avx(const float* src, int rows, int cols, int lds, float* dst, int ldd) {
  const int r8 = rows / 8 * 8, c8 = cols / 8 * 8;
  for (int i0 = 0; i0 < r8; i0 += 8) {
    for (int j0 = 0; j0 < c8; j0 += 8) {
      const float* s = src + int64_t{i0} * lds + j0;
      __m256 r[8];
      for (int q = 0; q < 8; ++q) r[q] = _mm256_loadu_ps(s + int64_t{q} * lds);
      __m256 t[8], u[8];
      for (int q = 0; q < 4; ++q) {
        t[2 * q] = _mm256_unpacklo_ps(r[2 * q], r[2 * q + 1]);
        t[2 * q + 1] = _mm256_unpackhi_ps(r[2 * q], r[2 * q + 1]);
      }
      // u[0..3]: columns 0,1 | 4,5 ... of rows 0–3; u[4..7] the same of rows 4–7
      for (int h = 0; h < 2; ++h) {
        u[4 * h + 0] = _mm256_shuffle_ps(t[4 * h + 0], t[4 * h + 2], 0x44);
        u[4 * h + 1] = _mm256_shuffle_ps(t[4 * h + 0], t[4 * h + 2], 0xEE);
        u[4 * h + 2] = _mm256_shuffle_ps(t[4 * h + 1], t[4 * h + 3], 0x44);
        u[4 * h + 3] = _mm256_shuffle_ps(t[4 * h + 1], t[4 * h + 3], 0xEE);
      }
      float* d = dst + int64_t{j0} * ldd + i0;
      for (int q = 0; q < 4; ++q) {
        _mm256_storeu_ps(d + int64_t{q} * ldd, _mm256_permute2f128_ps(u[q], u[q + 4], 0x20));
        _mm256_storeu_ps(d + int64_t{q + 4} * ldd, _mm256_permute2f128_ps(u[q], u[q + 4], 0x31));
      }
    }
  }
  for (int i = 0; i < rows; ++i) {
    for (int j = i < r8 ? c8 : 0; j < cols; ++j) dst[int64_t{j} * ldd + i] = src[int64_t{i} * lds + j];
  }
}

#pragma GCC pop_options

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
  return __builtin_cpu_supports("avx512f") != 0;
}

}  // namespace

bool native() {
  static const bool yes = detect_native();
  return yes;
}

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

void nt(int m, int n, int k, const float* a, int lda, const float* b, int ldb, float* c, int ldc) {
  if (m <= 0 || n <= 0) return;
  blas(false, true, m, n, k, a, lda, b, ldb, c, ldc);
}

void transpose(const float* src, int rows, int cols, int lds, float* dst, int ldd) {
  if (native()) {
    transpose_avx(src, rows, cols, lds, dst, ldd);
    return;
  }
  for (int i0 = 0; i0 < rows; i0 += 16) {
    for (int j0 = 0; j0 < cols; j0 += 16) {
      const int i1 = std::min(rows, i0 + 16), j1 = std::min(cols, j0 + 16);
      for (int j = j0; j < j1; ++j) {
        for (int i = i0; i < i1; ++i) dst[int64_t{j} * ldd + i] = src[int64_t{i} * lds + j];
      }
    }
  }
}

}  // namespace ddpg::gemm
