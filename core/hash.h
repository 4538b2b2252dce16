// SHA-256 content addresses.
//
// Every object in vms is named by the SHA-256 of its uncompressed bytes. Hash is
// a plain 32-byte value type; Sha256Hasher computes one incrementally with
// OpenSSL's EVP interface. A hasher is not thread-safe; use one per thread.
#ifndef VMS_CORE_HASH_H_
#define VMS_CORE_HASH_H_

#include <array>
#include <compare>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace vms {

struct Hash {
  static constexpr size_t kSize = 32;
  std::array<uint8_t, kSize> bytes{};

  // Lower-case hex, 64 characters.
  std::string Hex() const;
  // The first 12 hex characters, for messages and logs.
  std::string Short() const { return Hex().substr(0, 12); }
  std::string_view View() const { return {reinterpret_cast<const char*>(bytes.data()), kSize}; }

  // Fails with InvalidArgument unless `hex` is exactly 64 hex digits.
  static absl::StatusOr<Hash> FromHex(std::string_view hex);
  // Fails with InvalidArgument unless `raw` is exactly 32 bytes.
  static absl::StatusOr<Hash> FromBytes(std::string_view raw);

  auto operator<=>(const Hash&) const = default;
  bool operator==(const Hash&) const = default;
};

struct HashHasher {
  size_t operator()(const Hash& h) const {
    size_t v;
    std::memcpy(&v, h.bytes.data(), sizeof v);  // already uniformly distributed
    return v;
  }
};

// Incremental SHA-256. Update() any number of times, then Finish() once.
class Sha256Hasher {
 public:
  Sha256Hasher();
  ~Sha256Hasher();
  Sha256Hasher(const Sha256Hasher&) = delete;
  Sha256Hasher& operator=(const Sha256Hasher&) = delete;

  void Update(const void* data, size_t len);
  void Update(std::string_view s) { Update(s.data(), s.size()); }
  // Returns the digest and resets the hasher for reuse.
  Hash Finish();

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

Hash Sha256(std::string_view data);

}  // namespace vms

#endif  // VMS_CORE_HASH_H_
