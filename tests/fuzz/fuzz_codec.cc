// Objects as they arrive (Object: codec, raw size, data): the first bytes
// choose the codec and the size claimed, the rest is the data. Decoding is
// bounded by the size claimed, never by what the data says.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "core/check.h"
#include "core/codec.h"
#include "core/hash.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vms;
  if (size < 5) return 0;
  auto codec = CodecFromWire(data[0]);
  uint32_t claimed;
  std::memcpy(&claimed, data + 1, sizeof(claimed));
  claimed %= 1 << 22;  // up to 4 MiB: the target's own memory bound
  const std::string_view body(reinterpret_cast<const char*>(data + 5), size - 5);
  if (!codec.ok()) return 0;
  (void)EncodedRawSize(*codec, body);
  const Hash of_body = Sha256(body);
  (void)Verify(of_body, *codec, claimed, body);
  // Without the hash check, then with the hash of what came out: the two
  // agree, and the size is the one claimed.
  auto decoded = DecodeVerified(of_body, *codec, claimed, body);
  if (decoded.ok()) {
    VMS_CHECK(decoded->size() == claimed, "decoded size");
    const Hash h = Sha256(*decoded);
    auto checked = Decode(h, *codec, claimed, body);
    VMS_CHECK(checked.ok() && *checked == *decoded, "Decode disagrees with DecodeVerified");
    VMS_CHECK(Verify(h, *codec, claimed, body).ok(), "Verify disagrees with Decode");
  }
  return 0;
}
