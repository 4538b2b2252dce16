#include "core/chunker.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstdlib>
#include <cstring>
#include <string>

#include "core/check.h"
#include "core/hash.h"

namespace vms {

namespace {

const std::array<uint64_t, 256>& GearTable() {
  static const std::array<uint64_t, 256> table = [] {
    std::array<uint64_t, 256> t{};
    for (int i = 0; i < 256; ++i) {
      Hash h = Sha256("vms fastcdc gear " + std::to_string(i));
      std::memcpy(&t[i], h.bytes.data(), sizeof(uint64_t));
    }
    return t;
  }();
  return table;
}

// A mask of `bits` ones in the high end of the word: with a left-shifting gear
// hash the high bits depend on the most bytes (up to 64), the low ones on few.
uint64_t HighMask(int bits) { return bits <= 0 ? 0 : ~uint64_t{0} << (64 - bits); }

}  // namespace

Chunker::Chunker(ChunkerParams params) : params_(params) {
  // A programming error, not an input.
  VMS_CHECK(std::has_single_bit(params_.avg_size) && params_.min_size < params_.avg_size &&
                params_.avg_size < params_.max_size,
            "chunker sizes must be min < avg < max, avg a power of two");
  int bits = std::countr_zero(params_.avg_size);
  mask_small_ = HighMask(bits + 2);
  mask_large_ = HighMask(bits - 2);
}

size_t Chunker::Cut(const uint8_t* data, size_t len) const {
  if (len <= params_.min_size) return len;
  const auto& gear = GearTable();
  size_t end = std::min(len, params_.max_size);
  size_t normal = std::min(params_.avg_size, end);
  uint64_t fp = 0;
  // The first min_size bytes cannot end a chunk; the 64 before the first
  // candidate warm up the rolling hash.
  size_t i = params_.min_size - std::min<size_t>(params_.min_size, 64);
  for (; i < params_.min_size; ++i) fp = (fp << 1) + gear[data[i]];
  for (; i < normal; ++i) {
    fp = (fp << 1) + gear[data[i]];
    if ((fp & mask_small_) == 0) return i + 1;
  }
  for (; i < end; ++i) {
    fp = (fp << 1) + gear[data[i]];
    if ((fp & mask_large_) == 0) return i + 1;
  }
  return end;
}

std::vector<size_t> Chunker::Split(std::string_view data) const {
  std::vector<size_t> out;
  const auto* p = reinterpret_cast<const uint8_t*>(data.data());
  size_t left = data.size();
  while (left > 0) {
    size_t n = Cut(p, left);
    out.push_back(n);
    p += n;
    left -= n;
  }
  return out;
}

}  // namespace vms
