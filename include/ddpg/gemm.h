// Gemm: the single-threaded matrix multiplies of the update engine (row-major, C = op(A) · op(B)),
// written with AVX-512 and with AVX2+FMA for the shapes of DDPG's networks.
//
// Why our own: OpenBLAS packs both operands on every call. For the engine's shapes (a shard of 128
// rows times 400 × 300 weights) that packing costs ~15%, and OpenBLAS reaches 78–86% of a Zen 4
// core's FP32 peak; these kernels read the operands where they lie and reach 87–95% (see
// docs/performance.md). Debian's OpenBLAS also falls back to a slow generic kernel on CPUs it does
// not recognise, so nothing fast depends on it. The three layouts of an MLP's passes:
//   forward       Y = X · Wᵀ      nt: dot products along k (rows of X against rows of W) for a few
//                                     rows (acting); for many rows a transposed copy of W and the
//                                     outer-product kernel
//   input grad    dX = dZ · W     nn: outer products, vectors along the rows of W; for fewer
//                                     columns than a vector (an action's gradient), dot products
//                                     on a transposed copy of W's columns; for one row (acting on
//                                     a policy's transposed weights, mlp_pack_act) one row against
//                                     up to 16 vectors of B's rows, read as one stream
//   weight grad   dW = dZᵀ · X    tn: outer products, vectors along the rows of X
// The multiplies that produce a layer's output can also add its bias and apply ReLU (or ReLU's
// backward) as they store it (Epilogue), which saves a pass over the output.
//
// Paths, chosen at run time: the AVX-512 kernels where the CPU has AVX-512F and VL, else the AVX2
// kernels where it has AVX2 and FMA, else cblas_sgemm. DDPG_GEMM=avx512|avx2|blas in the
// environment picks one (an error if the CPU lacks it). Results differ between paths only by
// floating-point summation order.
#pragma once

namespace ddpg::gemm {

// Work done on C as it is stored, so that it costs no extra pass over C: C ← C + bias (per column),
// then max(C, 0) (ReLU), then C ← gate > 0 ? C : 0 (ReLU's backward, from the layer's output).
struct Epilogue {
  const float* bias = nullptr;  // n
  bool relu = false;
  const float* gate = nullptr;  // m × n, row stride gate_ld
  int gate_ld = 0;
};

enum class Path { kAvx512, kAvx2, kBlas };

// nt with at least this many rows transposes B, a panel at a time, for the outer-product kernel;
// with fewer it runs dot products. On our kernels (native()) an element of C is summed from its own
// row of A in an order that does not depend on m once m ≥ kPackMinRows (below it nt takes the other
// route, and nn has a kernel of its own for m = 1), so a row of C gets the same bits whatever else
// is multiplied with it: the update engine relies on that to run several shards' rows as one
// multiply (update_engine.h).
constexpr int kPackMinRows = 32;

// "avx512", "avx2", "blas" (the names DDPG_GEMM takes).
const char* path_name(Path p);
// True when this CPU can run the path (BLAS: always).
bool supported(Path p);
// The path in use.
Path path();
// True when one of our kernels is in use (not BLAS).
bool native();
// Sends every multiply to path `p` from now on (an Error if the CPU lacks it), or back to the
// initial choice (reset): for tests and comparisons, between updates, not while a multiply runs.
void force(Path p);
void reset();

// C (m × n, ldc) = A (m × k, lda) · B (k × n, ldb).
void nn(int m, int n, int k, const float* a, int lda, const float* b, int ldb, float* c, int ldc,
        const Epilogue& ep = {});
// C (m × n, ldc) = Aᵀ · B, A stored k × m (lda).
void tn(int m, int n, int k, const float* a, int lda, const float* b, int ldb, float* c, int ldc);
// bt (k × n, ldt) = b (n × k, ldb) transposed (in registers on our paths).
void transpose(int n, int k, const float* b, int ldb, float* bt, int ldt);
// C (m × n, ldc) = A (m × k, lda) · Bᵀ, B stored n × k (ldb).
void nt(int m, int n, int k, const float* a, int lda, const float* b, int ldb, float* c, int ldc,
        const Epilogue& ep = {});

}  // namespace ddpg::gemm
