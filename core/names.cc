#include "core/names.h"

#include "core/strings.h"

namespace vms {

namespace {

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool IsAlnum(char c) { return IsLowerAlnum(c) || (c >= 'A' && c <= 'Z'); }

absl::Status Bad(std::string_view what, std::string_view name, std::string_view rule) {
  return absl::InvalidArgumentError(StrCat("invalid ", what, " name ", Quote(name), ": ", rule));
}

absl::Status ValidateLowerName(std::string_view what, std::string_view name) {
  std::string rule = StrCat("a", what == "app" ? "n " : " ", what,
                            " name is 1-64 characters of a-z, 0-9, '.', '_', '-', starting with "
                            "a letter or digit");
  if (name.empty() || name.size() > 64 || !IsLowerAlnum(name[0])) return Bad(what, name, rule);
  for (char c : name) {
    if (!IsLowerAlnum(c) && c != '.' && c != '_' && c != '-') return Bad(what, name, rule);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateAppName(std::string_view name) { return ValidateLowerName("app", name); }

absl::Status ValidateSiteName(std::string_view name) { return ValidateLowerName("site", name); }

absl::Status ValidatePrincipalName(std::string_view name) {
  return ValidateLowerName("principal", name);
}

absl::Status ValidateVersionName(std::string_view name) {
  constexpr std::string_view kRule =
      "a version is 1-64 characters of A-Z, a-z, 0-9, '.', '_', '+', '-', starting with a "
      "letter or digit";
  if (name.empty() || name.size() > 64 || !IsAlnum(name[0])) return Bad("version", name, kRule);
  for (char c : name) {
    if (!IsAlnum(c) && c != '.' && c != '_' && c != '+' && c != '-') {
      return Bad("version", name, kRule);
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateEntryName(std::string_view name) {
  if (name.empty() || name.size() > 255) {
    return Bad("entry", name, "an entry name is 1-255 bytes");
  }
  if (name == "." || name == "..") return Bad("entry", name, "'.' and '..' are not entries");
  if (name.find('\0') != std::string_view::npos || name.find('/') != std::string_view::npos) {
    return Bad("entry", name, "an entry name contains no NUL and no '/'");
  }
  return absl::OkStatus();
}

absl::Status ValidateSymlinkTarget(std::string_view target) {
  if (target.empty() || target.size() > 4095 || target.find('\0') != std::string_view::npos) {
    return absl::InvalidArgumentError(
        StrCat("invalid symlink target ", Quote(target), ": a target is 1-4095 bytes with no NUL"));
  }
  return absl::OkStatus();
}

}  // namespace vms
