// ProtoWriter: see protobuf_writer.h.
#include "ddpg/protobuf_writer.h"

#include <cstring>

namespace ddpg {
namespace {

constexpr int kVarint = 0, kLengthDelimited = 2, kFixed32 = 5;

void put_le32(std::string& out, uint32_t bits) {
  for (int k = 0; k < 4; ++k) out.push_back(static_cast<char>((bits >> (8 * k)) & 0xff));
}

uint32_t float_bits(float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  return bits;
}

}  // namespace

std::string ProtoWriter::varint(uint64_t v) {
  std::string out;
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
  return out;
}

void ProtoWriter::key(int field, int wire_type) {
  data_ += varint((static_cast<uint64_t>(field) << 3) | static_cast<uint64_t>(wire_type));
}

void ProtoWriter::uint64(int field, uint64_t v) {
  key(field, kVarint);
  data_ += varint(v);
}

void ProtoWriter::bytes(int field, const std::string& data) {
  key(field, kLengthDelimited);
  data_ += varint(data.size());
  data_ += data;
}

void ProtoWriter::float32(int field, float v) {
  key(field, kFixed32);
  put_le32(data_, float_bits(v));
}

std::string little_endian_floats(const float* v, int64_t n) {
  std::string out;
  out.reserve(static_cast<size_t>(n) * 4);
  for (int64_t i = 0; i < n; ++i) put_le32(out, float_bits(v[i]));
  return out;
}

}  // namespace ddpg
