// vms usage (the census), and what retires versions.
#include <iostream>
#include <map>

#include "client/commands.h"
#include "client/master_client.h"
#include "client/signer.h"
#include "client/table.h"
#include "core/clock.h"
#include "core/envelope.h"
#include "core/names.h"
#include "core/strings.h"
#include "nlohmann/json.hpp"

namespace vms {

int RunUsage(const GlobalOptions& global, const std::string& app, bool json) {
  if (absl::Status s = ValidateAppName(app); !s.ok()) return Fail(Sv(s.message()));
  MasterClient master(global.master, global.credentials);
  auto sites = master.ListSites(app);
  if (!sites.ok()) return Fail(Sv(sites.status().message()));
  // version -> site -> usage
  std::map<std::string, std::map<std::string, const VersionUsage*>> by_version;
  for (const SiteState& s : sites->sites()) {
    for (const VersionUsage& u : s.usage()) by_version[u.version()][s.name()] = &u;
  }
  if (json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& [version, per_site] : by_version) {
      for (const auto& [site, u] : per_site) {
        out.push_back({{"version", version},
                       {"site", site},
                       {"hosts_now", u->hosts_now()},
                       {"hosts_day", u->hosts_day()},
                       {"hosts_week", u->hosts_week()},
                       {"processes", u->processes()},
                       {"open_files", u->open_files()},
                       {"last_use", u->last_use_unix_ms() ? IsoTime(u->last_use_unix_ms()) : ""},
                       {"hosts", std::vector<std::string>(u->hosts().begin(), u->hosts().end())}});
      }
    }
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  if (by_version.empty()) {
    std::cout << "no host has used " << app << " this week (as far as the census knows)\n";
    return 0;
  }
  Table table(
      {"VERSION", "SITE", "HOSTS NOW", "DAY", "WEEK", "PROCESSES", "OPEN", "LAST USE", "HOSTS"});
  for (const auto& [version, per_site] : by_version) {
    for (const auto& [site, u] : per_site) {
      table.Add({version, site, std::to_string(u->hosts_now()), std::to_string(u->hosts_day()),
                 std::to_string(u->hosts_week()), std::to_string(u->processes()),
                 std::to_string(u->open_files()), LocalTime(u->last_use_unix_ms()),
                 Join(u->hosts(), ",")});
    }
  }
  table.Print(std::cout);
  return 0;
}

namespace {

std::string Mib(uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MiB", bytes / 1048576.0);
  return buf;
}

void PrintSummary(const GcSummary& g, bool dry_run) {
  std::cout << g.store() << ": " << (dry_run ? "would remove " : "removed ") << g.objects_removed()
            << " objects (" << Mib(g.bytes_removed()) << "), kept " << g.objects_kept()
            << " objects of " << g.versions_kept() << " versions";
  if (!dry_run) {
    std::printf(" in %.2f s (pushes and flips waited %.0f ms)", g.seconds(),
                g.locked_seconds() * 1000);
    std::cout.flush();
  }
  std::cout << "\n";
}

// Retires one version as `global`'s caller, signing under a root of trust.
absl::StatusOr<RetireResponse> RetireOne(MasterClient* master, const GlobalOptions& global,
                                         const std::string& app, const std::string& version,
                                         bool force, bool defer_collection = false) {
  RetireRequest req;
  req.set_app(app);
  req.set_version(version);
  req.set_force(force);
  req.set_defer_collection(defer_collection);
  return SignedCall<RetireResponse>(
      global.key_dir,
      [&](const Envelope* signed_env) {
        if (signed_env) *req.mutable_signed_() = *signed_env;
        return master->Retire(req);
      },
      [&](const Envelope& to_sign) -> absl::Status {
        auto r = ParseLiveRecord(to_sign);
        if (!r.ok()) return r.status();
        if (r->app() != app || r->version() != version || r->kind() != LiveRecord::RETIRE) {
          return absl::InternalError(
              StrCat("the master asked to sign something else than "
                     "retiring ",
                     app, " ", version, ": refused"));
        }
        return absl::OkStatus();
      });
}

}  // namespace

int RunRetire(const GlobalOptions& global, const std::string& app, const std::string& version,
              bool force) {
  if (absl::Status s = ValidateAppName(app); !s.ok()) return Fail(Sv(s.message()));
  if (absl::Status s = ValidateVersionName(version); !s.ok()) return Fail(Sv(s.message()));
  MasterClient master(global.master, global.credentials);
  auto resp = RetireOne(&master, global, app, version, force);
  if (!resp.ok()) return Fail(Sv(resp.status().message()));
  if (!resp->changed()) {
    std::cout << app << " " << version << " is already retired: nothing changed\n";
    return 0;
  }
  auto r = ParseLiveRecord(resp->record());
  std::cout << "retired " << app << " " << version << " (live_seq " << (r.ok() ? r->live_seq() : 0)
            << "): every store reclaims what no other version uses\n";
  if (resp->in_use_size() > 0) {
    std::cout << "forced: the census showed it in use on " << Join(resp->in_use()) << "\n";
  }
  if (!resp->census().empty()) std::cout << "checked against " << resp->census() << "\n";
  if (resp->has_gc()) PrintSummary(resp->gc(), false);
  return 0;
}

int RunPolicy(const GlobalOptions& global, const std::string& app, int keep_last, int keep_days) {
  if (absl::Status s = ValidateAppName(app); !s.ok()) return Fail(Sv(s.message()));
  MasterClient master(global.master, global.credentials);
  PolicyRequest req;
  req.set_app(app);
  if (keep_last >= 0 || keep_days >= 0) {
    // What is not given stays as it was.
    auto now = master.Policy(req);
    if (!now.ok()) return Fail(Sv(now.status().message()));
    req.set_set(true);
    req.set_keep_last(keep_last >= 0 ? keep_last : now->policy().keep_last());
    req.set_keep_days(keep_days >= 0 ? keep_days : now->policy().keep_days());
  }
  auto resp = master.Policy(req);
  if (!resp.ok()) return Fail(Sv(resp.status().message()));
  std::cout << app << ": keep the newest " << resp->policy().keep_last()
            << " versions (and the last " << resp->policy().keep_last()
            << " live ones) and those pushed or live in the last " << resp->policy().keep_days()
            << " days; `vms gc " << app << "` retires the rest\n";
  return 0;
}

int RunGc(const GlobalOptions& global, const std::string& app, bool dry_run, bool json) {
  if (!app.empty()) {
    if (absl::Status s = ValidateAppName(app); !s.ok()) return Fail(Sv(s.message()));
  }
  MasterClient master(global.master, global.credentials);
  GcRequest req;
  req.set_app(app);
  req.set_dry_run(true);
  auto plan = master.Gc(req);
  if (!plan.ok()) return Fail(Sv(plan.status().message()));
  if (json && dry_run) {
    nlohmann::json out = {{"candidates", nlohmann::json::array()},
                          {"stores", nlohmann::json::array()}};
    for (const GcCandidate& c : plan->candidates()) {
      out["candidates"].push_back({{"app", c.app()},
                                   {"version", c.version()},
                                   {"retire", c.retire()},
                                   {"why", c.why()},
                                   {"bytes", c.bytes()}});
    }
    for (const GcSummary& g : plan->stores()) {
      out["stores"].push_back({{"store", g.store()},
                               {"objects_removed", g.objects_removed()},
                               {"bytes_removed", g.bytes_removed()},
                               {"objects_kept", g.objects_kept()}});
    }
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  Table table({"APP", "VERSION", "", "WHY", "SIZE"});
  for (const GcCandidate& c : plan->candidates()) {
    table.Add({c.app(), c.version(), c.retire() ? "retire" : "keep", c.why(), Mib(c.bytes())});
  }
  if (plan->candidates_size() > 0) table.Print(std::cout);
  if (dry_run) {
    for (const GcSummary& g : plan->stores()) PrintSummary(g, true);
    std::cout << "each replica holding every version gets back as much (the same objects)\n";
    return 0;
  }
  int failed = 0;
  for (const GcCandidate& c : plan->candidates()) {
    if (!c.retire()) continue;
    auto resp = RetireOne(&master, global, c.app(), c.version(), /*force=*/false,
                          /*defer_collection=*/true);
    if (!resp.ok()) {
      std::cerr << "vms: " << Sv(resp.status().message()) << "\n";
      ++failed;
      continue;
    }
    std::cout << "retired " << c.app() << " " << c.version() << "\n";
  }
  req.set_dry_run(false);
  auto done = master.Gc(req);
  if (!done.ok()) return Fail(Sv(done.status().message()));
  for (const GcSummary& g : done->stores()) PrintSummary(g, false);
  return failed == 0 ? 0 : 1;
}

}  // namespace vms
