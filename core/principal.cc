#include "core/principal.h"

#include "core/names.h"
#include "core/strings.h"

namespace vms {

namespace {
constexpr std::string_view kScheme = "vms://";
}  // namespace

std::string_view KindName(PrincipalKind kind) {
  switch (kind) {
    case PrincipalKind::kUser:
      return "user";
    case PrincipalKind::kSite:
      return "site";
    case PrincipalKind::kHost:
      return "host";
    case PrincipalKind::kMaster:
      return "master";
  }
  return "?";
}

absl::StatusOr<PrincipalKind> ParseKind(std::string_view kind) {
  for (PrincipalKind k :
       {PrincipalKind::kUser, PrincipalKind::kSite, PrincipalKind::kHost, PrincipalKind::kMaster}) {
    if (KindName(k) == kind) return k;
  }
  return absl::InvalidArgumentError(
      StrCat("principal kind \"", kind, "\" is not one of user, site, host, master"));
}

std::string Principal::uri() const { return StrCat(kScheme, KindName(kind), "/", name); }

absl::StatusOr<Principal> ParsePrincipal(std::string_view uri) {
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(
        StrCat("principal \"", uri, "\" ", why, ": the form is vms://KIND/NAME"));
  };
  if (!uri.starts_with(kScheme)) return bad("does not start with vms://");
  std::string_view rest = uri.substr(kScheme.size());
  size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return bad("has no name");
  auto kind = ParseKind(rest.substr(0, slash));
  if (!kind.ok()) return bad(StrCat("has a bad kind (", kind.status().message(), ")"));
  std::string_view name = rest.substr(slash + 1);
  if (absl::Status s = ValidatePrincipalName(name); !s.ok()) {
    return bad(StrCat("has a bad name (", s.message(), ")"));
  }
  return Principal{*kind, std::string(name)};
}

absl::StatusOr<std::string> NormalizePrincipal(std::string_view text) {
  std::string uri = text.starts_with(kScheme) ? std::string(text) : StrCat(kScheme, "user/", text);
  auto p = ParsePrincipal(uri);
  if (!p.ok()) return p.status();
  return p->uri();
}

}  // namespace vms
