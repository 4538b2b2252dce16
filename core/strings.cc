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

}  // namespace vms
