// Gemm: every path (the AVX-512 and the AVX2 kernels: the dot-product nt, the transposing nt, the
// outer-product nn and tn; and BLAS with its separate epilogue pass) equals a double-precision
// reference, on shapes that exercise every edge of the tiles (row remainders, masked column
// vectors, masked k remainders), with and without the epilogues. A path this CPU lacks is reported
// as skipped, by name.
#include "ddpg/gemm.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "ddpg/io.h"
#include "ddpg/rng.h"
#include "ddpg/simd.h"

namespace ddpg {
namespace {

struct Shape {
  int m, n, k;
};

// The shapes: engine ones (a shard of 128 rows, 400 × 300 and 256 × 256 layers, a first layer of
// 3 inputs) and small ragged ones around the tile sizes (8 × 48 outer, 3 × 8 dot, k vectors of 16),
// and single rows (acting on transposed weights: panels of 256 columns on AVX-512, 96 on AVX2).
const std::vector<Shape>& shapes() {
  static const std::vector<Shape> s = {
      {128, 300, 400}, {128, 400, 300}, {300, 400, 128}, {128, 256, 256}, {128, 400, 3},
      {1, 1, 1},       {1, 17, 33},     {2, 16, 16},     {3, 8, 32},      {5, 9, 31},
      {7, 47, 15},     {8, 48, 17},     {9, 49, 47},     {11, 95, 64},    {13, 7, 100},
      {17, 97, 5},     {25, 33, 129},   {4, 1, 300},     {32, 17, 5},     {45, 33, 47},
      {64, 16, 1},     {37, 20, 250},   {31, 64, 64},    {1, 256, 256},   {1, 300, 17},
      {1, 16, 1},      {1, 97, 40},     {1, 200, 3},     {1, 513, 9}};
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

// with_epilogue: bias, and ReLU (nt) or the ReLU gate (nn, unless `gate` is false).
void check(Layout layout, const Shape& s, bool with_epilogue, bool gate_on = true) {
  Rng rng(static_cast<uint64_t>(s.m * 7919 + s.n * 104729 + s.k));
  const std::vector<float> a = random_matrix(rng, int64_t{s.m} * s.k);
  const std::vector<float> b = random_matrix(rng, int64_t{s.k} * s.n);
  const std::vector<float> bias = random_matrix(rng, s.n);
  const std::vector<float> gate = random_matrix(rng, int64_t{s.m} * s.n);
  gemm::Epilogue ep;
  if (with_epilogue) {
    ep.bias = bias.data();
    if (layout == Layout::kNT) ep.relu = true;
    if (layout == Layout::kNN && gate_on) {
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
                            std::to_string(s.k) + (with_epilogue ? " with epilogue" : "") +
                            (with_epilogue && !gate_on ? " (bias only)" : "");
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

class GemmPath : public testing::TestWithParam<gemm::Path> {
 protected:
  void SetUp() override {
    if (!gemm::supported(GetParam())) {
      GTEST_SKIP() << "this CPU lacks the instructions of the " << gemm::path_name(GetParam())
                   << " kernels: not tested here";
    }
    gemm::force(GetParam());
  }
  void TearDown() override { gemm::reset(); }
};

TEST_P(GemmPath, NnMatchesTheReference) {
  for (const Shape& s : shapes()) {
    check(Layout::kNN, s, false);
    check(Layout::kNN, s, true);
    check(Layout::kNN, s, true, false);  // (few columns without a gate: the dot-product route)
  }
}

TEST_P(GemmPath, TnMatchesTheReference) {
  for (const Shape& s : shapes()) check(Layout::kTN, s, false);
}

TEST_P(GemmPath, NtMatchesTheReference) {
  for (const Shape& s : shapes()) {
    check(Layout::kNT, s, false);
    check(Layout::kNT, s, true);
  }
}

TEST_P(GemmPath, TransposeWritesEveryElementAndNothingElse) {
  Rng rng(7);
  for (const auto& [n, k] : std::vector<std::pair<int, int>>{
           {256, 256}, {17, 33}, {300, 17}, {5, 3}, {16, 16}, {33, 70}, {1, 40}}) {
    const int ldb = k + 3, ldt = n + 5;  // strides wider than the blocks
    const std::vector<float> b = random_matrix(rng, int64_t{n} * ldb);
    std::vector<float> bt(static_cast<size_t>(k) * ldt, 1234.5f);
    gemm::transpose(n, k, b.data(), ldb, bt.data(), ldt);
    for (int q = 0; q < k; ++q) {
      for (int j = 0; j < ldt; ++j) {
        const float got = bt[static_cast<size_t>(q) * ldt + j];
        if (j < n) {
          ASSERT_EQ(got, b[static_cast<size_t>(j) * ldb + q])
              << n << "x" << k << " at " << q << "," << j;
        } else {
          ASSERT_EQ(got, 1234.5f) << n << "x" << k << ": wrote past n";
        }
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllPaths, GemmPath,
                         testing::Values(gemm::Path::kAvx512, gemm::Path::kAvx2, gemm::Path::kBlas),
                         [](const testing::TestParamInfo<gemm::Path>& p) {
                           return std::string(gemm::path_name(p.param));
                         });

TEST(Gemm, ForceSwitchesThePathAndRefusesOnesTheCpuLacks) {
  for (gemm::Path p : {gemm::Path::kAvx512, gemm::Path::kAvx2, gemm::Path::kBlas}) {
    if (gemm::supported(p)) {
      gemm::force(p);
      EXPECT_EQ(gemm::path(), p);
      EXPECT_EQ(gemm::native(), p != gemm::Path::kBlas);
    } else {
      std::printf("(this CPU lacks the %s path: force() must refuse it)\n", gemm::path_name(p));
      EXPECT_THROW(gemm::force(p), Error);
    }
  }
  gemm::reset();
  // Without DDPG_GEMM the fastest path the CPU has.
  if (!std::getenv("DDPG_GEMM")) {
    EXPECT_EQ(gemm::path(), gemm::supported(gemm::Path::kAvx512) ? gemm::Path::kAvx512
                            : gemm::supported(gemm::Path::kAvx2) ? gemm::Path::kAvx2
                                                                 : gemm::Path::kBlas);
  }
}

// The fused Adam + Polyak pass at each width: the AVX-512 form gives the AVX2 form's bits (the
// update's results must not depend on the CPU's vector width), and every form follows a double
// reference of LibTorch's Adam. Two shard gradients, weight decay, a length with a remainder.
class SimdIsa : public testing::TestWithParam<simd::Isa> {
 protected:
  void SetUp() override {
    if (!simd::supported(GetParam())) {
      GTEST_SKIP() << "this CPU lacks the instructions of the " << simd::isa_name(GetParam())
                   << " Adam pass: not tested here";
    }
  }
  void TearDown() override { simd::force_adam_isa(initial_); }
  const simd::Isa initial_ = simd::adam_isa();
};

struct AdamArrays {
  std::vector<float> p, g0, g1, m, v, t;
};

AdamArrays run_adam(simd::Isa isa, int64_t n, int steps) {
  Rng rng(99);
  AdamArrays a{random_matrix(rng, n),       random_matrix(rng, n),       random_matrix(rng, n),
               std::vector<float>(n, 0.0f), std::vector<float>(n, 0.0f), random_matrix(rng, n)};
  simd::force_adam_isa(isa);
  for (int s = 1; s <= steps; ++s) {
    const float* grads[2] = {a.g0.data(), a.g1.data()};
    const simd::AdamCoefficients c{0.9f,
                                   0.999f,
                                   1e-8f,
                                   0.01f,
                                   static_cast<float>(1e-3 / (1.0 - std::pow(0.9, s))),
                                   static_cast<float>(std::sqrt(1.0 - std::pow(0.999, s)))};
    simd::adam_fused(a.p.data(), grads, 2, a.m.data(), a.v.data(), n, c, a.t.data(), 0.005f);
    for (float& x : a.g0) x = -0.7f * x + 0.01f;  // a gradient that changes between steps
  }
  return a;
}

TEST_P(SimdIsa, FusedPassFollowsTheReferenceAndWideFormsAgreeBitForBit) {
  const int64_t n = 1000 + 37;
  const int steps = 4;
  const AdamArrays got = run_adam(GetParam(), n, steps);
  // the double reference
  Rng rng(99);
  const std::vector<float> p0 = random_matrix(rng, n), g00 = random_matrix(rng, n),
                           g1 = random_matrix(rng, n), t0 = random_matrix(rng, n);
  for (int64_t k = 0; k < n; ++k) {
    double p = p0[k], m = 0, v = 0, t = t0[k], g0 = g00[k];
    for (int s = 1; s <= steps; ++s) {
      const double g = static_cast<double>(static_cast<float>(g0 + g1[k])) + 0.01 * p;
      m = 0.9 * m + 0.1 * g;
      v = 0.999 * v + 0.001 * g * g;
      p -= 1e-3 / (1.0 - std::pow(0.9, s)) * m /
           (std::sqrt(v) / std::sqrt(1.0 - std::pow(0.999, s)) + 1e-8);
      t += 0.005 * (p - t);
      g0 = static_cast<float>(-0.7f * static_cast<float>(g0) + 0.01f);
    }
    ASSERT_NEAR(got.p[k], p, 1e-5 * (1.0 + std::abs(p))) << "element " << k;
    ASSERT_NEAR(got.m[k], m, 1e-5 * (1.0 + std::abs(m))) << "element " << k;
    ASSERT_NEAR(got.v[k], v, 1e-5 * (1.0 + std::abs(v))) << "element " << k;
    ASSERT_NEAR(got.t[k], t, 1e-5 * (1.0 + std::abs(t))) << "element " << k;
  }
  if (GetParam() == simd::Isa::kAvx512) {
    const AdamArrays narrow = run_adam(simd::Isa::kAvx2, n, steps);
    EXPECT_EQ(0, std::memcmp(got.p.data(), narrow.p.data(), n * sizeof(float)));
    EXPECT_EQ(0, std::memcmp(got.m.data(), narrow.m.data(), n * sizeof(float)));
    EXPECT_EQ(0, std::memcmp(got.v.data(), narrow.v.data(), n * sizeof(float)));
    EXPECT_EQ(0, std::memcmp(got.t.data(), narrow.t.data(), n * sizeof(float)));
  }
}

// LayerNorm forward (with ReLU) and backward at each width, against a double reference; the
// AVX-512 form gives the AVX2 form's bits. Rows with a stride wider than n, n with a remainder.
struct LnArrays {
  std::vector<float> y, xhat, rstd, g, gg, gb;
};

LnArrays run_layer_norm(simd::Isa isa, int rows, int n, int ld, const std::vector<float>& y0,
                        const std::vector<float>& g0, const std::vector<float>& gain,
                        const std::vector<float>& bias) {
  LnArrays o{y0,
             std::vector<float>(int64_t{rows} * n),
             std::vector<float>(rows),
             g0,
             std::vector<float>(n),
             std::vector<float>(n)};
  simd::force_adam_isa(isa);
  simd::layer_norm(o.y.data(), rows, ld, n, gain.data(), bias.data(), 1e-5f, o.xhat.data(),
                   o.rstd.data(), true);
  simd::layer_norm_backward(o.g.data(), rows, n, gain.data(), o.xhat.data(), o.rstd.data(),
                            o.gg.data(), o.gb.data());
  return o;
}

TEST_P(SimdIsa, LayerNormFollowsTheReferenceAndWideFormsAgreeBitForBit) {
  const int rows = 5, n = 37, ld = 41;
  Rng rng(7);
  std::vector<float> y0 = random_matrix(rng, int64_t{rows} * ld), g0 = random_matrix(rng, rows * n),
                     gain = random_matrix(rng, n), bias = random_matrix(rng, n);
  for (int j = 0; j < n; ++j) y0[j] = 3.0f + 0.01f * y0[j];  // a row with a large mean
  const LnArrays got = run_layer_norm(GetParam(), rows, n, ld, y0, g0, gain, bias);
  std::vector<double> gg(n, 0.0), gb(n, 0.0);
  for (int r = 0; r < rows; ++r) {
    const float* x = y0.data() + int64_t{r} * ld;
    double mean = 0, var = 0;
    for (int j = 0; j < n; ++j) mean += x[j] / double(n);
    for (int j = 0; j < n; ++j) var += (x[j] - mean) * (x[j] - mean) / n;
    const double rs = 1.0 / std::sqrt(var + 1e-5);
    ASSERT_NEAR(got.rstd[r], rs, 1e-5 * rs);
    std::vector<double> h(n), gh(n);
    double m1 = 0, m2 = 0;
    for (int j = 0; j < n; ++j) {
      h[j] = (x[j] - mean) * rs;
      ASSERT_NEAR(got.xhat[int64_t{r} * n + j], h[j], 1e-4) << r << "," << j;
      ASSERT_NEAR(got.y[int64_t{r} * ld + j], std::max(0.0, gain[j] * h[j] + bias[j]), 1e-4);
      const double g = g0[int64_t{r} * n + j];
      gg[j] += g * h[j];
      gb[j] += g;
      gh[j] = g * gain[j];
      m1 += gh[j] / n;
      m2 += gh[j] * h[j] / n;
    }
    for (int j = 0; j < n; ++j) {
      ASSERT_NEAR(got.g[int64_t{r} * n + j], rs * (gh[j] - m1 - h[j] * m2), 1e-4) << r << "," << j;
    }
    for (int j = n; j < ld; ++j) ASSERT_EQ(got.y[int64_t{r} * ld + j], y0[int64_t{r} * ld + j]);
  }
  for (int j = 0; j < n; ++j) {
    ASSERT_NEAR(got.gg[j], gg[j], 1e-4);
    ASSERT_NEAR(got.gb[j], gb[j], 1e-4);
  }
  if (GetParam() == simd::Isa::kAvx512) {
    const LnArrays narrow = run_layer_norm(simd::Isa::kAvx2, rows, n, ld, y0, g0, gain, bias);
    EXPECT_EQ(got.y, narrow.y);
    EXPECT_EQ(got.xhat, narrow.xhat);
    EXPECT_EQ(got.rstd, narrow.rstd);
    EXPECT_EQ(got.g, narrow.g);
    EXPECT_EQ(got.gg, narrow.gg);
    EXPECT_EQ(got.gb, narrow.gb);
  }
}

INSTANTIATE_TEST_SUITE_P(AllIsas, SimdIsa,
                         testing::Values(simd::Isa::kAvx512, simd::Isa::kAvx2,
                                         simd::Isa::kBaseline),
                         [](const testing::TestParamInfo<simd::Isa>& p) {
                           return std::string(simd::isa_name(p.param));
                         });

TEST(Simd, ForceSimdIsaRefusesOnesTheCpuLacks) {
  const simd::Isa initial = simd::adam_isa();
  for (simd::Isa i : {simd::Isa::kAvx512, simd::Isa::kAvx2, simd::Isa::kBaseline}) {
    if (simd::supported(i)) {
      simd::force_adam_isa(i);
      EXPECT_EQ(simd::adam_isa(), i);
    } else {
      std::printf("(this CPU lacks the %s Adam pass: force must refuse it)\n", simd::isa_name(i));
      EXPECT_THROW(simd::force_adam_isa(i), Error);
    }
  }
  simd::force_adam_isa(initial);
}

// The 512-bit FMA units per core, from the peaks at both widths (figures of our machines).
TEST(Gemm, FmaUnitsAreInferredFromThePeaksAtBothWidths) {
  EXPECT_EQ((simd::FmaPeaks{218.1, 113.7}.fma_units_512bit()), 2);  // Zen 5
  EXPECT_EQ((simd::FmaPeaks{190.0, 96.0}.fma_units_512bit()), 2);   // Xeon, two FMA units
  EXPECT_EQ((simd::FmaPeaks{117.9, 117.6}.fma_units_512bit()), 1);  // Zen 4, double-pumped
  EXPECT_EQ((simd::FmaPeaks{0.0, 100.0}.fma_units_512bit()), 0);    // no AVX-512
}

// The read probe under `bench act`'s floor: a hot buffer read faster from L1 (32 KB) than from
// further out (8 MB, past any core's L2), and at a rate a real core has (1 GB/s to 10 TB/s). A
// loop the compiler dropped, or a clock read per pass, would break one or the other.
TEST(Gemm, ReadBandwidthIsFinitePositiveAndFasterInL1) {
  const double l1 = simd::read_gbps(32 * 1024, 0.05);
  const double far = simd::read_gbps(8 * 1024 * 1024, 0.05);
  EXPECT_GT(l1, 1.0);
  EXPECT_LT(l1, 10000.0);
  EXPECT_GT(far, 1.0);
  EXPECT_GT(l1, far);
}

TEST(Gemm, AnUnknownDdpgGemmValueIsAnErrorNamingTheChoices) {
  const char* old = std::getenv("DDPG_GEMM");
  const std::string saved = old ? old : "";
  setenv("DDPG_GEMM", "avx1024", 1);
  try {
    gemm::reset();
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("use avx512, avx2 or blas"), std::string::npos)
        << e.what();
  }
  setenv("DDPG_GEMM", "blas", 1);
  gemm::reset();
  EXPECT_EQ(gemm::path(), gemm::Path::kBlas);
  if (old) {
    setenv("DDPG_GEMM", saved.c_str(), 1);
  } else {
    unsetenv("DDPG_GEMM");
  }
  gemm::reset();
}

}  // namespace
}  // namespace ddpg
