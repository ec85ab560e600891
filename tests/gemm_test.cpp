// Gemm: every path (the dot-product nt, the short-k nt, the outer-product nn and tn, and the BLAS
// path with its separate epilogue pass, forced with force_blas) equals a double-precision
// reference, on shapes that exercise every edge of the tiles (row remainders, masked column
// vectors, masked k remainders), with and without the epilogues.
#include "ddpg/gemm.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "ddpg/rng.h"

namespace ddpg {
namespace {

struct Shape {
  int m, n, k;
};

// The shapes: engine ones (a shard of 128 rows, 400 × 300 and 256 × 256 layers, a first layer of
// 3 inputs) and small ragged ones around the tile sizes (8 × 48 outer, 3 × 8 dot, k vectors of 16).
const std::vector<Shape>& shapes() {
  static const std::vector<Shape> s = {
      {128, 300, 400}, {128, 400, 300}, {300, 400, 128}, {128, 256, 256}, {128, 400, 3},
      {1, 1, 1},       {1, 17, 33},     {2, 16, 16},     {3, 8, 32},      {5, 9, 31},
      {7, 47, 15},     {8, 48, 17},     {9, 49, 47},     {11, 95, 64},    {13, 7, 100},
      {17, 97, 5},     {25, 33, 129},   {4, 1, 300}};
  return s;
}

std::vector<float> random_matrix(Rng& rng, int64_t n) {
  std::vector<float> v(n);
  for (float& x : v) x = static_cast<float>(rng.normal());
  return v;
}

enum class Layout { kNN, kTN, kNT };

// C = op(A) · op(B) in double, then the epilogue.
std::vector<double> reference(Layout layout, const Shape& s, const std::vector<float>& a,
                              const std::vector<float>& b, const gemm::Epilogue& ep) {
  std::vector<double> c(static_cast<size_t>(s.m) * s.n);
  for (int i = 0; i < s.m; ++i) {
    for (int j = 0; j < s.n; ++j) {
      double sum = 0.0;
      for (int q = 0; q < s.k; ++q) {
        const double x = layout == Layout::kTN ? a[int64_t{q} * s.m + i] : a[int64_t{i} * s.k + q];
        const double y = layout == Layout::kNT ? b[int64_t{j} * s.k + q] : b[int64_t{q} * s.n + j];
        sum += x * y;
      }
      if (ep.bias) sum += ep.bias[j];
      if (ep.relu && !(sum > 0.0)) sum = 0.0;
      if (ep.gate && !(ep.gate[int64_t{i} * ep.gate_ld + j] > 0.0f)) sum = 0.0;
      c[static_cast<size_t>(i) * s.n + j] = sum;
    }
  }
  return c;
}

void check(Layout layout, const Shape& s, bool with_epilogue) {
  Rng rng(static_cast<uint64_t>(s.m * 7919 + s.n * 104729 + s.k));
  const std::vector<float> a = random_matrix(rng, int64_t{s.m} * s.k);
  const std::vector<float> b = random_matrix(rng, int64_t{s.k} * s.n);
  const std::vector<float> bias = random_matrix(rng, s.n);
  const std::vector<float> gate = random_matrix(rng, int64_t{s.m} * s.n);
  gemm::Epilogue ep;
  if (with_epilogue) {
    ep.bias = bias.data();
    if (layout == Layout::kNT) ep.relu = true;
    if (layout == Layout::kNN) {
      ep.gate = gate.data();
      ep.gate_ld = s.n;
    }
  }
  // C with a row stride wider than n, and a sentinel in the gap that must survive.
  const int ldc = s.n + 3;
  std::vector<float> c(static_cast<size_t>(s.m) * ldc, 1234.5f);
  switch (layout) {
    case Layout::kNN:
      gemm::nn(s.m, s.n, s.k, a.data(), s.k, b.data(), s.n, c.data(), ldc, ep);
      break;
    case Layout::kTN:
      gemm::tn(s.m, s.n, s.k, a.data(), s.m, b.data(), s.n, c.data(), ldc);
      break;
    case Layout::kNT:
      gemm::nt(s.m, s.n, s.k, a.data(), s.k, b.data(), s.k, c.data(), ldc, ep);
      break;
  }
  const std::vector<double> ref = reference(layout, s, a, b, ep);
  const std::string where = "m " + std::to_string(s.m) + " n " + std::to_string(s.n) + " k " +
                            std::to_string(s.k) + (with_epilogue ? " with epilogue" : "");
  for (int i = 0; i < s.m; ++i) {
    for (int j = 0; j < s.n; ++j) {
      const double want = ref[static_cast<size_t>(i) * s.n + j];
      // float accumulation of k products of unit normals: error grows like √k
      const double tol = 1e-5 * (1.0 + std::sqrt(static_cast<double>(s.k)) * 4.0);
      ASSERT_NEAR(c[static_cast<size_t>(i) * ldc + j], want, tol)
          << where << " at " << i << "," << j;
    }
    for (int j = s.n; j < ldc; ++j) {
      ASSERT_EQ(c[static_cast<size_t>(i) * ldc + j], 1234.5f) << where << ": wrote past n";
    }
  }
}

// Runs `f` on the AVX-512 kernels (where the CPU has them) and on the BLAS path.
template <typename F>
void both_paths(F&& f) {
  for (bool blas : {false, true}) {
    SCOPED_TRACE(blas ? "BLAS path" : (gemm::native() ? "AVX-512 kernels" : "BLAS (no AVX-512)"));
    gemm::force_blas(blas);
    f();
  }
  gemm::force_blas(false);
}

TEST(Gemm, NnMatchesTheReference) {
  both_paths([] {
    for (const Shape& s : shapes()) {
      check(Layout::kNN, s, false);
      check(Layout::kNN, s, true);
    }
  });
}

TEST(Gemm, TnMatchesTheReference) {
  both_paths([] {
    for (const Shape& s : shapes()) check(Layout::kTN, s, false);
  });
}

TEST(Gemm, NtMatchesTheReference) {
  both_paths([] {
    for (const Shape& s : shapes()) {
      check(Layout::kNT, s, false);
      check(Layout::kNT, s, true);
    }
  });
}

TEST(Gemm, ForceBlasSwitchesThePath) {
  gemm::force_blas(true);
  EXPECT_FALSE(gemm::native());
  gemm::force_blas(false);
  EXPECT_EQ(gemm::native(),
            __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
                !(std::getenv("DDPG_GEMM") && std::string(std::getenv("DDPG_GEMM")) == "blas"));
}

}  // namespace
}  // namespace ddpg
