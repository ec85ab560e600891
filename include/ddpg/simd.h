// simd: the few hand-vectorised kernels of the hot paths (acting, Adam, Polyak averaging,
// LayerNorm) and the FP32 FMA peak measurement. Each kernel is compiled for AVX2+FMA (Adam and
// LayerNorm also for AVX-512) and for the baseline x86-64 ISA, and the best one the CPU supports
// is chosen once at run time, so that the default (portable) build still runs at full width on
// the machines that have it.
#pragma once

#include <cstdint>
#include <string>

namespace ddpg::simd {

// The instruction set of the Adam and Polyak pass and of LayerNorm ("avx512", "avx2+fma" or
// "baseline"; gemv runs at AVX2 at most).
std::string isa();

// The Adam and Polyak pass (and LayerNorm) at each width: AVX-512F where the CPU has it (with AVX2
// and FMA), else AVX2+FMA, else the baseline ISA; DDPG_SIMD=avx512|avx2|baseline picks one (an ISA
// the CPU lacks, or an unknown name, is an error). The AVX-512 and AVX2 forms give the same bits;
// the baseline has no FMA and differs in the last bits.
enum class Isa { kBaseline, kAvx2, kAvx512 };
const char* isa_name(Isa i);
bool supported(Isa i);
Isa adam_isa();
void force_adam_isa(Isa i);  // for tests and benchmarks; throws where the CPU lacks it

// y (n) = W (n × in, row-major) · x (in) + b (n).
void gemv(const float* w, const float* b, int n, int in, const float* x, float* y);

// One Adam step (LibTorch's semantics: L2 weight decay added to the gradient) on elements [0, n):
//   g ← grad + wd·p;  m ← β1 m + (1−β1) g;  v ← β2 v + (1−β2) g²;
//   p ← p − step_size · m / (√v / sqrt_bc2 + eps)
struct AdamCoefficients {
  float beta1, beta2, eps, weight_decay, step_size, sqrt_bc2;
};
void adam(float* p, const float* grad, float* m, float* v, int64_t n, const AdamCoefficients& c);

// The fused form the update uses: the gradient is the sum of `count` shard gradients (in order
// s = 0..count−1), then the Adam step above, then (when `target` is not null) Polyak averaging of
// `target` towards the new parameters; one pass over the arrays instead of three.
void adam_fused(float* p, const float* const* grads, int count, float* m, float* v, int64_t n,
                const AdamCoefficients& c, float* target, float tau);

// LayerNorm of `rows` rows of y (row stride ld, n features), in place: y ← gain · x̂ + bias with
// x̂ = (y − μ)/σ, σ = √(var + eps), then ReLU when `relu`. μ and the variance are summed in double
// over 16 fixed partial sums, so every ISA gives the same bits. x̂ (rows × n) and 1/σ (rows) are
// kept for the backward pass where xhat and rstd are not null.
void layer_norm(float* y, int rows, int ld, int n, const float* gain, const float* bias, float eps,
                float* xhat, float* rstd, bool relu);

// Its backward pass, in place on g (rows × n, ∂loss/∂ the LayerNorm's output): g ← ∂loss/∂ its
// input = (1/σ)(ĝ − mean ĝ − x̂ · mean(ĝ x̂)) with ĝ = g · gain. Where gain_grad is not null,
// gain_grad and bias_grad (n each) are set to Σ over rows of g · x̂ and of g (before the rest).
void layer_norm_backward(float* g, int rows, int n, const float* gain, const float* xhat,
                         const float* rstd, float* gain_grad, float* bias_grad);

// dst ← Σ_s src[s] (in order s = 0..count−1), elements [0, n).
void sum(float* dst, const float* const* src, int count, int64_t n);

// Σ x², in double.
double sum_squares(const float* x, int64_t n);

// How fast one core reads a buffer of `bytes` that is already in cache (hot, repeated passes, the
// widest loads the CPU has), in GB/s: the best over `seconds`. For a buffer the size of a policy's
// weights it is the cache level's bandwidth, the floor under any kernel that reads them once.
double read_gbps(int64_t bytes, double seconds);

// The FP32 multiply-add peak of one core, in GFLOP/s, measured for `seconds` with independent FMA
// chains at the widest vector width the CPU has (a multiply-add counts as 2 FLOP). `width` receives
// the width used, in floats.
double fma_peak_gflops(double seconds, int* width);

// The same peak of one core measured at each vector width the CPU has (0 where it lacks the ISA).
// Their ratio tells how many 512-bit FMAs a core issues per cycle: where AVX-512 runs at the AVX2
// rate, one (Zen 4's double-pumped unit, Intel parts with one 512-bit FMA port); where it runs at
// twice that rate, two (Zen 5, Intel parts with the second FMA unit on port 5).
struct FmaPeaks {
  double avx512 = 0.0, avx2 = 0.0, sse = 0.0;  // sse: only where neither of the others exists
  int fma_units_512bit() const;                // 1 or 2 (0 without AVX-512)
  // The peak fma_peak_gflops reports (the widest unit unless a narrower one is > 2% faster);
  // `width` receives its width in floats.
  double best(int* width) const;
};
FmaPeaks fma_peaks(double seconds);

}  // namespace ddpg::simd
