// onnx_export: a deployed policy as an ONNX model that maps observations in the env's units to
// actions in the env's units, so that any ONNX runtime can act with it without this project.
//
// The model is written by our own encoder (protobuf_writer.h) with the field numbers of ONNX's
// onnx.proto. Everything the project does between the env and the actor is inside the graph, at
// opset kOnnxOpset (IR version kOnnxIrVersion); `obs` is float32 (batch, obs_dim) with `batch` a
// symbolic dimension, `action` float32 (batch, act_dim):
//
//   obs_normalised = Clip((obs − mean) · inv_std, −clip, clip)   only with agent.obs_norm
//   hidden_i       = act(LayerNormalization(Gemm(hidden_{i−1}, W_i, b_i, transB=1)))
//                    LayerNorm only when the actor has it; act: Relu, Tanh, Elu or LeakyRelu
//   action         = Tanh(Gemm(hidden_L, W_out, b_out, transB=1)) · scale + offset
//                    scale = (high − low)/2, offset = (high + low)/2 per action dimension
//
// The normaliser's statistics are folded into float32 constants (mean, 1/sqrt(var + 1e-8)), as the
// agent's own batched path does (ObsNormalizer::affine); its single-observation path computes in
// double, so the two differ in the last bits. docs/deploy.md describes the graph and its metadata.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "ddpg/agent.h"

namespace ddpg {

// Opset 17 is the first with LayerNormalization; IR version 8 is the one released with it.
constexpr int64_t kOnnxOpset = 17;
constexpr int64_t kOnnxIrVersion = 8;

// The encoded TensorProto of a float32 tensor: name, dims, data row-major as raw_data.
std::string onnx_float_tensor(const std::string& name, const std::vector<int64_t>& dims,
                              const float* data);

struct OnnxExportOptions {
  std::vector<double> act_low, act_high;  // the env's action bounds, act_dim each, finite
  // metadata_props written first, in order (provenance: env id, run commit, ...); the keys that
  // describe the graph (obs_dim, act_dim, action_low, action_high, opset, network) follow.
  std::vector<std::pair<std::string, std::string>> metadata;
};

// The encoded ModelProto of `policy` (see above). Throws Error when the bounds do not fit it.
std::string policy_to_onnx(const DeployedPolicy& policy, const OnnxExportOptions& opts);

}  // namespace ddpg
