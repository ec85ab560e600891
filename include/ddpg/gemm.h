// Gemm: the single-threaded matrix multiplies of the update engine, C = op(A) · B with B row-major
// (k × n) and C row-major (m × n), written with AVX-512 for the shapes of DDPG's networks.
//
// Why our own: OpenBLAS packs both operands on every call. For the engine's shapes (a shard of 128
// rows times 400 × 300 weights) that packing is ~15% of the multiply, and OpenBLAS reaches 78–86%
// of a Zen 4 core's FP32 peak; these kernels read the operands in place and reach ~93% (see
// docs/performance.md). They need B's rows contiguous along n, which is the layout of the weights
// in the backward pass (dX = dZ · W) and of the layer inputs in the weight gradient (dW = dZᵀ · X).
// The forward pass (Y = X · Wᵀ) needs Wᵀ; the engine keeps a transposed copy of the weights for it
// (`transpose`, mlp_transpose_weights).
//
// The kernels are chosen at run time: on a CPU without AVX-512F, or with DDPG_GEMM=blas in the
// environment, every call goes to cblas_sgemm instead. Results differ from OpenBLAS's only by
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

// True when the AVX-512 kernels are in use (the CPU has AVX-512F and DDPG_GEMM is not "blas").
bool native();

// C (m × n, ldc) = A (m × k, lda) · B (k × n, ldb).
void nn(int m, int n, int k, const float* a, int lda, const float* b, int ldb, float* c, int ldc,
        const Epilogue& ep = {});
// C (m × n, ldc) = Aᵀ · B, A stored k × m (lda).
void tn(int m, int n, int k, const float* a, int lda, const float* b, int ldb, float* c, int ldc);
// C (m × n, ldc) = A (m × k, lda) · Bᵀ, B stored n × k (ldb). Always cblas_sgemm: the engine calls
// nn() with a transposed copy of B instead where that is faster.
void nt(int m, int n, int k, const float* a, int lda, const float* b, int ldb, float* c, int ldc);

// dst (cols × rows, ldd) = src (rows × cols, lds)ᵀ.
void transpose(const float* src, int rows, int cols, int lds, float* dst, int ldd);

}  // namespace ddpg::gemm
