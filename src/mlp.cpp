// Mlp kernels: see mlp.h.
#include "ddpg/mlp.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include "ddpg/gemm.h"
#include "ddpg/simd.h"

namespace ddpg {
namespace {

// Fills an m × n block of C (ldc) with zeros: the product over an empty k.
void zero_block(int m, int n, float* c, int ldc) {
  for (int r = 0; r < m; ++r) std::fill(c + int64_t{r} * ldc, c + int64_t{r} * ldc + n, 0.0f);
}

// C (m × n, ldc) = op(A) · op(B), row-major.
void sgemm(bool ta, bool tb, int m, int n, int k, const float* a, int lda, const float* b, int ldb,
           float* c, int ldc) {
  if (m == 0 || n == 0) return;
  if (k == 0) return zero_block(m, n, c, ldc);
  if (tb) return gemm::nt(m, n, k, a, lda, b, ldb, c, ldc);
  if (ta) return gemm::tn(m, n, k, a, lda, b, ldb, c, ldc);
  gemm::nn(m, n, k, a, lda, b, ldb, c, ldc);
}

void activate(Activation a, float* y, int n) {
  switch (a) {
    case Activation::kRelu:
      for (int j = 0; j < n; ++j) y[j] = y[j] > 0.0f ? y[j] : 0.0f;
      break;
    case Activation::kTanh:
      for (int j = 0; j < n; ++j) y[j] = std::tanh(y[j]);
      break;
    case Activation::kElu:
      for (int j = 0; j < n; ++j) y[j] = y[j] > 0.0f ? y[j] : std::expm1(y[j]);
      break;
    case Activation::kLeakyRelu:
      for (int j = 0; j < n; ++j) y[j] = y[j] > 0.0f ? y[j] : kLeakySlope * y[j];
      break;
  }
}

// d ← d · act'(x) where y = act(x), from the output y.
void activate_backward(Activation a, const float* y, float* d, int n) {
  switch (a) {
    case Activation::kRelu:
      for (int j = 0; j < n; ++j) d[j] = y[j] > 0.0f ? d[j] : 0.0f;
      break;
    case Activation::kTanh:
      for (int j = 0; j < n; ++j) d[j] *= 1.0f - y[j] * y[j];
      break;
    case Activation::kElu:
      for (int j = 0; j < n; ++j) d[j] = y[j] > 0.0f ? d[j] : d[j] * (y[j] + 1.0f);
      break;
    case Activation::kLeakyRelu:
      for (int j = 0; j < n; ++j) d[j] = y[j] > 0.0f ? d[j] : d[j] * kLeakySlope;
      break;
  }
}

// Bias, LayerNorm and activation of hidden layer `i` (or the output layer) on `rows` rows of y;
// `bias_done` / `act_done` when the multiply's epilogue already did those.
void finish_layer(const MlpShape& s, const float* params, int i, MlpWorkspace* ws, float* y, int ld,
                  int rows, bool bias_done = false, bool act_done = false) {
  const int n = s.layer_out(i);
  const float* b = params + s.bias_offset(i);
  const bool hidden = i + 1 < s.layers();
  if (bias_done && (hidden ? act_done : !s.tanh_out)) return;
  if (!bias_done) {
    for (int r = 0; r < rows; ++r) {
      float* row = y + int64_t{r} * ld;
      for (int j = 0; j < n; ++j) row[j] += b[j];
    }
  }
  if (hidden && s.layer_norm) {
    // LayerNorm over all the rows at once, with ReLU in its last pass
    const bool relu = !act_done && s.activation == Activation::kRelu;
    simd::layer_norm(y, rows, ld, n, params + s.ln_gain_offset(i), params + s.ln_bias_offset(i),
                     kLayerNormEps, ws ? ws->xhat[i].data() : nullptr,
                     ws ? ws->rstd[i].data() : nullptr, relu);
    if (!act_done && !relu) {
      for (int r = 0; r < rows; ++r) activate(s.activation, y + int64_t{r} * ld, n);
    }
    return;
  }
  for (int r = 0; r < rows; ++r) {
    float* row = y + int64_t{r} * ld;
    if (hidden) {
      if (!act_done) activate(s.activation, row, n);
    } else if (s.tanh_out) {
      for (int j = 0; j < n; ++j) row[j] = std::tanh(row[j]);
    }
  }
}

// gb (n) = Σ over rows of d (rows × n, ld).
void column_sums(const float* d, int rows, int n, int ld, float* gb) {
  std::fill(gb, gb + n, 0.0f);
  for (int r = 0; r < rows; ++r) {
    const float* row = d + int64_t{r} * ld;
    for (int j = 0; j < n; ++j) gb[j] += row[j];
  }
}

}  // namespace

Activation parse_activation(const std::string& name) {
  if (name == "relu") return Activation::kRelu;
  if (name == "tanh") return Activation::kTanh;
  if (name == "elu") return Activation::kElu;
  if (name == "leaky_relu") return Activation::kLeakyRelu;
  throw std::invalid_argument("unknown activation '" + name + "'");
}

std::vector<MlpTensor> mlp_tensors(const MlpShape& s) {
  std::vector<MlpTensor> t;
  for (int i = 0; i < s.layers(); ++i) {
    t.push_back({s.weight_offset(i), int64_t{s.layer_out(i)} * s.layer_in(i), false});
    t.push_back({s.bias_offset(i), s.layer_out(i), false});
    if (s.layer_norm && i + 1 < s.layers()) {
      t.push_back({s.ln_gain_offset(i), s.layer_out(i), true});
      t.push_back({s.ln_bias_offset(i), s.layer_out(i), true});
    }
  }
  return t;
}

void mlp_init(const MlpShape& s, double final_init, Rng& rng, float* params) {
  for (int i = 0; i < s.layers(); ++i) {
    const bool out = i + 1 == s.layers();
    const double bound = out && final_init > 0 ? final_init : 1.0 / std::sqrt(s.layer_in(i));
    const int64_t n = int64_t{s.layer_out(i)} * s.layer_in(i) + s.layer_out(i);  // W, then b
    float* p = params + s.weight_offset(i);
    for (int64_t j = 0; j < n; ++j) p[j] = static_cast<float>(rng.uniform(-bound, bound));
    if (s.layer_norm && !out) {
      std::fill_n(params + s.ln_gain_offset(i), s.layer_out(i), 1.0f);
      std::fill_n(params + s.ln_bias_offset(i), s.layer_out(i), 0.0f);
    }
  }
}

int MlpShape::layer_in(int i) const {
  int w = i == 0 ? in : hidden[i - 1];
  if (i == extra_at) w += extra;
  return w;
}

int MlpShape::layer_out(int i) const { return i + 1 < layers() ? hidden[i] : out; }

int64_t MlpShape::weight_offset(int i) const {
  int64_t off = 0;
  for (int j = 0; j < i; ++j) {
    const int64_t n = layer_out(j);
    off += n * layer_in(j) + n + (layer_norm ? 2 * n : 0);
  }
  return off;
}

int64_t MlpShape::size() const {
  const int last = layers() - 1;
  return weight_offset(last) + int64_t{out} * layer_in(last) + out;
}

int MlpShape::max_width() const {
  int w = out;
  for (int i = 0; i < layers(); ++i) w = std::max(w, layer_in(i));
  return w;
}

int64_t MlpShape::macs_per_row() const {
  int64_t m = 0;
  for (int i = 0; i < layers(); ++i) m += int64_t{layer_in(i)} * layer_out(i);
  return m;
}

MlpWorkspace::MlpWorkspace(const MlpShape& s, int rows_) : rows(rows_) {
  const int widest = s.max_width();
  for (int i = 0; i < s.layers(); ++i) {
    x.emplace_back(int64_t{rows} * s.layer_in(i));
    if (i + 1 < s.layers() && s.layer_norm) {
      xhat.emplace_back(int64_t{rows} * s.layer_out(i));
      rstd.emplace_back(rows);
    } else {
      xhat.emplace_back();
      rstd.emplace_back();
    }
  }
  out = FloatBuffer(int64_t{rows} * s.out);
  d0 = FloatBuffer(int64_t{rows} * widest);
  d1 = FloatBuffer(int64_t{rows} * widest);
  dz = FloatBuffer(int64_t{rows} * widest);
}

float* MlpWorkspace::extra_input(const MlpShape& s) {
  return x[s.extra_at].data() + (s.layer_in(s.extra_at) - s.extra);
}

int MlpWorkspace::extra_ld(const MlpShape& s) const { return s.layer_in(s.extra_at); }

void mlp_forward(const MlpShape& s, const float* params, MlpWorkspace& ws, int rows) {
  const int layers = s.layers();
  for (int i = 0; i < layers; ++i) {
    const int in = s.layer_in(i), n = s.layer_out(i);
    const bool last = i + 1 == layers;
    float* y = last ? ws.out.data() : ws.x[i + 1].data();
    const int ld = last ? s.out : s.layer_in(i + 1);
    // y = x · Wᵀ + b, with ReLU in the multiply's epilogue when nothing comes between.
    gemm::Epilogue ep;
    ep.bias = params + s.bias_offset(i);
    ep.relu = !last && !s.layer_norm && s.activation == Activation::kRelu;
    if (in == 0) {
      zero_block(rows, n, y, ld);
      finish_layer(s, params, i, &ws, y, ld, rows);
    } else {
      gemm::nt(rows, n, in, ws.x[i].data(), in, params + s.weight_offset(i), in, y, ld, ep);
      finish_layer(s, params, i, &ws, y, ld, rows, true, ep.relu);
    }
  }
}

void mlp_backward(const MlpShape& s, const float* params, MlpWorkspace& ws, int rows,
                  const float* d_out, const GradSegment* segs, int nsegs, float* d_extra) {
  const int layers = s.layers();
  // dz: ∂loss/∂(pre-activation output) of the current layer, rows × n (packed).
  float* dz = ws.dz.data();
  std::memcpy(dz, d_out, sizeof(float) * rows * s.out);
  if (s.tanh_out) {
    for (int64_t k = 0; k < int64_t{rows} * s.out; ++k) dz[k] *= 1.0f - ws.out[k] * ws.out[k];
  }
  for (int i = layers - 1; i >= 0; --i) {
    const int in = s.layer_in(i), n = s.layer_out(i);
    const float* x = ws.x[i].data();
    const float* w = params + s.weight_offset(i);
    for (int g = 0; g < nsegs; ++g) {
      // ∂W = dzᵀ · x, ∂b = Σ_rows dz, over the segment's rows
      const GradSegment& sg = segs[g];
      const float* dzs = dz + int64_t{sg.row0} * n;
      sgemm(true, false, n, in, sg.rows, dzs, n, x + int64_t{sg.row0} * in, in,
            sg.grad + s.weight_offset(i), in);
      column_sums(dzs, sg.rows, n, n, sg.grad + s.bias_offset(i));
    }
    const bool want_hidden = i > 0;
    const bool want_extra = d_extra && i == s.extra_at;
    if (!want_hidden && !want_extra) break;
    // Hidden layer i−1's width; next_dz: ∂loss/∂ its output, then (below) its pre-activation.
    const int hp = want_hidden ? s.layer_out(i - 1) : 0;
    float* next_dz = ws.d1.data();
    if (!want_extra) {
      // ∂x = dz · W[:, :hp] straight into next_dz, through ReLU in the multiply's epilogue (the
      // gate is the layer's input x, ReLU's output).
      gemm::Epilogue ep;
      const bool relu = s.activation == Activation::kRelu;
      if (relu) {
        ep.gate = x;
        ep.gate_ld = in;
      }
      gemm::nn(rows, hp, n, dz, n, w, in, next_dz, hp, ep);
      if (!relu) {
        for (int r = 0; r < rows; ++r) {
          activate_backward(s.activation, x + int64_t{r} * in, next_dz + int64_t{r} * hp, hp);
        }
      }
    } else {
      // ∂x (columns c0..c1 of the input) = dz · W[:, c0:c1], the extra columns copied out.
      const int c0 = want_hidden ? 0 : in - s.extra;
      const int c1 = in;
      const int dw = c1 - c0;
      float* d = ws.d0.data();
      sgemm(false, false, rows, dw, n, dz, n, w + c0, in, d, dw);
      const int e0 = in - s.extra - c0;
      for (int r = 0; r < rows; ++r) {
        std::memcpy(d_extra + int64_t{r} * s.extra, d + int64_t{r} * dw + e0,
                    sizeof(float) * s.extra);
      }
      if (!want_hidden) break;
      for (int r = 0; r < rows; ++r) {
        float* dr = d + int64_t{r} * dw;
        activate_backward(s.activation, x + int64_t{r} * in, dr, hp);
        std::memcpy(next_dz + int64_t{r} * hp, dr, sizeof(float) * hp);
      }
    }
    if (!want_hidden) break;
    if (s.layer_norm) {
      // row by row, with the gain's and bias's gradients summed per segment
      const float* gain = params + s.ln_gain_offset(i - 1);
      const float* xhat = ws.xhat[i - 1].data();
      const float* rstd = ws.rstd[i - 1].data();
      if (nsegs == 0) {
        simd::layer_norm_backward(next_dz, rows, hp, gain, xhat, rstd, nullptr, nullptr);
      }
      for (int g = 0; g < nsegs; ++g) {
        const GradSegment& sg = segs[g];
        const int64_t at = int64_t{sg.row0} * hp;
        simd::layer_norm_backward(next_dz + at, sg.rows, hp, gain, xhat + at, rstd + sg.row0,
                                  sg.grad + s.ln_gain_offset(i - 1),
                                  sg.grad + s.ln_bias_offset(i - 1));
      }
    }
    std::swap(ws.dz, ws.d1);
    dz = ws.dz.data();
  }
}

bool mlp_act_transposed(const MlpShape& s, int layer) {
  // Fewer outputs than a vector: the dot products on the rows of W fill the lanes better.
  return s.layer_out(layer) >= 16;
}

void mlp_pack_act(const MlpShape& s, const float* params, float* packed) {
  std::memcpy(packed, params, sizeof(float) * s.size());
  for (int i = 0; i < s.layers(); ++i) {
    if (!mlp_act_transposed(s, i)) continue;
    const int n = s.layer_out(i), k = s.layer_in(i);
    gemm::transpose(n, k, params + s.weight_offset(i), k, packed + s.weight_offset(i), n);
  }
}

void mlp_act(const MlpShape& s, const float* params, const float* x, const float* extra, int rows,
             float* y, float* scratch, bool transposed) {
  const int widest = s.max_width();
  for (int r = 0; r < rows; ++r) {
    float* a = scratch;
    float* b = scratch + widest;
    std::memcpy(a, x + int64_t{r} * s.in, sizeof(float) * s.in);
    int width = s.in;
    for (int i = 0; i < s.layers(); ++i) {
      if (i == s.extra_at) {
        std::memcpy(a + width, extra + int64_t{r} * s.extra, sizeof(float) * s.extra);
        width += s.extra;
      }
      const int n = s.layer_out(i);
      const bool last = i + 1 == s.layers();
      float* dst = last ? y + int64_t{r} * s.out : b;
      if (transposed && mlp_act_transposed(s, i)) {
        gemm::Epilogue ep;
        ep.bias = params + s.bias_offset(i);
        gemm::nn(1, n, width, a, width, params + s.weight_offset(i), n, dst, n, ep);
      } else if (gemm::native()) {
        gemm::Epilogue ep;
        ep.bias = params + s.bias_offset(i);
        gemm::nt(1, n, width, a, width, params + s.weight_offset(i), width, dst, n, ep);
      } else {
        simd::gemv(params + s.weight_offset(i), params + s.bias_offset(i), n, width, a, dst);
      }
      // bias already added by gemv: finish without it
      if (!last) {
        if (s.layer_norm) {
          simd::layer_norm(dst, 1, n, n, params + s.ln_gain_offset(i), params + s.ln_bias_offset(i),
                           kLayerNormEps, nullptr, nullptr, false);
        }
        activate(s.activation, dst, n);
        std::swap(a, b);
      } else if (s.tanh_out) {
        for (int j = 0; j < n; ++j) dst[j] = std::tanh(dst[j]);
      }
      width = n;
    }
  }
}

void mlp_forward_gemms(const MlpShape& s, int rows, std::vector<GemmShape>& out) {
  for (int i = 0; i < s.layers(); ++i)
    out.push_back({false, true, rows, s.layer_out(i), s.layer_in(i)});
}

void mlp_backward_gemms(const MlpShape& s, int rows, const std::vector<int>* grad_rows,
                        bool d_extra, std::vector<GemmShape>& out) {
  for (int i = s.layers() - 1; i >= 0; --i) {
    const int in = s.layer_in(i), n = s.layer_out(i);
    if (grad_rows) {
      for (const int r : *grad_rows) out.push_back({true, false, n, in, r});
    }
    const bool want_hidden = i > 0;
    const bool want_extra = d_extra && i == s.extra_at;
    if (!want_hidden && !want_extra) break;
    const int c0 = want_hidden ? 0 : in - s.extra;
    const int c1 = want_extra ? in : in - (i == s.extra_at ? s.extra : 0);
    out.push_back({false, false, rows, c1 - c0, n});
    if (!want_hidden) break;
  }
}

void run_gemms(const std::vector<GemmShape>& gemms, float* a, float* b, float* c) {
  for (const GemmShape& g : gemms) {
    const int lda = g.trans_a ? g.m : g.k;
    const int ldb = g.trans_b ? g.k : g.n;
    sgemm(g.trans_a, g.trans_b, g.m, g.n, g.k, a, lda, b, ldb, c, g.n);
  }
}

double gemm_flop(const std::vector<GemmShape>& gemms) {
  double f = 0.0;
  for (const GemmShape& g : gemms) f += 2.0 * g.m * g.n * g.k;
  return f;
}

}  // namespace ddpg
