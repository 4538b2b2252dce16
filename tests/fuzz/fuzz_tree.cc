// Tree objects and chunk lists as fetched: decoded, and what decodes
// encodes back to something that decodes the same.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/check.h"
#include "core/tree.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vms;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto entries = DecodeTree(bytes);
  if (entries.ok()) {
    (void)TreeBytes(*entries);
    auto again = EncodeTree(*entries);
    if (again.ok()) {
      auto back = DecodeTree(*again);
      VMS_CHECK(back.ok() && back->size() == entries->size(), "a tree re-encoded decodes the same");
    }
  }
  auto chunks = DecodeChunkList(bytes);
  if (chunks.ok()) {
    auto back = DecodeChunkList(EncodeChunkList(*chunks));
    VMS_CHECK(back.ok() && back->size() == chunks->size(),
              "a chunk list re-encoded decodes the same");
  }
  return 0;
}
