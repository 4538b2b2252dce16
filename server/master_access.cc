// The master's access side: owners, site removal, uploads' permission, and
// the audit log (see master.h).
#include <algorithm>

#include "core/log.h"
#include "core/names.h"
#include "core/principal.h"
#include "core/status_macros.h"
#include "core/strings.h"
#include "server/master.h"
#include "spdlog/spdlog.h"

namespace vms {

absl::StatusOr<std::optional<std::vector<std::string>>> Master::LoadOwners(
    const std::string& app) const {
  VMS_ASSIGN_OR_RETURN(auto value, records_->db()->Get(kOwnersFamily, app));
  if (value) {
    AppOwners owners;
    if (!owners.ParseFromString(*value)) {
      return absl::DataLossError(StrCat("the owners record of ", app, " does not parse"));
    }
    return std::vector<std::string>(owners.owners().begin(), owners.owners().end());
  }
  VMS_ASSIGN_OR_RETURN(auto state, records_->LoadAppState(app));
  if (state) return std::vector<std::string>();  // from before owners
  return std::nullopt;
}

void Master::PutOwners(rocksdb::WriteBatch* batch, const std::string& app,
                       const std::vector<std::string>& owners) {
  AppOwners record;
  for (const std::string& o : owners) record.add_owners(o);
  batch->Put(records_->db()->Family(kOwnersFamily), app, record.SerializeAsString());
}

AuditEntry Master::Entry(const std::string& principal, std::string action, const std::string& app,
                         const std::string& target) {
  AuditEntry e;
  e.set_principal(principal.substr(0, kMaxPublisherBytes));
  e.set_action(std::move(action));
  e.set_app(app.substr(0, 64));
  e.set_target(target.substr(0, kMaxPublisherBytes));
  e.set_allowed(true);
  return e;
}

void Master::AuditAlone(AuditEntry entry, const absl::Status& status) {
  if (absl::IsPermissionDenied(status)) entry.set_allowed(false);
  if (entry.outcome().empty()) {
    entry.set_outcome(status.ok() ? std::string("ok")
                                  : StrCat(absl::StatusCodeToString(status.code()), ": ",
                                           Quote(Sv(status.message()), 1024)));
  }
  if (absl::Status s = audit_->Append(std::move(entry)); !s.ok()) {
    MasterLog()->warn("audit append failed: {}", Sv(s.message()));
  }
}

absl::StatusOr<OwnersResult> Master::Owners(const std::string& principal, const std::string& app,
                                            OwnersChange change, const std::string& who,
                                            const std::optional<Envelope>& signed_record,
                                            uint32_t threshold) {
  auto result = DoOwners(principal, app, change, who, signed_record, threshold);
  if (change != OwnersChange::kList && !result.ok()) {
    const char* action = change == OwnersChange::kAdd      ? "owners add"
                         : change == OwnersChange::kRemove ? "owners remove"
                                                           : "owners threshold";
    AuditAlone(Entry(principal, action, app,
                     change == OwnersChange::kThreshold ? std::to_string(threshold) : who),
               result.status());
  }
  return result;
}

absl::StatusOr<OwnersResult> Master::DoOwners(const std::string& principal, const std::string& app,
                                              OwnersChange change, const std::string& who,
                                              const std::optional<Envelope>& signed_record,
                                              uint32_t threshold) {
  VMS_RETURN_IF_ERROR(ValidateAppName(app));
  auto not_found = [&] {
    return absl::NotFoundError(
        StrCat("no app named ", app, " has been pushed; `vms list` shows the apps"));
  };
  if (change == OwnersChange::kList) {
    VMS_ASSIGN_OR_RETURN(auto owners, LoadOwners(app));
    if (!owners) return not_found();
    OwnersResult result{.owners = *std::move(owners)};
    MutexLock write_lock(&write_mu_);
    if (chained_) {
      if (const Envelope* env = chain_->ownership_envelope(app)) result.ownership = *env;
    }
    return result;
  }
  if (change == OwnersChange::kThreshold) {
    MutexLock write_lock(&write_mu_);
    if (!chained_) {
      return absl::FailedPreconditionError(
          "an owner threshold needs a root of trust (vms-master --trust): without one the "
          "master signs every record itself");
    }
    VMS_ASSIGN_OR_RETURN(auto owners, LoadOwners(app));
    if (!owners || !chain_->ownership(app)) return not_found();
    VMS_RETURN_IF_ERROR(authz_.Check(principal, Action::kChangeOwners, app, owners));
    if (threshold < 1) return absl::InvalidArgumentError("a threshold is at least 1 owner");
    return SignedOwners(principal, app, *owners, "owners threshold", std::to_string(threshold),
                        signed_record, false, threshold);
  }
  VMS_ASSIGN_OR_RETURN(std::string target, NormalizePrincipal(who));
  MutexLock write_lock(&write_mu_);
  VMS_ASSIGN_OR_RETURN(auto owners, LoadOwners(app));
  if (!owners && chained_ && change == OwnersChange::kAdd) {
    // Under a root of trust an admin makes an app: its first ownership record.
    if (!authz_.IsAdmin(principal)) {
      return absl::PermissionDeniedError(
          StrCat(principal, " may not make the app ", app,
                 ": under a root of trust an admin makes an app (`vms owners ", app, " add ",
                 target, "`, run by an admin)"));
    }
    owners.emplace();
  }
  if (!owners) return not_found();
  VMS_RETURN_IF_ERROR(authz_.Check(principal, Action::kChangeOwners, app, owners));
  auto at = std::find(owners->begin(), owners->end(), target);
  const std::string action = change == OwnersChange::kAdd ? "owners add" : "owners remove";
  bool refresh = false;
  if (change == OwnersChange::kAdd) {
    if (at != owners->end() && !chained_) {
      return OwnersResult{.owners = *owners};  // already: nothing to write
    }
    // Under a root of trust, adding an owner again takes their keys as
    // registered now (a lost or stolen key is replaced this way).
    refresh = at != owners->end();
    if (at == owners->end()) {
      if (owners->size() >= kMaxOwners) {
        return absl::FailedPreconditionError(StrCat(
            app, " has ", owners->size(), " owners, the most an app may have; remove one first"));
      }
      owners->push_back(target);
      std::sort(owners->begin(), owners->end());
    }
  } else {
    if (at == owners->end()) {
      return absl::NotFoundError(
          StrCat(target, " is not an owner of ", app, "; its owners are ", Join(*owners)));
    }
    if (owners->size() == 1) {
      return absl::FailedPreconditionError(
          StrCat(target, " is the last owner of ", app,
                 "; an app always keeps at least one owner: add another first"));
    }
    owners->erase(at);
  }
  if (chained_) {
    return SignedOwners(principal, app, *owners, action, target, signed_record, refresh, 0);
  }
  rocksdb::WriteBatch batch;
  PutOwners(&batch, app, *owners);
  AuditEntry entry = Entry(principal, action, app, target);
  entry.set_outcome("ok");
  audit_->Add(&batch, std::move(entry));
  VMS_RETURN_IF_ERROR(Durable(&batch, 0));
  MasterLog()->info("owners app={} {} {} by={}", app,
                    change == OwnersChange::kAdd ? "add" : "remove", target, principal);
  return OwnersResult{.owners = *owners};
}

absl::Status Master::RemoveSite(const std::string& principal, const std::string& site, bool force) {
  AuditEntry entry = Entry(principal, "sites remove", "", site);
  absl::Status s = authz_.Check(principal, Action::kRemoveSite);
  if (s.ok()) s = sites_->Remove(site, force);
  AuditAlone(std::move(entry), s);
  return s;
}

absl::Status Master::AddSite(const std::string& principal, const std::string& site) {
  AuditEntry entry = Entry(principal, "sites add", "", site);
  absl::Status s = authz_.Check(principal, Action::kAddSite);
  if (s.ok()) s = sites_->Add(site);
  AuditAlone(std::move(entry), s);
  return s;
}

absl::Status Master::ServeSite(const std::string& principal, const std::string& site,
                               const std::vector<std::string>& networks) {
  AuditEntry entry = Entry(principal, "sites serve", "",
                           StrCat(site, " ", networks.empty() ? "-" : Join(networks, ",")));
  absl::Status s = authz_.Check(principal, Action::kAddSite);
  if (s.ok()) s = sites_->Serve(site, networks);
  AuditAlone(std::move(entry), s);
  return s;
}

absl::StatusOr<SiteRegistry::Applied> Master::Report(const std::string& principal,
                                                     const SiteReport& report) {
  if (authz_.insecure()) return sites_->Apply(report);
  auto sender = ParsePrincipal(principal);
  if (!sender.ok() || sender->kind != PrincipalKind::kSite) {
    return absl::PermissionDeniedError(StrCat(principal, " may not report about site ",
                                              report.site(),
                                              ": only sites (vms://site/NAME) send reports"));
  }
  return sites_->Apply(report, sender->name);
}

absl::Status Master::MayUpload(const std::string& principal) const {
  return authz_.Check(principal, Action::kUpload);
}

absl::StatusOr<std::vector<AuditEntry>> Master::Audit(const std::string& principal,
                                                      const std::string& app, size_t limit) const {
  if (!app.empty()) {
    VMS_RETURN_IF_ERROR(ValidateAppName(app));
    VMS_ASSIGN_OR_RETURN(auto owners, LoadOwners(app));
    VMS_RETURN_IF_ERROR(authz_.Check(principal, Action::kReadAudit, app,
                                     owners.value_or(std::vector<std::string>())));
  } else {
    VMS_RETURN_IF_ERROR(authz_.Check(principal, Action::kReadAudit));
  }
  return audit_->Read(app, limit);
}

}  // namespace vms
