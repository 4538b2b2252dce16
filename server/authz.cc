#include "server/authz.h"

#include <algorithm>

#include "core/principal.h"
#include "core/strings.h"

namespace vms {

namespace {

// "make alpha live": the action, said of `what`.
std::string Phrase(Action action, std::string_view what) {
  switch (action) {
    case Action::kUpload:
      return "upload objects";
    case Action::kPush:
      return StrCat("push ", what);
    case Action::kSetLive:
      return StrCat("make ", what, " live");
    case Action::kRollback:
      return StrCat("roll back ", what);
    case Action::kChangeOwners:
      return StrCat("change the owners of ", what);
    case Action::kRemoveSite:
      return "remove sites";
    case Action::kAddSite:
      return "add sites";
    case Action::kRead:
      return "read";
    case Action::kRetire:
      return StrCat("retire versions of ", what);
    case Action::kSetPolicy:
      return StrCat("set the retention policy of ", what);
    case Action::kCollect:
      return StrCat("collect garbage for ", what);
    case Action::kCosign:
      return StrCat("co-sign records of ", what);
    case Action::kRegisterKey:
      return "register signing keys";
    case Action::kReadAudit:
      return StrCat("read the audit log of ", what);
    case Action::kGroupNode:
      return "ask a master node to hold a release or for a copy of its store";
  }
  return "?";
}

bool IsKind(std::string_view principal, PrincipalKind kind) {
  auto p = ParsePrincipal(principal);
  return p.ok() && p->kind == kind;
}

bool IsUser(std::string_view principal) { return IsKind(principal, PrincipalKind::kUser); }

absl::Status Denied(std::string_view principal, Action action, std::string_view app,
                    std::string_view who) {
  return absl::PermissionDeniedError(
      StrCat(principal, " may not ", Phrase(action, app), ": ", who));
}

}  // namespace

absl::StatusOr<Authorizer> Authorizer::Create(const AuthzPolicy& policy) {
  Authorizer a;
  a.insecure_ = policy.insecure;
  for (const std::string& admin : policy.admins) {
    auto p = NormalizePrincipal(admin);
    if (!p.ok()) return absl::InvalidArgumentError(StrCat("--admins: ", p.status().message()));
    a.admins_.insert(*p);
  }
  for (const std::string& creator : policy.app_creators) {
    if (creator == "*") {
      a.any_user_creates_ = true;
      continue;
    }
    auto p = NormalizePrincipal(creator);
    if (!p.ok()) {
      return absl::InvalidArgumentError(StrCat("--app-creators: ", p.status().message()));
    }
    a.app_creators_.insert(*p);
  }
  return a;
}

bool Authorizer::IsAdmin(std::string_view principal) const {
  return insecure_ || admins_.contains(principal);
}

absl::Status Authorizer::Check(std::string_view principal, Action action, std::string_view app,
                               const std::optional<std::vector<std::string>>& owners) const {
  if (IsAdmin(principal)) return absl::OkStatus();
  const bool owner =
      owners && std::find(owners->begin(), owners->end(), principal) != owners->end();
  const std::string owners_are =
      owners && !owners->empty() ? StrCat("owners are ", Join(*owners), " (and admins)")
                                 : StrCat("it has no owners yet, so only admins may (`vms owners ",
                                          app, " add PRINCIPAL` by an admin gives it one)");
  switch (action) {
    case Action::kRead:
      return absl::OkStatus();
    case Action::kRegisterKey:
    case Action::kUpload:
      if (IsUser(principal)) return absl::OkStatus();
      return Denied(principal, action, "", "only users (vms://user/NAME) and admins may");
    case Action::kPush:
      if (!owners) {  // a new app
        if ((any_user_creates_ && IsUser(principal)) || app_creators_.contains(principal)) {
          return absl::OkStatus();
        }
        return Denied(principal, action, StrCat("a new app ", app),
                      any_user_creates_ ? "only users and admins create apps"
                                        : StrCat("app creators are ",
                                                 app_creators_.empty()
                                                     ? std::string("only the admins")
                                                     : StrCat(Join(app_creators_), " (and admins)"),
                                                 " (vms-master --app-creators)"));
      }
      [[fallthrough]];
    case Action::kSetLive:
    case Action::kRollback:
    case Action::kRetire:
    case Action::kSetPolicy:
    case Action::kCollect:
    case Action::kCosign:
    case Action::kChangeOwners:
    case Action::kReadAudit:
      if (!app.empty() && owner) return absl::OkStatus();
      if (app.empty()) return Denied(principal, action, "every app", "only admins may");
      return Denied(principal, action, app, owners_are);
    case Action::kRemoveSite:
    case Action::kAddSite:
      return Denied(principal, action, "", "only admins may (vms-master --admins)");
    case Action::kGroupNode:
      if (IsKind(principal, PrincipalKind::kMaster)) return absl::OkStatus();
      return Denied(principal, action, "",
                    "only the nodes of the master group may (master certificates)");
  }
  return Denied(principal, action, app, "unknown action");
}

}  // namespace vms
