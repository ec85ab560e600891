// onnx_export: see onnx_export.h. Field numbers are those of onnx.proto (ONNX 1.12).
#include "ddpg/onnx_export.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "ddpg/io.h"
#include "ddpg/protobuf_writer.h"

namespace ddpg {
namespace {

// onnx.proto's field numbers, per message.
namespace tensor {
constexpr int kDims = 1, kDataType = 2, kName = 8, kRawData = 9;
constexpr int64_t kFloat = 1;  // DataType FLOAT (TensorProto.data_type, TypeProto.Tensor.elem_type)
}  // namespace tensor
namespace attribute {
constexpr int kName = 1, kF = 2, kI = 3, kType = 20;
constexpr uint64_t kTypeFloat = 1, kTypeInt = 2;  // AttributeType
}  // namespace attribute
namespace node {
constexpr int kInput = 1, kOutput = 2, kName = 3, kOpType = 4, kAttribute = 5;
}  // namespace node
namespace graph {
constexpr int kNode = 1, kName = 2, kInitializer = 5, kDocString = 10, kInput = 11, kOutput = 12;
}  // namespace graph
namespace model {
constexpr int kIrVersion = 1, kProducerName = 2, kProducerVersion = 3, kDocString = 6, kGraph = 7,
              kOpsetImport = 8, kMetadataProps = 14;
}  // namespace model
// The small messages, each used once below: ValueInfoProto {name 1, type 2}; TypeProto
// {tensor_type 1}; TypeProto.Tensor {elem_type 1, shape 2}; TensorShapeProto {dim 1};
// TensorShapeProto.Dimension {dim_value 1, dim_param 2}; OperatorSetIdProto {domain 1,
// version 2}; StringStringEntryProto {key 1, value 2}.

struct Attribute {
  std::string name;
  bool is_float;
  int64_t i;
  float f;
};
Attribute int_attribute(const std::string& name, int64_t v) { return {name, false, v, 0.0f}; }
Attribute float_attribute(const std::string& name, float v) { return {name, true, 0, v}; }

// ValueInfoProto of a float32 tensor (batch, width), batch symbolic.
ProtoWriter batch_value_info(const std::string& name, int width) {
  ProtoWriter batch, columns, shape, tensor_type, type, info;
  batch.bytes(2, "batch");
  columns.int64(1, width);
  shape.message(1, batch);
  shape.message(1, columns);
  tensor_type.int64(1, tensor::kFloat);
  tensor_type.message(2, shape);
  type.message(1, tensor_type);
  info.bytes(1, name);
  info.message(2, type);
  return info;
}

// A graph under construction: nodes in execution order and the constants they read.
class GraphBuilder {
 public:
  // Adds a float32 initializer and returns its name.
  std::string constant(const std::string& name, const std::vector<int64_t>& dims,
                       const float* data) {
    initializers_.bytes(graph::kInitializer, onnx_float_tensor(name, dims, data));
    return name;
  }
  std::string vector(const std::string& name, const std::vector<float>& v) {
    return constant(name, {static_cast<int64_t>(v.size())}, v.data());
  }
  std::string scalar(const std::string& name, float v) { return constant(name, {}, &v); }

  // Adds a node of the default domain with one output and returns the output's name (which
  // also names the node).
  std::string node(const std::string& op, const std::vector<std::string>& inputs,
                   const std::string& output, const std::vector<Attribute>& attributes = {}) {
    ProtoWriter n;
    for (const auto& in : inputs) n.bytes(node::kInput, in);
    n.bytes(node::kOutput, output);
    n.bytes(node::kName, output);
    n.bytes(node::kOpType, op);
    for (const Attribute& a : attributes) {
      ProtoWriter w;
      w.bytes(attribute::kName, a.name);
      if (a.is_float) {
        w.float32(attribute::kF, a.f);
      } else {
        w.int64(attribute::kI, a.i);
      }
      w.uint64(attribute::kType, a.is_float ? attribute::kTypeFloat : attribute::kTypeInt);
      n.message(node::kAttribute, w);
    }
    nodes_.message(graph::kNode, n);
    return output;
  }

