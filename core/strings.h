// String building that accepts std::string_view.
//
// Debian's abseil is built with its own absl::string_view (not an alias of
// std::string_view), so StrCat rejects std::string_view arguments. This
// StrCat takes both, plus strings, C strings, chars and numbers.
#ifndef VMS_CORE_STRINGS_H_
#define VMS_CORE_STRINGS_H_

#include <string>
#include <string_view>
#include <type_traits>

#include "absl/strings/string_view.h"

namespace vms {

// absl::string_view (e.g. Status::message()) as std::string_view.
inline std::string_view Sv(absl::string_view s) { return {s.data(), s.size()}; }

namespace strings_internal {
inline void Append(std::string* out, std::string_view s) { out->append(s); }
inline void Append(std::string* out, const std::string& s) { out->append(s); }
inline void Append(std::string* out, const char* s) { out->append(s); }
inline void Append(std::string* out, absl::string_view s) { out->append(s.data(), s.size()); }
inline void Append(std::string* out, char c) { out->push_back(c); }
template <typename T>
requires(std::is_arithmetic_v<T> && !std::is_same_v<T, char> &&
         !std::is_same_v<T, bool>) void Append(std::string* out, T v) {
  out->append(std::to_string(v));
}
}  // namespace strings_internal

template <typename... Args>
std::string StrCat(const Args&... args) {
  std::string out;
  (strings_internal::Append(&out, args), ...);
  return out;
}

// "a, b, c" (any range of strings).
template <typename Range>
std::string Join(const Range& parts, std::string_view sep = ", ") {
  std::string out;
  bool first = true;
  for (const auto& p : parts) {
    if (!first) out.append(sep);
    first = false;
    strings_internal::Append(&out, p);
  }
  return out;
}

// `s` for an error message: C-escaped, and at most `max` bytes of it, with
// the full length said when cut ("abc..." (100000 bytes)). Error messages
// never echo a caller's input in full.
std::string Quote(std::string_view s, size_t max = 100);

// A path for a message: as is up to `max` bytes, else its start and its end
// around "...", with its length ("/very/long/.../end (a path of 4096 bytes)").
std::string ShortPath(std::string_view path, size_t max = 160);

}  // namespace vms

#endif  // VMS_CORE_STRINGS_H_
