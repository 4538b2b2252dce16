// Content-defined chunking of large files (FastCDC with normalised chunking).
//
// A file larger than kChunkThreshold is split where a rolling "gear" hash of
// the last bytes matches a mask, so boundaries depend on content, not offsets:
// inserting bytes early in a file moves only the chunks around the insertion,
// and every later chunk keeps its hash. The gear table is derived from SHA-256
// of fixed strings, so every build cuts the same bytes at the same places.
// Chunker is immutable and thread-safe.
#ifndef VMS_CORE_CHUNKER_H_
#define VMS_CORE_CHUNKER_H_

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace vms {

// Files above this size are chunked; smaller ones are a single object.
inline constexpr uint64_t kChunkThreshold = 8ull << 20;

struct ChunkerParams {
  size_t min_size = 1u << 20;   // 1 MiB
  size_t avg_size = 4u << 20;   // 4 MiB, a power of two
  size_t max_size = 16u << 20;  // 16 MiB
};

class Chunker {
 public:
  explicit Chunker(ChunkerParams params = {});

  // Length of the chunk that starts at data[0]. `len` must be at least
  // max_size() unless the data ends there (`len` is then the rest of the file).
  size_t Cut(const uint8_t* data, size_t len) const;

  // Splits a whole buffer; returns the chunk lengths (they sum to data.size()).
  std::vector<size_t> Split(std::string_view data) const;

  size_t max_size() const { return params_.max_size; }

 private:
  ChunkerParams params_;
  uint64_t mask_small_;  // stricter mask before avg_size: fewer tiny chunks
  uint64_t mask_large_;  // looser mask after avg_size: fewer huge chunks
};

}  // namespace vms

#endif  // VMS_CORE_CHUNKER_H_