  // The GraphProto: its nodes, constants, and one input and one output (batch, width).
  ProtoWriter finish(const std::string& name, const std::string& doc, const std::string& input,
                     int in_width, const std::string& output, int out_width) const {
    ProtoWriter g;
    g.append(nodes_);
    g.bytes(graph::kName, name);
    g.append(initializers_);
    g.bytes(graph::kDocString, doc);
    g.message(graph::kInput, batch_value_info(input, in_width));
    g.message(graph::kOutput, batch_value_info(output, out_width));
    return g;
  }

 private:
  ProtoWriter nodes_, initializers_;
};

const char* activation_op(Activation a) {
  switch (a) {
    case Activation::kRelu:
      return "Relu";
    case Activation::kTanh:
      return "Tanh";
    case Activation::kElu:
      return "Elu";
    case Activation::kLeakyRelu:
      return "LeakyRelu";
  }
  return "";
}

const char* activation_name(Activation a) {
  switch (a) {
    case Activation::kRelu:
      return "relu";
    case Activation::kTanh:
      return "tanh";
    case Activation::kElu:
      return "elu";
    case Activation::kLeakyRelu:
      return "leaky_relu";
  }
  return "";
}

// The hidden activation as a node: ELU's α = 1 (mlp.cpp: expm1) and LeakyReLU's slope stated.
std::string activation_node(GraphBuilder& g, Activation a, const std::string& in,
                            const std::string& out) {
  std::vector<Attribute> attributes;
  if (a == Activation::kElu) attributes.push_back(float_attribute("alpha", 1.0f));
  if (a == Activation::kLeakyRelu) attributes.push_back(float_attribute("alpha", kLeakySlope));
  return g.node(activation_op(a), {in}, out, attributes);
}

}  // namespace

std::string onnx_float_tensor(const std::string& name, const std::vector<int64_t>& dims,
                              const float* data) {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  ProtoWriter t;
  for (int64_t d : dims) t.int64(tensor::kDims, d);
  t.int64(tensor::kDataType, tensor::kFloat);
  t.bytes(tensor::kName, name);
  t.bytes(tensor::kRawData, little_endian_floats(data, n));
  return t.data();
}

std::string policy_to_onnx(const DeployedPolicy& policy, const OnnxExportOptions& opts) {
  const MlpShape& s = policy.shape();
  const float* params = policy.params();
  const size_t act_dim = static_cast<size_t>(s.out);
  if (opts.act_low.size() != act_dim || opts.act_high.size() != act_dim) {
    throw Error("the policy has " + std::to_string(act_dim) +
                " action dimensions, but the bounds " + "given have " +
                std::to_string(opts.act_low.size()) + " and " +
                std::to_string(opts.act_high.size()));
  }
  std::vector<float> scale(act_dim), offset(act_dim);
  for (size_t j = 0; j < act_dim; ++j) {
    const double low = opts.act_low[j], high = opts.act_high[j];
    if (!std::isfinite(low) || !std::isfinite(high) || low > high) {
      throw Error("action bound " + std::to_string(j) + " is [" + format_double(low) + ", " +
                  format_double(high) + "]; an exported policy needs finite bounds, low <= high");
    }
    // rescale_action's low + (a + 1)/2 (high − low), as one multiply-add
    scale[j] = static_cast<float>(0.5 * (high - low));
    offset[j] = static_cast<float>(0.5 * (high + low));
  }

  GraphBuilder g;
  std::string x = "obs";
  const ObsNormalizer* norm = policy.obs_normalizer();
  if (norm) {
    std::vector<float> mean(s.in), inv_std(s.in);
    norm->affine(mean.data(), inv_std.data());
    const float clip = static_cast<float>(norm->clip());
    x = g.node("Sub", {x, g.vector("obs_mean", mean)}, "obs_centred");
    x = g.node("Mul", {x, g.vector("obs_inv_std", inv_std)}, "obs_scaled");
    x = g.node("Clip", {x, g.scalar("obs_clip_low", -clip), g.scalar("obs_clip_high", clip)},
               "obs_normalised");
  }
  for (int i = 0; i < s.layers(); ++i) {
    const bool last = i + 1 == s.layers();
    const std::string name = last ? "out" : "hidden" + std::to_string(i);
    const int64_t n = s.layer_out(i), in = s.layer_in(i);
    const std::string w = g.constant(name + ".weight", {n, in}, params + s.weight_offset(i));
    const std::string b = g.constant(name + ".bias", {n}, params + s.bias_offset(i));
    // y = x Wᵀ + b, W stored (out × in) as nn.Linear stores it
    x = g.node("Gemm", {x, w, b}, name + ".linear", {int_attribute("transB", 1)});
    if (last) break;
    if (s.layer_norm) {
      const std::string gain = g.constant(name + ".norm.weight", {n}, params + s.ln_gain_offset(i));
      const std::string bias = g.constant(name + ".norm.bias", {n}, params + s.ln_bias_offset(i));
      x = g.node("LayerNormalization", {x, gain, bias}, name + ".norm",
                 {int_attribute("axis", -1), float_attribute("epsilon", kLayerNormEps)});
    }
    x = activation_node(g, s.activation, x, name);
  }
  if (s.tanh_out) x = g.node("Tanh", {x}, "action_unit");  // the agent's action in [-1, 1]
  x = g.node("Mul", {x, g.vector("action_scale", scale)}, "action_scaled");
  g.node("Add", {x, g.vector("action_offset", offset)}, "action");
  const ProtoWriter graph_proto = g.finish(
      "ddpg_policy", "observation (env units) -> action (env units); see the model's metadata",
      "obs", s.in, "action", s.out);

  // metadata: the caller's provenance, then what describes the graph
  const auto json_list = [](const auto& v) { return nlohmann::json(v).dump(); };
  std::vector<std::pair<std::string, std::string>> metadata = opts.metadata;
  const std::vector<std::pair<std::string, std::string>> described = {
      {"obs_dim", std::to_string(s.in)},
      {"act_dim", std::to_string(s.out)},
      {"action_low", json_list(opts.act_low)},
      {"action_high", json_list(opts.act_high)},
      {"opset", std::to_string(kOnnxOpset)},
      {"obs_norm", norm ? "true" : "false"},
      {"obs_norm_clip", norm ? format_double(norm->clip()) : ""},
      {"hidden", json_list(s.hidden)},
      {"activation", activation_name(s.activation)},
      {"layer_norm", s.layer_norm ? "true" : "false"}};
  for (const auto& kv : described) {
    for (const auto& given : opts.metadata) {
      if (given.first == kv.first) throw Error("metadata key '" + kv.first + "' given twice");
    }
    if (kv.first != "obs_norm_clip" || norm) metadata.push_back(kv);
  }

  ProtoWriter m;
  m.int64(model::kIrVersion, kOnnxIrVersion);
  m.bytes(model::kProducerName, "ddpg");
  m.bytes(model::kProducerVersion, DDPG_VERSION);
  m.bytes(model::kDocString,
          "A DDPG-family policy exported by `ddpg export`: input obs (batch, obs_dim) in the env's "
          "units, output action (batch, act_dim) in the env's units.");
  m.message(model::kGraph, graph_proto);
  ProtoWriter opset;
  opset.bytes(1, "");  // the default domain, ai.onnx
  opset.int64(2, kOnnxOpset);
  m.message(model::kOpsetImport, opset);
  for (const auto& [key, value] : metadata) {
    ProtoWriter entry;
    entry.bytes(1, key);
    entry.bytes(2, value);
    m.message(model::kMetadataProps, entry);
  }
  return m.data();
}

}  // namespace ddpg
