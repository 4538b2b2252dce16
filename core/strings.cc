#include "core/strings.h"

#include "absl/strings/escaping.h"

namespace vms {

std::string Quote(std::string_view s, size_t max) {
  std::string_view shown = s.substr(0, max);
  std::string out =
      StrCat("\"", absl::CHexEscape(absl::string_view(shown.data(), shown.size())), "\"");
  if (shown.size() < s.size()) out += StrCat("... (", s.size(), " bytes)");
  return out;
}

std::string ShortPath(std::string_view path, size_t max) {
  if (path.size() <= max) return std::string(path);
  const size_t head = max / 4, tail = max - head;
  return StrCat(path.substr(0, head), "...", path.substr(path.size() - tail), " (a path of ",
                path.size(), " bytes)");
}

}  // namespace vms
