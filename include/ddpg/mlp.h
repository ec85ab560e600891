// Mlp: the actor's and critic's multilayer perceptrons as plain float kernels over one flat
// parameter buffer, with a hand-written backward pass: the networks of training (the update engine)
// and of acting. The tests check them against LibTorch modules (tests/oracle.h) holding the same
// parameters.
//
// Layout of the flat buffer, in LibTorch's parameter order:
//   for each hidden layer i: W_i (h_i × in_i, row-major), b_i (h_i), [LayerNorm gain_i, bias_i
//   (h_i)] output layer: W_out (out × in_L), b_out (out)
// Layer i's input width in_i is the previous width, plus `extra` columns (the critic's action)
// appended on the right at layer `extra_at`, as torch::cat({h, action}, 1) does.
//
// Matrix multiplies go to gemm.h: AVX-512 kernels where the CPU has them, else the system BLAS
// (cblas_sgemm; inside an OpenMP parallel region OpenBLAS runs each call on the calling thread
// only). Either way every multiply is single-threaded, and the update engine uses the cores by
// giving each its own rows (see update_engine.h). The bias and ReLU of the forward pass, and ReLU's
// backward, are applied as the multiplies store their results.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ddpg/aligned.h"
#include "ddpg/rng.h"

namespace ddpg {

enum class Activation { kRelu, kTanh, kElu, kLeakyRelu };
// The constants of the hidden layers (LibTorch's defaults; an exported graph states them too):
// LayerNorm's ε and LeakyReLU's negative slope. ELU has α = 1.
constexpr float kLayerNormEps = 1e-5f;
constexpr float kLeakySlope = 0.01f;
Activation parse_activation(const std::string& name);

struct MlpShape {
  int in = 0;               // observation width
  int extra = 0;            // extra input columns (the critic's action)
  int extra_at = -1;        // hidden layer they join (-1: none)
  std::vector<int> hidden;  // hidden widths
  int out = 0;              // output width
  bool layer_norm = false;  // LayerNorm after each hidden Linear, before the activation
  Activation activation = Activation::kRelu;
  bool tanh_out = false;  // tanh on the output (the actor)

  int layers() const { return static_cast<int>(hidden.size()) + 1; }
  int layer_in(int i) const;   // input width of layer i (extra columns included)
  int layer_out(int i) const;  // output width of layer i
  // Offsets into the flat buffer.
  int64_t weight_offset(int i) const;
  int64_t bias_offset(int i) const {
    return weight_offset(i) + int64_t{layer_out(i)} * layer_in(i);
  }
  int64_t ln_gain_offset(int i) const { return bias_offset(i) + layer_out(i); }
  int64_t ln_bias_offset(int i) const { return ln_gain_offset(i) + layer_out(i); }
  int64_t size() const;  // floats in the flat buffer
  // Widest layer input or output (scratch sizes).
  int max_width() const;
  // Multiply-adds per row of one forward pass.
  int64_t macs_per_row() const;
};

// Per-call scratch for a batch of up to `rows` rows: layer inputs (kept for the backward pass),
// LayerNorm statistics and gradient buffers. Allocated once; forward/backward never allocate.
struct MlpWorkspace {
  MlpWorkspace() = default;
  MlpWorkspace(const MlpShape& shape, int rows);
  int rows = 0;
  // Staggered arrays (aligned.h): the row loops stream through several of them at once.
  std::vector<FloatBuffer> x;     // x[i]: input of layer i, rows × layer_in(i)
  std::vector<FloatBuffer> xhat;  // LayerNorm: normalised pre-activation per hidden layer
  std::vector<FloatBuffer> rstd;  // LayerNorm: 1/σ per row per hidden layer
  FloatBuffer out;                // rows × out
  FloatBuffer d0, d1;             // backward ping-pong, rows × max width
  FloatBuffer dz;                 // rows × max width

