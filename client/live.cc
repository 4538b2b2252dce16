// vms live, vms rollback, vms history: the signed pointer flips.
#include <unistd.h>

#include <iostream>

#include "client/commands.h"
#include "client/master_client.h"
#include "client/signer.h"
#include "client/site_wait.h"
#include "client/table.h"
#include "core/envelope.h"
#include "core/names.h"
#include "core/strings.h"
#include "nlohmann/json.hpp"

namespace vms {

namespace {

// Prints the outcome of a flip; with `wait`, also waits for every site to
// apply it and prints how long each took.
int ReportFlip(MasterClient* master, const absl::StatusOr<FlipResponse>& resp,
               std::string_view verb, const FlipOptions& o) {
  if (!resp.ok()) return Fail(Sv(resp.status().message()));
  auto record = ParseLiveRecord(resp->record());
  if (!record.ok())
    return Fail(StrCat("master sent a bad live record: ", record.status().message()));
  if (!resp->changed()) {
    std::cout << record->app() << " " << record->version() << " is already live (live_seq "
              << record->live_seq() << "): nothing changed\n";
    return 0;
  }
  std::cout << record->app() << " " << verb << " " << record->version() << " (live_seq "
            << record->live_seq();
  if (!record->previous_version().empty()) std::cout << ", was " << record->previous_version();
  std::cout << ")\n";
  if (!o.wait) return 0;
  std::cout.flush();
  absl::Status s = WaitForFlip(master, record->app(), record->live_seq(), record->issued_unix_ms(),
                               std::chrono::seconds(o.timeout_s));
  return s.ok() ? 0 : Fail(Sv(s.message()));
}

// What the master asks the caller to sign is the flip asked for (the
// version may be the master's choice for a plain rollback).
absl::Status CheckFlip(const Envelope& to_sign, const std::string& app, const std::string& version,
                       LiveRecord::Kind kind) {
  auto r = ParseLiveRecord(to_sign);
  if (!r.ok()) return r.status();
  if (r->app() != app || (!version.empty() && r->version() != version) || r->kind() != kind) {
    return absl::InternalError(StrCat("the master asked to sign a flip of ", r->app(), " to ",
                                      r->version(), " that is not the one asked for: refused"));
  }
  return absl::OkStatus();
}

// With --wait, a flip first waits for every site to hold the target version.
int WaitForTarget(MasterClient* master, const FlipOptions& o, const std::string& target) {
  if (!o.wait || target.empty()) return 0;
  absl::Status s = WaitForVersion(master, o.app, target, std::chrono::seconds(o.timeout_s),
                                  "Nothing was flipped");
  return s.ok() ? 0 : Fail(Sv(s.message()));
}

}  // namespace

int RunLive(const GlobalOptions& global, const FlipOptions& o) {
  if (absl::Status s = ValidateAppName(o.app); !s.ok()) return Fail(Sv(s.message()));
  if (absl::Status s = ValidateVersionName(o.version); !s.ok()) return Fail(Sv(s.message()));
  MasterClient master(global.master, global.credentials);
  if (int rc = WaitForTarget(&master, o, o.version); rc != 0) return rc;
  SetLiveRequest req;
  req.set_app(o.app);
  req.set_version(o.version);
  auto resp = SignedCall<FlipResponse>(
      global.key_dir,
      [&](const Envelope* signed_env) {
        if (signed_env) *req.mutable_signed_() = *signed_env;
        return master.SetLive(req);
      },
      [&](const Envelope& to_sign) {
        return CheckFlip(to_sign, o.app, o.version, LiveRecord::LIVE);
      });
  return ReportFlip(&master, resp, "is live:", o);
}

int RunRollback(const GlobalOptions& global, const FlipOptions& o) {
  if (absl::Status s = ValidateAppName(o.app); !s.ok()) return Fail(Sv(s.message()));
  if (!o.version.empty()) {
    if (absl::Status s = ValidateVersionName(o.version); !s.ok()) return Fail(Sv(s.message()));
  }
  MasterClient master(global.master, global.credentials);
  std::string target = o.version;
  if (target.empty() && o.wait) {
    // The master goes back to the top of the app's back stack.
    if (auto apps = master.ListApps(); apps.ok()) {
      for (const AppState& a : apps->apps()) {
        if (a.app() == o.app && a.back_stack_size() > 0)
          target = a.back_stack(a.back_stack_size() - 1);
      }
    }
  }
  if (int rc = WaitForTarget(&master, o, target); rc != 0) return rc;
  RollbackRequest req;
  req.set_app(o.app);
  req.set_to_version(o.version);
  auto resp = SignedCall<FlipResponse>(
      global.key_dir,
      [&](const Envelope* signed_env) {
        if (signed_env) *req.mutable_signed_() = *signed_env;
        return master.Rollback(req);
      },
      [&](const Envelope& to_sign) {
        return CheckFlip(to_sign, o.app, o.version, LiveRecord::ROLLBACK);
      });
  return ReportFlip(&master, resp, "rolled back to", o);
}

int RunHistory(const GlobalOptions& global, const std::string& app, bool json) {
  if (absl::Status s = ValidateAppName(app); !s.ok()) return Fail(Sv(s.message()));
  MasterClient master(global.master, global.credentials);
  auto history = master.LiveHistory(app);
  if (!history.ok()) return Fail(Sv(history.status().message()));
  std::vector<LiveRecord> records;
  for (const Envelope& env : history->records()) {
    auto r = ParseLiveRecord(env);
    if (!r.ok()) return Fail(StrCat("master sent a bad live record: ", r.status().message()));
    records.push_back(std::move(*r));
  }
  std::reverse(records.begin(), records.end());  // newest first
  auto kind = [](const LiveRecord& r) {
    return r.kind() == LiveRecord::ROLLBACK ? "rollback" : "live";
  };
  if (json) {
    nlohmann::json out = nlohmann::json::array();
    for (const LiveRecord& r : records) {
      out.push_back({{"seq", r.live_seq()},
                     {"version", r.version()},
                     {"previous", r.previous_version()},
                     {"kind", kind(r)},
                     {"when", IsoTime(r.issued_unix_ms())},
                     {"by", r.issuer()}});
    }
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  if (records.empty()) {
    std::cout << app << " has never been live: `vms live " << app << " VERSION` makes it so\n";
    return 0;
  }
  Table table({"SEQ", "VERSION", "PREVIOUS", "KIND", "WHEN", "BY"});
  for (const LiveRecord& r : records) {
    table.Add({std::to_string(r.live_seq()), r.version(),
               r.previous_version().empty() ? "-" : r.previous_version(), kind(r),
               LocalTime(r.issued_unix_ms()), r.issuer()});
  }
  table.Print(std::cout);
  return 0;
}

}  // namespace vms
