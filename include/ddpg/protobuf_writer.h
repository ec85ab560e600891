// ProtoWriter: the encoding half of Protocol Buffers' wire format, enough to write ONNX models
// (onnx_export.h) without libprotobuf or generated code.
//
// A message is a sequence of fields. Each field is a key, the varint (field_number << 3 |
// wire_type), followed by its value: wire type 0 is a varint (integers, enums, bools: 7 bits per
// byte, least significant group first, the high bit set on every byte but the last), 2 is a
// varint length then that many bytes (strings, bytes, nested messages), 5 is four little-endian
// bytes (float). A negative int32 or int64 is the varint of its 64-bit two's complement (ten
// bytes). Readers accept fields in any order and repeated fields as repeated keys; an optional
// field that is never written takes its default.
#pragma once

#include <cstdint>
#include <string>

namespace ddpg {

class ProtoWriter {
 public:
  // A varint field: uint32/uint64/enum/bool values.
  void uint64(int field, uint64_t v);
  // A varint field of a signed int32 or int64 (not sint32/sint64, which zigzag).
  void int64(int field, int64_t v) { uint64(field, static_cast<uint64_t>(v)); }
  // A length-delimited field: a string, bytes, or an encoded message.
  void bytes(int field, const std::string& data);
  void message(int field, const ProtoWriter& m) { bytes(field, m.data()); }
  // A fixed32 field holding a float's bits.
  void float32(int field, float v);
  // Appends fields that another writer encoded (a message is the concatenation of its fields).
  void append(const ProtoWriter& fields) { data_ += fields.data_; }

  const std::string& data() const { return data_; }

  // The varint encoding of v (1 to 10 bytes).
  static std::string varint(uint64_t v);

 private:
  void key(int field, int wire_type);
  std::string data_;
};

// The little-endian bytes of n floats (for a TensorProto's raw_data), whatever the host's order.
std::string little_endian_floats(const float* v, int64_t n);

}  // namespace ddpg
