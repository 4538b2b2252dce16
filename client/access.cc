// vms owners, vms audit: who may change an app, and who did what.
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <optional>

#include "client/commands.h"
#include "client/master_client.h"
#include "client/progress.h"
#include "client/signer.h"
#include "client/table.h"
#include "core/chain.h"
#include "core/envelope.h"
#include "core/hash.h"
#include "core/names.h"
#include "core/strings.h"
#include "nlohmann/json.hpp"

namespace vms {

int RunOwners(const GlobalOptions& global, const std::string& app, const std::string& change,
              const std::string& principal) {
  OwnersRequest req;
  req.set_app(app);
  if (change.empty()) {
    req.set_change(OwnersRequest::LIST);
  } else if (change == "add" || change == "remove") {
    if (principal.empty()) {
      return Fail(StrCat("vms owners ", app, " ", change,
                         " needs a PRINCIPAL: vms://user/NAME, or a bare user name"));
    }
    req.set_change(change == "add" ? OwnersRequest::ADD : OwnersRequest::REMOVE);
    req.set_principal(principal);
  } else if (change == "threshold") {
    char* end = nullptr;
    unsigned long n = std::strtoul(principal.c_str(), &end, 10);
    if (principal.empty() || *end != '\0' || n < 1 || n > 64) {
      return Fail(StrCat("vms owners ", app,
                         " threshold needs N, how many owners sign each push and flip (1 to "
                         "the number of owners)"));
    }
    req.set_change(OwnersRequest::THRESHOLD);
    req.set_threshold(static_cast<uint32_t>(n));
  } else {
    return Fail(
        StrCat("vms owners: unknown change ", Quote(change), ": use add, remove or threshold"));
  }
  MasterClient master(global.master, global.credentials);
  auto owners = SignedCall<OwnersResponse>(
      global.key_dir,
      [&](const Envelope* signed_env) {
        if (signed_env) *req.mutable_signed_() = *signed_env;
        return master.Owners(req);
      },
      [&](const Envelope& to_sign) -> absl::Status {
        OwnershipRecord r;
        if (to_sign.payload_type() != kOwnershipType || !r.ParseFromString(to_sign.payload()) ||
            r.app() != app) {
          return absl::InternalError("the master asked to sign another app's record: refused");
        }
        std::cerr << "signing ownership record " << r.ownership_seq() << " of " << app << ":";
        for (const OwnerKey& k : r.owners()) {
          auto key = PublicKey::FromPem(k.key());
          std::cerr << " " << k.principal() << " (key "
                    << (key.ok() ? key->keyid().substr(0, 16) : "unreadable") << ")";
        }
        std::cerr << "\n";
        return absl::OkStatus();
      });
  if (!owners.ok()) return Fail(Sv(owners.status().message()));
  if (owners->owners().empty()) {
    std::cout << app
              << " has no owners (it predates owners): only admins may change it; an "
                 "admin gives it one with `vms owners "
              << app << " add PRINCIPAL`\n";
    return 0;
  }
  OwnershipRecord signed_record;
  if (owners->has_ownership() && signed_record.ParseFromString(owners->ownership().payload())) {
    // Under a root of trust: each owner with the keys that sign for them.
    for (const std::string& o : owners->owners()) {
      std::cout << o;
      for (const OwnerKey& k : signed_record.owners()) {
        auto key = PublicKey::FromPem(k.key());
        if (k.principal() == o && key.ok()) std::cout << "  key " << key->keyid().substr(0, 16);
      }
      std::cout << "\n";
    }
    std::cout << "(ownership record " << signed_record.ownership_seq() << ", signed by an admin; "
              << signed_record.threshold() << " owner signature"
              << (signed_record.threshold() > 1 ? "s" : "") << " per release or flip)\n";
    return 0;
  }
  for (const std::string& o : owners->owners()) std::cout << o << "\n";
  return 0;
}

namespace {

// What a pending record does, in the words of the command that made it.
std::optional<std::string> DescribePending(const Envelope& record, const std::string& app) {
  if (auto r = ParseRelease(record); r.ok() && r->app() == app) {
    auto root = Hash::FromBytes(r->root());
    return StrCat("push ", app, " ", r->version(), " (root ", root.ok() ? root->Short() : "?", ", ",
                  r->file_count(), " files, ", HumanBytes(r->byte_count()), ")");
  }
  auto l = ParseLiveRecord(record);
  if (!l.ok() || l->app() != app) return std::nullopt;
  const std::string now =
      l->previous_version().empty() ? "nothing yet" : StrCat("now ", l->previous_version());
  if (l->kind() == LiveRecord::RETIRE) {
    return StrCat("retire ", app, " ", l->version(),
                  " (every site and host drops it; it can never be live again)");
  }
  if (!l->label().empty()) {
    return StrCat(
        "move ", app, "@", l->label(), " to ", l->version(), " (",
        l->previous_version().empty() ? "a new label" : StrCat("now ", l->previous_version()),
        ", live_seq ", l->live_seq(), ")");
  }
  const std::string where =
      l->sites().empty()
          ? std::string(" everywhere")
          : StrCat(" at ", Join(std::vector<std::string>(l->sites().begin(), l->sites().end())),
                   " only (canary)");
  if (l->kind() == LiveRecord::ROLLBACK) {
    return StrCat("roll ", app, " back to ", l->version(), where, " (", now, ", live_seq ",
                  l->live_seq(), ")");
  }
  return StrCat("make ", app, " ", l->version(), " live", where, " (", now, ", live_seq ",
                l->live_seq(), ")");
}

// Asks at a terminal; elsewhere, only --yes signs.
absl::StatusOr<bool> Confirm(const std::string& what) {
  if (isatty(STDIN_FILENO) != 1) {
    return absl::FailedPreconditionError(
        "vms sign shows what it signs and asks first: run it at a terminal, or pass --yes to "
        "sign what it shows");
  }
  std::cout << "sign: " << what << "? [y/N] " << std::flush;
  std::string answer;
  if (!std::getline(std::cin, answer)) return false;
  return answer == "y" || answer == "Y" || answer == "yes";
}

}  // namespace

int RunSign(const GlobalOptions& global, const std::string& app, bool yes) {
  if (absl::Status s = ValidateAppName(app); !s.ok()) return Fail(Sv(s.message()));
  MasterClient master(global.master, global.credentials);
  PendingRequest req;
  req.set_app(app);
  auto pending = master.Pending(req);
  if (!pending.ok()) return Fail(Sv(pending.status().message()));
  if (pending->records().empty()) {
    std::cout << "nothing of " << app << " waits for a signature\n";
    return 0;
  }
  auto key = LoadSigningKey(global.key_dir);
  if (!key.ok()) return Fail(Sv(key.status().message()));
  int rc = 0;
  for (const PendingRecord& p : pending->records()) {
    // Say exactly what is signed, and ask, before signing it.
    std::optional<std::string> described = DescribePending(p.record(), app);
    if (!described) {
      std::cerr << "vms: skipping a pending record that is not " << app << "'s\n";
      rc = 1;
      continue;
    }
    const std::string& what = *described;
    std::cout << p.principal() << " asks to " << what << "; signed by " << p.owners_signed()
              << " of " << p.threshold() << " owners\n";
    if (!yes) {
      auto confirmed = Confirm(what);
      if (!confirmed.ok()) return Fail(Sv(confirmed.status().message()));
      if (!*confirmed) {
        std::cout << "not signed\n";
        continue;
      }
    }
    Envelope signed_env = p.record();
    AddSignature(&signed_env, *key);
    CosignRequest cosign;
    cosign.set_app(app);
    *cosign.mutable_signed_() = std::move(signed_env);
    auto done = master.Cosign(cosign);
    if (!done.ok()) {
      std::cerr << "vms: " << done.status().message() << "\n";
      rc = 1;
    } else if (done->done()) {
      std::cout << "done: " << what << " (seq " << done->seq() << ")\n";
    } else {
      std::cout << "still waiting: " << done->waiting() << "\n";
    }
  }
  return rc;
}

int RunAudit(const GlobalOptions& global, const std::string& app, int limit, bool json) {
  AuditRequest req;
  req.set_app(app);
  req.set_limit(static_cast<uint32_t>(limit));
  MasterClient master(global.master, global.credentials);
  auto audit = master.Audit(req);
  if (!audit.ok()) return Fail(Sv(audit.status().message()));
  if (json) {
    nlohmann::json out = nlohmann::json::array();
    for (const AuditEntry& e : audit->entries()) {
      out.push_back({{"seq", e.seq()},
                     {"time", IsoTime(e.unix_ms())},
                     {"principal", e.principal()},
                     {"action", e.action()},
                     {"app", e.app()},
                     {"target", e.target()},
                     {"allowed", e.allowed()},
                     {"outcome", e.outcome()}});
    }
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  if (audit->entries().empty()) {
    std::cout << "nothing in the audit log" << (app.empty() ? "" : StrCat(" for ", app)) << "\n";
    return 0;
  }
  Table table({"WHEN", "WHO", "ACTION", "APP", "WHAT", "OUTCOME"});
  for (const AuditEntry& e : audit->entries()) {
    table.Add({LocalTime(e.unix_ms()), e.principal(), e.action(), e.app().empty() ? "-" : e.app(),
               e.target(), e.allowed() ? e.outcome() : StrCat("REFUSED: ", e.outcome())});
  }
  table.Print(std::cout);
  return 0;
}

}  // namespace vms
