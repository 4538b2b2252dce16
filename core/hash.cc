#include "core/hash.h"

#include <openssl/evp.h>

#include <cstdlib>

#include "core/check.h"
#include "core/strings.h"

namespace vms {

namespace {
constexpr char kHexDigits[] = "0123456789abcdef";

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

std::string Hash::Hex() const {
  std::string out(kSize * 2, '0');
  for (size_t i = 0; i < kSize; ++i) {
    out[2 * i] = kHexDigits[bytes[i] >> 4];
    out[2 * i + 1] = kHexDigits[bytes[i] & 0xf];
  }
  return out;
}

absl::StatusOr<Hash> Hash::FromHex(std::string_view hex) {
  if (hex.size() != kSize * 2) {
    return absl::InvalidArgumentError(
        StrCat("a hash is 64 hex digits; got ", hex.size(), " characters"));
  }
  Hash h;
  for (size_t i = 0; i < kSize; ++i) {
    int hi = HexValue(hex[2 * i]), lo = HexValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return absl::InvalidArgumentError(StrCat("not a hex hash: ", hex));
    }
    h.bytes[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return h;
}

absl::StatusOr<Hash> Hash::FromBytes(std::string_view raw) {
  if (raw.size() != kSize) {
    return absl::InvalidArgumentError(StrCat("a hash is 32 bytes; got ", raw.size()));
  }
  Hash h;
  std::memcpy(h.bytes.data(), raw.data(), kSize);
  return h;
}

namespace {
// Fetched once: OpenSSL 3 makes an implicit fetch on every EVP_sha256() init.
const EVP_MD* Sha256Md() {
  static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  VMS_CHECK(md != nullptr, "OpenSSL has no SHA256");
  return md;
}
}  // namespace

struct Sha256Hasher::Ctx {
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  ~Ctx() { EVP_MD_CTX_free(md); }
};

Sha256Hasher::Sha256Hasher() : ctx_(std::make_unique<Ctx>()) {
  // Allocation or init failure here means OpenSSL is unusable: crash loudly.
  VMS_CHECK(ctx_->md != nullptr && EVP_DigestInit_ex(ctx_->md, Sha256Md(), nullptr) == 1,
            "SHA-256 context");
}

Sha256Hasher::~Sha256Hasher() = default;

void Sha256Hasher::Update(const void* data, size_t len) {
  VMS_CHECK(EVP_DigestUpdate(ctx_->md, data, len) == 1, "SHA-256 update");
}

Hash Sha256Hasher::Finish() {
  Hash h;
  unsigned int len = 0;
  VMS_CHECK(EVP_DigestFinal_ex(ctx_->md, h.bytes.data(), &len) == 1 && len == Hash::kSize,
            "SHA-256 final");
  VMS_CHECK(EVP_DigestInit_ex(ctx_->md, Sha256Md(), nullptr) == 1, "SHA-256 reset");
  return h;
}

Hash Sha256(std::string_view data) {
  thread_local Sha256Hasher hasher;
  hasher.Update(data);
  return hasher.Finish();
}

}  // namespace vms
