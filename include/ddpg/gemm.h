// Gemm: the single-threaded matrix multiplies of the update engine (row-major, C = op(A) · op(B)),
// written with AVX-512 for the shapes of DDPG's networks.
//
// Why our own: OpenBLAS packs both operands on every call. For the engine's shapes (a shard of 128
// rows times 400 × 300 weights) that packing costs ~15%, and OpenBLAS reaches 78–86% of a Zen 4
// core's FP32 peak; these kernels read the operands where they lie and reach 87–95% (see
// docs/performance.md). The three layouts of an MLP's passes each get the kernel that suits them:
//   forward       Y = X · Wᵀ      nt: dot products along k (rows of X against rows of W)
//   input grad    dX = dZ · W     nn: outer products, vectors along the rows of W
//   weight grad   dW = dZᵀ · X    tn: outer products, vectors along the rows of X
// The multiplies that produce a layer's output can also add its bias and apply ReLU (or ReLU's
// backward) as they store it (Epilogue), which saves a pass over the output.
//
// The kernels are chosen at run time: on a CPU without AVX-512F and VL, or with DDPG_GEMM=blas in
// the environment, every call goes to cblas_sgemm instead. Results differ from OpenBLAS's only by
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

// True when the AVX-512 kernels are in use (the CPU has AVX-512F and VL, and DDPG_GEMM is not
// "blas").
bool native();
// Sends every multiply to BLAS from now on (on), or back to the AVX-512 kernels where the CPU has
// them (off): for tests and comparisons, between updates, not while a multiply runs.
void force_blas(bool on);

// C (m × n, ldc) = A (m × k, lda) · B (k × n, ldb).
void nn(int m, int n, int k, const float* a, int lda, const float* b, int ldb, float* c, int ldc,
        const Epilogue& ep = {});
// C (m × n, ldc) = Aᵀ · B, A stored k × m (lda).
void tn(int m, int n, int k, const float* a, int lda, const float* b, int ldb, float* c, int ldc);
// C (m × n, ldc) = A (m × k, lda) · Bᵀ, B stored n × k (ldb).
void nt(int m, int n, int k, const float* a, int lda, const float* b, int ldb, float* c, int ldc,
        const Epilogue& ep = {});

}  // namespace ddpg::gemm
