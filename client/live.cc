// vms live, vms rollback, vms history: the signed pointer flips.
#include <unistd.h>

#include <algorithm>
#include <iostream>

#include "client/commands.h"
#include "client/master_client.h"
#include "client/signer.h"
#include "client/site_wait.h"
#include "client/table.h"
#include "core/envelope.h"
#include "core/lifecycle.h"
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
  const std::string name = PointerName(o.app, o.label == "live" ? "" : o.label);
  const std::string where = o.sites.empty() ? "" : StrCat(" at ", Join(o.sites));
  if (!resp->changed()) {
    if (name == o.app) {
      std::cout << o.app << " " << o.version << " is already live" << where
                << ": nothing changed\n";
    } else {
      std::cout << name << " already points at " << o.version << where << ": nothing changed\n";
    }
    return 0;
  }
  auto record = ParseLiveRecord(resp->record());
  if (!record.ok()) {
    return Fail(StrCat("master sent a bad live record: ", record.status().message()));
  }
  std::cout << name << " " << verb << " " << record->version() << where << " (live_seq "
            << record->live_seq();
  if (!record->previous_version().empty()) std::cout << ", was " << record->previous_version();
  std::cout << ")\n";
  if (!o.wait) return 0;
  std::cout.flush();
  absl::Status s = WaitForFlip(master, record->app(), record->live_seq(), resp->seq(), o.sites,
                               record->issued_unix_ms(), std::chrono::seconds(o.timeout_s));
  return s.ok() ? 0 : Fail(Sv(s.message()));
}

