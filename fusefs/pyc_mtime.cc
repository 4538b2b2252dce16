#include "fusefs/pyc_mtime.h"

namespace vms {

namespace {

uint32_t Le32(std::string_view s, size_t at) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data() + at);
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
         static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
}

}  // namespace

std::string PycPrefix(std::string_view name) {
  if (name.size() <= 3 || !name.ends_with(".py")) return "";
  return std::string(name.substr(0, name.size() - 3)) + ".cpython-";
}

std::optional<int64_t> PycSourceMtimeMs(std::string_view pyc, uint64_t source_size) {
  constexpr size_t kHeader = 16;
  if (pyc.size() < kHeader) return std::nullopt;
  // Sizes are recorded modulo 2^32, as Python does.
  if (Le32(pyc, 4) != 0 || Le32(pyc, 12) != static_cast<uint32_t>(source_size)) {
    return std::nullopt;
  }
  return static_cast<int64_t>(Le32(pyc, 8)) * 1000;
}

}  // namespace vms
