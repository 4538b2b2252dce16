// Little helpers for the binary encodings of tree and chunk-list objects and
// of RocksDB keys (in the spirit of leveldb's util/coding.h).
#ifndef VMS_CORE_CODING_H_
#define VMS_CORE_CODING_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace vms {

// LEB128 unsigned varint.
inline void PutVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

// Consumes a varint from the front of `in`. False if truncated or overlong
// (more than 10 bytes, or a value above 2^64) or not minimally encoded, so
// that every value has exactly one encoding.
inline bool GetVarint(std::string_view* in, uint64_t* v) {
  uint64_t result = 0;
  for (int shift = 0, i = 0; i < 10 && i < static_cast<int>(in->size()); ++i, shift += 7) {
    uint8_t byte = static_cast<uint8_t>((*in)[i]);
    if (i == 9 && byte > 1) return false;
    result |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      if (byte == 0 && i > 0) return false;  // not minimal
      in->remove_prefix(i + 1);
      *v = result;
      return true;
    }
  }
  return false;
}

// Big-endian so that RocksDB's bytewise order is numeric order.
inline std::string EncodeBigEndian64(uint64_t v) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i, v >>= 8) out[i] = static_cast<char>(v & 0xff);
  return out;
}

inline bool DecodeBigEndian64(std::string_view in, uint64_t* v) {
  if (in.size() != 8) return false;
  uint64_t r = 0;
  for (char c : in) r = r << 8 | static_cast<uint8_t>(c);
  *v = r;
  return true;
}

}  // namespace vms

#endif  // VMS_CORE_CODING_H_
