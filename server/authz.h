// Who may do what at the master: one table, from the authenticated
// principal only (../shared/DESIGN.md, "Identity and authority").
//
//   action              who may
//   upload objects      any user (what no release names is collected later)
//   push a new app      app creators (--app-creators: users, or * for every user)
//   push, live,         the app's owners
//   rollback, retire,
//   policy, gc, cosign,
//   owners
//   register a key      any user, for itself
//   sites remove        nobody but admins
//   audit of an app     its owners
//   audit of all        admins
//   reads               any authenticated principal (the TLS handshake)
//   a group's node      only another node of the master group (a master
//     asks (Hold,       certificate): kGroupActions
//     Snapshot)
//
// kPublishActions below says which action each RPC is.
//
// Admins (--admins) may do everything. On an --insecure master there is no
// identity, and every caller (kAnonymous) may do everything.
//
// A refusal is PermissionDenied with a message that names the principal,
// the action and who may do it. Site reports have their own rule, which
// needs the sites' tree: SiteRegistry::Apply(). Thread-safe (immutable).
#ifndef VMS_SERVER_AUTHZ_H_
#define VMS_SERVER_AUTHZ_H_

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace vms {

enum class Action {
  kRead,          // listings any authenticated principal may see
  kUpload,        // objects, and asking which are missing
  kPush,          // commit a release (a new app: app creators)
  kSetLive,       // vms live, a label or canary too
  kRollback,      // vms rollback
  kRetire,        // vms retire
  kSetPolicy,     // vms policy APP --keep-last/--keep-days
  kCollect,       // vms gc [--dry-run]
  kCosign,        // add a signature to a pending record
  kChangeOwners,  // vms owners APP add/remove/threshold
  kRegisterKey,   // vms key register: a user's own signing key
  kRemoveSite,    // vms sites remove
  kAddSite,       // vms sites add
  kReadAudit,     // vms audit
  kGroupNode,     // a master group's node asking another (hold a release, a copy)
};

// Every RPC of the Publish service and the action it is checked as: the
// one table (tests/server/access_test.cc walks the service definition and
// fails for an RPC missing here). An RPC that both reads and writes (Policy,
// Owners) is listed with its write.
struct RpcAction {
  std::string_view rpc;
  Action action;
};
inline constexpr RpcAction kPublishActions[] = {
    {"CompleteTrees", Action::kUpload}, {"MissingObjects", Action::kUpload},
    {"PutObjects", Action::kUpload},    {"Commit", Action::kPush},
    {"SetLive", Action::kSetLive},      {"Rollback", Action::kRollback},
    {"ListSites", Action::kRead},       {"RemoveSite", Action::kRemoveSite},
    {"AddSite", Action::kAddSite},      {"Owners", Action::kChangeOwners},
    {"Audit", Action::kReadAudit},      {"RegisterKey", Action::kRegisterKey},
    {"Pending", Action::kCosign},       {"Cosign", Action::kCosign},
    {"Retire", Action::kRetire},        {"Gc", Action::kCollect},
    {"Policy", Action::kSetPolicy},
};

// The same for the Group service (group.proto), which a master group's
// nodes serve (tests/server/access_test.cc walks it too).
inline constexpr RpcAction kGroupActions[] = {
    {"Hold", Action::kGroupNode},
    {"Snapshot", Action::kGroupNode},
    {"Nodes", Action::kRead},
};

struct AuthzPolicy {
  bool insecure = false;
  std::vector<std::string> admins;        // principals (or bare user names)
  std::vector<std::string> app_creators;  // principals, bare user names, or "*"
};

class Authorizer {
 public:
  // InvalidArgument naming the entry that is not a principal.
  static absl::StatusOr<Authorizer> Create(const AuthzPolicy& policy);

  bool insecure() const { return insecure_; }
  bool IsAdmin(std::string_view principal) const;

  // Whether `principal` may do `action`; for an app's actions, `owners` are
  // its owners now (nullopt: the app does not exist yet, and a push would
  // create it; empty: an app from before owners existed, which only admins
  // may touch until one adds an owner).
  absl::Status Check(std::string_view principal, Action action, std::string_view app = "",
                     const std::optional<std::vector<std::string>>& owners = {}) const;

 private:
  Authorizer() = default;
  bool insecure_ = false;
  std::set<std::string, std::less<>> admins_;
  std::set<std::string, std::less<>> app_creators_;
  bool any_user_creates_ = false;
};

}  // namespace vms

#endif  // VMS_SERVER_AUTHZ_H_