// What the master asks the caller to sign is the flip asked for (the
// version may be the master's choice for a plain rollback).
absl::Status CheckFlip(const Envelope& to_sign, const FlipOptions& o, LiveRecord::Kind kind) {
  auto r = ParseLiveRecord(to_sign);
  if (!r.ok()) return r.status();
  std::vector<std::string> sites(r->sites().begin(), r->sites().end());
  if (r->app() != o.app || (!o.version.empty() && r->version() != o.version) || r->kind() != kind ||
      sites != o.sites || r->label() != (o.label == "live" ? "" : o.label)) {
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

// Sorted, once each, each a site name: as the master signs them.
absl::Status NormaliseSites(FlipOptions* o) {
  std::sort(o->sites.begin(), o->sites.end());
  o->sites.erase(std::unique(o->sites.begin(), o->sites.end()), o->sites.end());
  return ValidateScope(o->sites);
}

int RunLive(const GlobalOptions& global, const FlipOptions& options) {
  FlipOptions o = options;
  if (absl::Status s = NormaliseSites(&o); !s.ok()) return Fail(Sv(s.message()));
  if (!o.label.empty() && o.label != "live") {
    if (absl::Status s = ValidateLabel(o.label); !s.ok()) return Fail(Sv(s.message()));
  }
  if (absl::Status s = ValidateAppName(o.app); !s.ok()) return Fail(Sv(s.message()));
  if (absl::Status s = ValidateVersionName(o.version); !s.ok()) return Fail(Sv(s.message()));
  MasterClient master(global.master, global.credentials);
  if (int rc = WaitForTarget(&master, o, o.version); rc != 0) return rc;
  SetLiveRequest req;
  req.set_app(o.app);
  req.set_version(o.version);
  for (const std::string& site : o.sites) req.add_sites(site);
  req.set_label(o.label == "live" ? "" : o.label);
  auto resp = SignedCall<FlipResponse>(
      global.key_dir,
      [&](const Envelope* signed_env) {
        if (signed_env) *req.mutable_signed_() = *signed_env;
        return master.SetLive(req);
      },
      [&](const Envelope& to_sign) { return CheckFlip(to_sign, o, LiveRecord::LIVE); });
  return ReportFlip(&master, resp, o.label.empty() || o.label == "live" ? "is live:" : "is now", o);
}

int RunRollback(const GlobalOptions& global, const FlipOptions& options) {
  FlipOptions o = options;
  if (absl::Status s = NormaliseSites(&o); !s.ok()) return Fail(Sv(s.message()));
  if (absl::Status s = ValidateAppName(o.app); !s.ok()) return Fail(Sv(s.message()));
  if (!o.version.empty()) {
    if (absl::Status s = ValidateVersionName(o.version); !s.ok()) return Fail(Sv(s.message()));
  }
  MasterClient master(global.master, global.credentials);
  std::string target = o.version;
  if (target.empty() && o.wait && o.sites.empty()) {
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
  for (const std::string& site : o.sites) req.add_sites(site);
  auto resp = SignedCall<FlipResponse>(
      global.key_dir,
      [&](const Envelope* signed_env) {
        if (signed_env) *req.mutable_signed_() = *signed_env;
        return master.Rollback(req);
      },
      [&](const Envelope& to_sign) { return CheckFlip(to_sign, o, LiveRecord::ROLLBACK); });
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
  auto kind = [](const LiveRecord& r) -> std::string {
    if (r.kind() == LiveRecord::RETIRE) return "retire";
    if (!r.label().empty()) return StrCat("label ", r.label());
    return r.kind() == LiveRecord::ROLLBACK ? "rollback" : "live";
  };
  auto scope = [](const LiveRecord& r) -> std::string {
    return r.sites().empty() ? "world" : Join(r.sites(), ",");
  };
  if (json) {
    nlohmann::json out = nlohmann::json::array();
    for (const LiveRecord& r : records) {
      out.push_back({{"seq", r.live_seq()},
                     {"version", r.version()},
                     {"previous", r.previous_version()},
                     {"kind", kind(r)},
                     {"label", r.label()},
                     {"sites", std::vector<std::string>(r.sites().begin(), r.sites().end())},
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
  Table table({"SEQ", "VERSION", "PREVIOUS", "KIND", "WHERE", "WHEN", "BY"});
  for (const LiveRecord& r : records) {
    table.Add({std::to_string(r.live_seq()), r.version(),
               r.previous_version().empty() ? "-" : r.previous_version(), kind(r), scope(r),
               LocalTime(r.issued_unix_ms()), r.issuer()});
  }
  table.Print(std::cout);
  return 0;
}

}  // namespace vms

namespace vms {

int RunLabels(const GlobalOptions& global, const std::string& app, bool json) {
  if (absl::Status s = ValidateAppName(app); !s.ok()) return Fail(Sv(s.message()));
  MasterClient master(global.master, global.credentials);
  auto apps = master.ListApps();
  if (!apps.ok()) return Fail(Sv(apps.status().message()));
  const AppState* state = nullptr;
  for (const AppState& a : apps->apps()) {
    if (a.app() == app) state = &a;
  }
  if (state == nullptr) return Fail(StrCat("no app named ", app, "; `vms list` shows the apps"));
  // live for the world first, then each label, each by site.
  struct Row {
    std::string label, where, version;
    uint64_t live_seq;
    int64_t since;
  };
  std::vector<Row> rows;
  if (!state->live_version().empty()) {
    rows.push_back({"live", "world", state->live_version(), WorldLiveSeq(*state),
                    state->live_since_unix_ms()});
  }
  for (const AppState::Pointer& p : state->pointers()) {
    rows.push_back({p.label().empty() ? "live" : p.label(), p.site().empty() ? "world" : p.site(),
                    p.version(), p.live_seq(), p.since_unix_ms()});
  }
  std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    if ((a.label == "live") != (b.label == "live")) return a.label == "live";
    if (a.label != b.label) return a.label < b.label;
    return (a.where == "world") > (b.where == "world");
  });
  if (json) {
    nlohmann::json out = nlohmann::json::array();
    for (const Row& r : rows) {
      out.push_back({{"label", r.label},
                     {"where", r.where},
                     {"version", r.version},
                     {"live_seq", r.live_seq},
                     {"since", IsoTime(r.since)}});
    }
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  if (rows.empty()) {
    std::cout << app << " has no live version and no labels: `vms label " << app
              << " LABEL VERSION` makes one\n";
    return 0;
  }
  Table table({"LABEL", "WHERE", "VERSION", "PATH", "SEQ", "SINCE"});
  for (const Row& r : rows) {
    table.Add({r.label, r.where, r.version,
               StrCat("/dist/", PointerName(app, r.label == "live" ? "" : r.label)),
               std::to_string(r.live_seq), LocalTime(r.since)});
  }
  table.Print(std::cout);
  return 0;
}

}  // namespace vms
