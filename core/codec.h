// How object bytes are encoded at rest and on the wire.
//
// An object is addressed by the SHA-256 of its raw bytes, but stored and sent
// either raw (when compression would not pay) or as one zstd frame. Decode()
// never trusts the sender: it bounds the size, decompresses, and checks the
// hash. All functions are thread-safe (compression contexts are per thread).
#ifndef VMS_CORE_CODEC_H_
#define VMS_CORE_CODEC_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "core/hash.h"

namespace vms {

enum class Codec : uint8_t { kRaw = 0, kZstd = 1 };

// No object may be larger than this, raw. Chunked files keep every chunk far
// below it (see chunker.h); anything larger is refused as corrupt or hostile.
inline constexpr uint64_t kMaxObjectSize = 64ull << 20;

struct EncodedObject {
  Codec codec = Codec::kRaw;
  std::string data;
};

// Compresses `raw` with zstd at `level`; keeps it raw (moved, not copied)
// when that saves less than 1/32 of the size (already-compressed content).
// From 1 MiB up, a few samples decide first: bytes that do not compress
// (media, archives, model weights) are not compressed whole for nothing.
EncodedObject Encode(std::string raw, int level);

// Returns the raw bytes of an encoded object after checking that they are
// `raw_size` long and hash to `expected`. Fails with DataLoss (hash or size
// mismatch, corrupt frame) or InvalidArgument (unknown codec, size too big).
absl::StatusOr<std::string> Decode(const Hash& expected, Codec codec, uint64_t raw_size,
                                   std::string_view data);

// Decode()'s checks without keeping the bytes: a raw object is hashed where
// it lies (no copy), a compressed one decoded and hashed.
absl::Status Verify(const Hash& expected, Codec codec, uint64_t raw_size, std::string_view data);

// Decode() without the hash check, for bytes this process already verified
// (still checks the size and the frame).
absl::StatusOr<std::string> DecodeVerified(const Hash& hash, Codec codec, uint64_t raw_size,
                                           std::string_view data);

// The raw size `data` says it decodes to (a zstd frame's declared content
// size; the size itself when raw), without decoding it; 0 when unknown.
uint64_t EncodedRawSize(Codec codec, std::string_view data);

// Codec from its wire number; InvalidArgument for an unknown one.
absl::StatusOr<Codec> CodecFromWire(uint32_t v);

}  // namespace vms

#endif  // VMS_CORE_CODEC_H_