  float* input() { return x[0].data(); }  // rows × layer_in(0)
  float* extra_input(const MlpShape& s);  // column block of the extra inputs
  int extra_ld(const MlpShape& s) const;  // its row stride
};

// The parameter tensors of the flat buffer in order (each hidden layer's weight, bias and, with
// LayerNorm, gain and bias; then the output layer's weight and bias): the unit of checkpoints and
// of parameter-space noise.
struct MlpTensor {
  int64_t offset, size;
  bool layer_norm;  // a LayerNorm gain or bias
};
std::vector<MlpTensor> mlp_tensors(const MlpShape& s);

// Initialises a flat buffer as the DDPG paper (§7) and PyTorch's nn.Linear do: every weight and
// bias ~ U(±1/√fan_in), fan_in the layer's input width; LayerNorm gain 1, bias 0; and the output
// layer's weight and bias ~ U(±final_init) when final_init > 0 (the paper's 3e-3). Draws come
// from `rng` in the buffer's order.
void mlp_init(const MlpShape& s, double final_init, Rng& rng, float* params);

// Forward pass for `rows` rows whose inputs are already in ws.x[0] (and the extra columns).
void mlp_forward(const MlpShape& s, const float* params, MlpWorkspace& ws, int rows);

// A parameter gradient of the backward pass: the sum over rows [row0, row0 + rows), written
// (not accumulated) into `grad`.
struct GradSegment {
  int row0 = 0, rows = 0;
  float* grad = nullptr;
};

// Backward pass after mlp_forward on the same workspace. d_out: rows × out, ∂loss/∂output.
// segs: `nsegs` parameter gradients, each over its own rows (none: no parameter gradient); the
// update engine gives one per shard of a block of shards. When given, the segments must together
// cover rows [0, rows): LayerNorm's backward runs segment by segment. d_extra (optional): rows ×
// extra, ∂loss/∂extra inputs (the action, for the actor step).
void mlp_backward(const MlpShape& s, const float* params, MlpWorkspace& ws, int rows,
                  const float* d_out, const GradSegment* segs, int nsegs, float* d_extra);
// The same with one gradient over all the rows (grad optional).
inline void mlp_backward(const MlpShape& s, const float* params, MlpWorkspace& ws, int rows,
                         const float* d_out, float* grad, float* d_extra) {
  const GradSegment all{0, rows, grad};
  mlp_backward(s, params, ws, rows, d_out, &all, grad ? 1 : 0, d_extra);
}

// The same forward pass for a few rows without BLAS (for acting): x rows × in (and extra), y rows ×
// out. scratch must hold 2 × max_width() floats. With `transposed`, params is a copy laid out by
// mlp_pack_act.
void mlp_act(const MlpShape& s, const float* params, const float* x, const float* extra, int rows,
             float* y, float* scratch, bool transposed = false);

// A copy of the parameters for acting many times with the same network (evaluation, a deployed
// policy): the weights of every layer with mlp_act_transposed(s, i) stored transposed (in × out),
// everything else as in params. One row against transposed weights reads them as one sequential
// stream, which is faster from L2 than the rows of W several at a time (docs/performance.md,
// "Acting"); the copy costs about as much as ten acts, so it pays for an unchanged network only.
bool mlp_act_transposed(const MlpShape& s, int layer);
void mlp_pack_act(const MlpShape& s, const float* params, float* packed);

// One GEMM as the engine issues it, for the matrix-multiply floor (bench update).
struct GemmShape {
  bool trans_a, trans_b;
  int m, n, k;
};
// The multiplies of one forward (and backward, with the given options) pass of `rows` rows.
void mlp_forward_gemms(const MlpShape& s, int rows, std::vector<GemmShape>& out);
// grad_rows: the rows of each parameter gradient (GradSegment), nullptr for none.
void mlp_backward_gemms(const MlpShape& s, int rows, const std::vector<int>* grad_rows,
                        bool d_extra, std::vector<GemmShape>& out);
// Runs each multiply once on scratch operands, with the kernels the engine uses for it (the
// matrix-multiply floor).
void run_gemms(const std::vector<GemmShape>& gemms, float* a, float* b, float* c);
double gemm_flop(const std::vector<GemmShape>& gemms);

}  // namespace ddpg
