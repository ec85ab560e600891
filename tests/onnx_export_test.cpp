// onnx_export: the protobuf wire format against bytes worked out by hand (the examples of
// protobuf.dev's encoding guide among them), and an exported policy read back by a small wire
// reader here: the nodes, constants, shapes and metadata the graph must have. The numbers of the
// graph are checked in Python (tests/python/test_export.py: ONNX's checker and a numpy evaluator).
#include "ddpg/onnx_export.h"

#include <gtest/gtest.h>

#include <cstring>
#include <map>

#include "ddpg/protobuf_writer.h"
#include "tests/test_util.h"

namespace ddpg {
namespace {

std::string bytes(std::initializer_list<int> v) {
  std::string out;
  for (int b : v) out.push_back(static_cast<char>(b));
  return out;
}

TEST(OnnxProtobuf, VarintsAreSevenBitGroupsLeastSignificantFirst) {
  EXPECT_EQ(ProtoWriter::varint(0), bytes({0x00}));
  EXPECT_EQ(ProtoWriter::varint(1), bytes({0x01}));
  EXPECT_EQ(ProtoWriter::varint(127), bytes({0x7f}));
  EXPECT_EQ(ProtoWriter::varint(128), bytes({0x80, 0x01}));
  EXPECT_EQ(ProtoWriter::varint(150), bytes({0x96, 0x01}));
  EXPECT_EQ(ProtoWriter::varint(300), bytes({0xac, 0x02}));
  EXPECT_EQ(ProtoWriter::varint(UINT64_MAX),
            bytes({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}));
}

TEST(OnnxProtobuf, FieldsAreKeyThenValue) {
  ProtoWriter w;
  w.uint64(1, 150);  // key 1 << 3 | 0
  EXPECT_EQ(w.data(), bytes({0x08, 0x96, 0x01}));
  ProtoWriter s;
  s.bytes(2, "testing");  // key 2 << 3 | 2, length, bytes
  EXPECT_EQ(s.data(), bytes({0x12, 0x07}) + "testing");
  ProtoWriter m;
  m.message(3, w);  // a nested message is length-delimited
  EXPECT_EQ(m.data(), bytes({0x1a, 0x03, 0x08, 0x96, 0x01}));
  ProtoWriter f;
  f.float32(2, 1.0f);  // key 2 << 3 | 5, the float's bits little-endian
  EXPECT_EQ(f.data(), bytes({0x15, 0x00, 0x00, 0x80, 0x3f}));
  ProtoWriter big;
  big.uint64(20, 2);  // field numbers from 16 take a two-byte key: 20 << 3 = 160
  EXPECT_EQ(big.data(), bytes({0xa0, 0x01, 0x02}));
  ProtoWriter neg;
  neg.int64(3, -1);  // int64 −1: its two's complement, ten bytes
  EXPECT_EQ(neg.data(), bytes({0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}));
}

TEST(OnnxProtobuf, FloatTensorHasDimsTypeNameAndLittleEndianRawData) {
  const float v[2] = {1.0f, -2.0f};
  EXPECT_EQ(onnx_float_tensor("w", {2}, v), bytes({0x08, 0x02,              // dims (1): 2
                                                   0x10, 0x01,              // data_type (2): FLOAT
                                                   0x42, 0x01, 'w',         // name (8)
                                                   0x4a, 0x08,              // raw_data (9), 8 bytes
                                                   0x00, 0x00, 0x80, 0x3f,  // 1.0f
                                                   0x00, 0x00, 0x00, 0xc0}));  // -2.0f
  const float s = 0.5f;  // a scalar has no dims
  EXPECT_EQ(onnx_float_tensor("s", {}, &s),
            bytes({0x10, 0x01, 0x42, 0x01, 's', 0x4a, 0x04, 0x00, 0x00, 0x00, 0x3f}));
}

// A protobuf message read back: each field number with its varints, byte strings and fixed32s.
struct Fields {
  std::multimap<int, uint64_t> ints;
  std::multimap<int, std::string> strings;
  std::multimap<int, uint32_t> fixed;
  std::vector<std::string> all(int field) const {
    std::vector<std::string> out;
    for (auto [it, end] = strings.equal_range(field); it != end; ++it) out.push_back(it->second);
    return out;
  }
  std::string one(int field) const {
    const auto v = all(field);
    EXPECT_EQ(v.size(), 1u) << "field " << field;
    return v.empty() ? "" : v[0];
  }
};

uint64_t read_varint(const std::string& d, size_t& p) {
  uint64_t v = 0;
  for (int shift = 0;; shift += 7) {
    if (p >= d.size() || shift > 63) throw Error("truncated varint");
    const uint8_t b = static_cast<uint8_t>(d[p++]);
    v |= uint64_t{b & 0x7fu} << shift;
    if (!(b & 0x80)) return v;
  }
}

Fields parse(const std::string& d) {
  Fields f;
  size_t p = 0;
  while (p < d.size()) {
    const uint64_t key = read_varint(d, p);
    const int field = static_cast<int>(key >> 3);
    switch (key & 7) {
      case 0:
        f.ints.emplace(field, read_varint(d, p));
        break;
      case 2: {
        const uint64_t n = read_varint(d, p);
        if (n > d.size() - p) throw Error("length past the end");
        f.strings.emplace(field, d.substr(p, n));
        p += n;
        break;
      }
      case 5: {
        if (d.size() - p < 4) throw Error("truncated fixed32");
        uint32_t bits = 0;
        for (int k = 0; k < 4; ++k) bits |= uint32_t{static_cast<uint8_t>(d[p + k])} << (8 * k);
        f.fixed.emplace(field, bits);
        p += 4;
        break;
      }
      default:
        throw Error("unexpected wire type");
    }
  }
  return f;
}

// An actor with every optional part: normalisation, LayerNorm, ELU, two action dimensions.
DeployedPolicy tiny_policy() {
  MlpShape s;
  s.in = 2;
  s.hidden = {3};
  s.out = 2;
  s.layer_norm = true;
  s.activation = Activation::kElu;
  s.tanh_out = true;
  FloatBuffer params(s.size());
  for (int64_t i = 0; i < s.size(); ++i) params[i] = 0.01f * static_cast<float>(i);
  ObsNormalizer norm(2, 3.0);
  const double mean[2] = {1.0, -1.0}, m2[2] = {4.0, 16.0};
  norm.set(4.0, mean, m2);  // variances 1 and 4
  return DeployedPolicy(s, std::move(params), norm);
}

TEST(OnnxExport, GraphHasTheNodesConstantsShapesAndMetadataOfThePolicy) {
  const DeployedPolicy policy = tiny_policy();
  OnnxExportOptions opts;
  opts.act_low = {-2.0, 0.0};
  opts.act_high = {2.0, 1.0};
  opts.metadata = {{"env_id", "Test-v0"}};
  const Fields model = parse(policy_to_onnx(policy, opts));
  EXPECT_EQ(model.ints.find(1)->second, 8u);  // ir_version
  EXPECT_EQ(model.one(2), "ddpg");            // producer_name
  const Fields opset = parse(model.one(8));
  EXPECT_EQ(opset.ints.find(2)->second, 17u);

  std::map<std::string, std::string> meta;
  for (const auto& e : model.all(14)) meta[parse(e).one(1)] = parse(e).one(2);
  EXPECT_EQ(meta["env_id"], "Test-v0");
  EXPECT_EQ(meta["obs_dim"], "2");
  EXPECT_EQ(meta["act_dim"], "2");
  EXPECT_EQ(meta["action_low"], "[-2.0,0.0]");
  EXPECT_EQ(meta["action_high"], "[2.0,1.0]");
  EXPECT_EQ(meta["opset"], "17");
  EXPECT_EQ(meta["layer_norm"], "true");
  EXPECT_EQ(meta["activation"], "elu");

  const Fields graph = parse(model.one(7));
  std::vector<std::string> ops;
  for (const auto& n : graph.all(1)) ops.push_back(parse(n).one(4));
  EXPECT_EQ(ops, (std::vector<std::string>{"Sub", "Mul", "Clip", "Gemm", "LayerNormalization",
                                           "Elu", "Gemm", "Tanh", "Mul", "Add"}));
  const Fields last = parse(graph.all(1).back());
  EXPECT_EQ(last.one(2), "action");

  // the constants: the normaliser folded to mean and 1/std, the rescale to scale and offset
  std::map<std::string, std::vector<float>> constants;
  std::map<std::string, std::vector<uint64_t>> dims;
  for (const auto& t : graph.all(5)) {
    const Fields f = parse(t);
    const std::string raw = f.one(9);
    std::vector<float> v(raw.size() / 4);
    std::memcpy(v.data(), raw.data(), raw.size());  // (little-endian hosts)
    constants[f.one(8)] = v;
    for (auto [it, end] = f.ints.equal_range(1); it != end; ++it)
      dims[f.one(8)].push_back(it->second);
  }
  EXPECT_EQ(constants["obs_mean"], (std::vector<float>{1.0f, -1.0f}));
  EXPECT_NEAR(constants["obs_inv_std"][1], 0.5f, 1e-7f);
  EXPECT_EQ(constants["obs_clip_high"], (std::vector<float>{3.0f}));
  EXPECT_TRUE(dims["obs_clip_high"].empty());  // a scalar
  EXPECT_EQ(constants["action_scale"], (std::vector<float>{2.0f, 0.5f}));
  EXPECT_EQ(constants["action_offset"], (std::vector<float>{0.0f, 0.5f}));
  EXPECT_EQ(dims["hidden0.weight"], (std::vector<uint64_t>{3, 2}));  // (out, in) with transB
  EXPECT_EQ(dims["out.weight"], (std::vector<uint64_t>{2, 3}));
  EXPECT_EQ(constants["out.bias"].size(), 2u);
  const int64_t b_out = policy.shape().bias_offset(1);
  EXPECT_EQ(constants["out.bias"][1], policy.params()[b_out + 1]);

  // input and output: float32 (batch, width), batch symbolic
  const auto shape_of = [](const std::string& value_info) {
    const Fields tensor_type = parse(parse(parse(value_info).one(2)).one(1));
    EXPECT_EQ(tensor_type.ints.find(1)->second, 1u);  // FLOAT
    std::vector<std::string> out;
    for (const auto& d : parse(tensor_type.one(2)).all(1)) {
      const Fields dim = parse(d);
      out.push_back(dim.ints.count(1) ? std::to_string(dim.ints.find(1)->second) : dim.one(2));
    }
    return out;
  };
  EXPECT_EQ(parse(graph.one(11)).one(1), "obs");
  EXPECT_EQ(shape_of(graph.one(11)), (std::vector<std::string>{"batch", "2"}));
  EXPECT_EQ(shape_of(graph.one(12)), (std::vector<std::string>{"batch", "2"}));
}

TEST(OnnxExport, RefusesBoundsThatDoNotFitThePolicy) {
  const DeployedPolicy policy = tiny_policy();
  OnnxExportOptions opts;
  opts.act_low = {-1.0};
  opts.act_high = {1.0};
  EXPECT_NE(error_of([&] { policy_to_onnx(policy, opts); }).find("2 action dimensions"),
            std::string::npos);
  opts.act_low = {-1.0, 1.0};
  opts.act_high = {1.0, 0.0};
  EXPECT_NE(error_of([&] { policy_to_onnx(policy, opts); }).find("low <= high"), std::string::npos);
  opts.act_low = {-1.0, 0.0};
  opts.metadata = {{"opset", "9"}};
  EXPECT_NE(error_of([&] { policy_to_onnx(policy, opts); }).find("given twice"), std::string::npos);
}

}  // namespace
}  // namespace ddpg
