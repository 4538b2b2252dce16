// Who is calling: a principal is the URI SAN of the peer's certificate,
// vms://KIND/NAME (../shared/DESIGN.md, "Identity and authority").
//
//   vms://user/alice    a person (vms push, live, owners ...)
//   vms://site/ny       a replica
//   vms://host/web-12   a host's vms-fuse
//   vms://master/main   the master
//
// Names follow the rule of apps and sites: [a-z0-9][a-z0-9._-]{0,63}.
#ifndef VMS_CORE_PRINCIPAL_H_
#define VMS_CORE_PRINCIPAL_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace vms {

enum class PrincipalKind { kUser, kSite, kHost, kMaster };

struct Principal {
  PrincipalKind kind = PrincipalKind::kUser;
  std::string name;

  // "vms://KIND/NAME".
  std::string uri() const;
  bool operator==(const Principal&) const = default;
};

// "user", "site", "host", "master".
std::string_view KindName(PrincipalKind kind);
absl::StatusOr<PrincipalKind> ParseKind(std::string_view kind);

// Parses "vms://KIND/NAME"; InvalidArgument that quotes `uri` and states the
// form otherwise.
absl::StatusOr<Principal> ParsePrincipal(std::string_view uri);

// A principal as people write it in flags and commands: "vms://user/alice",
// or a bare "alice" for a user. Returns the full URI.
absl::StatusOr<std::string> NormalizePrincipal(std::string_view text);

}  // namespace vms

#endif  // VMS_CORE_PRINCIPAL_H_
