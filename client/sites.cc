// vms sites, vms sites remove, vms status, vms site: where versions are.
#include <iostream>

#include "client/commands.h"
#include "client/master_client.h"
#include "client/progress.h"
#include "client/table.h"
#include "core/cidr.h"
#include "core/clock.h"
#include "core/envelope.h"
#include "core/lifecycle.h"
#include "core/names.h"
#include "core/strings.h"
#include "net/version_state.h"
#include "nlohmann/json.hpp"

namespace vms {

namespace {

std::string Ago(int64_t unix_ms) {
  if (unix_ms == 0) return "never";
  int64_t ms = std::max<int64_t>(0, WallClockMs() - unix_ms);
  if (ms < 1000) return "just now";
  if (ms < 120000) return StrCat(ms / 1000, " s ago");
  if (ms < 7200000) return StrCat(ms / 60000, " min ago");
  return StrCat(ms / 3600000, " h ago");
}

std::string DescribeState(const VersionState* v) {
  if (v == nullptr) return "not started";
  switch (v->state()) {
    case VersionState::FETCHING:
      return StrCat("fetching ", HumanBytes(v->bytes_done()), "/", HumanBytes(v->bytes_total()));
    case VersionState::FAILED:
      return StrCat("failed: ", v->error());
    default:
      return VersionStateName(v->state());
  }
}

}  // namespace

int RunSites(const GlobalOptions& global, bool json) {
  MasterClient master(global.master, global.credentials);
  auto sites = master.ListSites();
  if (!sites.ok()) return Fail(Sv(sites.status().message()));
  uint64_t head = sites->head_seq();
  // Said first, and on stderr under --json, so that scripts still parse.
  for (const std::string& w : sites->trust_warnings()) {
    (json ? std::cerr : std::cout) << "warning: " << w << "\n";
  }
  if (json) {
    nlohmann::json out = nlohmann::json::array();
    for (const SiteState& s : sites->sites()) {
      out.push_back(
          {{"site", s.name()},
           {"address", s.address()},
           {"upstream", s.upstream()},
           {"upstreams", std::vector<std::string>(s.upstreams().begin(), s.upstreams().end())},
           {"networks", std::vector<std::string>(s.networks().begin(), s.networks().end())},
           {"claimed_networks",
            std::vector<std::string>(s.claimed_networks().begin(), s.claimed_networks().end())},
           {"last_seen", IsoTime(s.last_seen_unix_ms())},
           {"applied_seq", s.applied_seq()},
           {"lag", head > s.applied_seq() ? head - s.applied_seq() : 0},
           {"upstream_silent_ms", s.upstream_silent_ms()},
           {"problem", s.problem()}});
    }
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  if (sites->sites().empty()) {
    std::cout << "no sites yet: start a vms-replica with --upstream pointing here\n";
    return 0;
  }
  Table table({"SITE", "ADDRESS", "UPSTREAM", "LAST SEEN", "APPLIED", "LAG", "SERVES"});
  for (const SiteState& s : sites->sites()) {
    uint64_t lag = head > s.applied_seq() ? head - s.applied_seq() : 0;
    table.Add({s.name(), s.address(), s.upstream(), Ago(s.last_seen_unix_ms()),
               std::to_string(s.applied_seq()), lag == 0 ? "0" : StrCat(lag, " events"),
               s.networks().empty() ? "-" : Join(s.networks(), ",")});
  }
  table.Print(std::cout);
  for (const SiteState& s : sites->sites()) {
    if (!s.problem().empty()) std::cout << s.name() << ": " << s.problem() << "\n";
    if (!std::equal(s.networks().begin(), s.networks().end(), s.claimed_networks().begin(),
                    s.claimed_networks().end()) &&
        !s.claimed_networks().empty()) {
      std::cout << s.name() << ": says it serves " << Join(s.claimed_networks(), ",")
                << " (vms-replica --serves); hosts go by what an admin set: vms sites serve "
                << s.name() << " " << Join(s.claimed_networks(), " ") << "\n";
    }
  }
  return 0;
}

int RunMasters(const GlobalOptions& global, bool json) {
  MasterClient master(global.master, global.credentials);
  auto group = master.Masters();
  if (!group.ok()) return Fail(Sv(group.status().message()));
  if (json) {
    nlohmann::json out = {
        {"leader", group->leader()},
        {"log_head", group->log_head()},
        {"log_oldest", group->log_oldest()},
        {"commit_copies", group->commit_copies()},
        {"etcd", std::vector<std::string>(group->etcd().begin(), group->etcd().end())},
        {"nodes", nlohmann::json::array()}};
    for (const GroupNode& n : group->nodes()) {
      out["nodes"].push_back({{"node", n.node()},
                              {"address", n.address()},
                              {"leader", n.leader()},
                              {"applied", n.applied()},
                              {"lag", group->log_head() - std::min(group->log_head(), n.applied())},
                              {"head_seq", n.head_seq()},
                              {"objects", n.objects()},
                              {"last_seen", IsoTime(n.unix_ms())}});
    }
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  Table table({"NODE", "ADDRESS", "ROLE", "APPLIED", "LAG", "EVENTS", "OBJECTS", "LAST SEEN"});
  for (const GroupNode& n : group->nodes()) {
    const uint64_t lag = group->log_head() - std::min(group->log_head(), n.applied());
    table.Add({n.node(), n.address(), n.leader() ? "leader" : "standby",
               std::to_string(n.applied()), lag == 0 ? "0" : StrCat(lag, " entries"),
               std::to_string(n.head_seq()), std::to_string(n.objects()), Ago(n.unix_ms())});
  }
  table.Print(std::cout);
  std::cout << "leader: " << (group->leader().empty() ? "none now" : group->leader())
            << "; log head " << group->log_head() << "; a release is committed once "
            << group->commit_copies() << " nodes hold it\n";
  for (const std::string& e : group->etcd()) std::cout << "etcd " << e << "\n";
  return 0;
}

int RunSitesRemove(const GlobalOptions& global, const std::string& site, bool force) {
  if (absl::Status s = ValidateSiteName(site); !s.ok()) return Fail(Sv(s.message()));
  MasterClient master(global.master, global.credentials);
  if (absl::Status s = master.RemoveSite(site, force); !s.ok()) return Fail(Sv(s.message()));
  std::cout << "forgot site " << site
            << " (a replica still running there reappears with its next report if it follows "
               "the master; one that reports through another site is added again with vms sites "
               "add)\n";
  return 0;
}

int RunSitesAdd(const GlobalOptions& global, const std::string& site) {
  if (absl::Status s = ValidateSiteName(site); !s.ok()) return Fail(Sv(s.message()));
  MasterClient master(global.master, global.credentials);
  if (absl::Status s = master.AddSite(site); !s.ok()) return Fail(Sv(s.message()));
  std::cout << "added site " << site
            << ": its reports may now come through the site it follows; until it has caught up, "
               "vms live waits for it\n";
  return 0;
}

int RunSitesServe(const GlobalOptions& global, const std::string& site,
                  const std::vector<std::string>& networks) {
  if (absl::Status s = ValidateSiteName(site); !s.ok()) return Fail(Sv(s.message()));
  for (const std::string& n : networks) {
    if (auto c = ParseCidr(n); !c.ok()) return Fail(Sv(c.status().message()));
  }
  MasterClient master(global.master, global.credentials);
  if (absl::Status s = master.ServeSite(site, networks); !s.ok()) return Fail(Sv(s.message()));
  if (networks.empty()) {
    std::cout << "site " << site << " serves no network now: hosts that --discover go elsewhere\n";
  } else {
    std::cout << "site " << site << " serves " << Join(networks, ", ")
              << ": hosts there that --discover go to it from their next site map\n";
  }
  return 0;
}

int RunStatus(const GlobalOptions& global, const std::string& app, const std::string& version,
              bool json) {
  if (absl::Status s = ValidateAppName(app); !s.ok()) return Fail(Sv(s.message()));
  MasterClient master(global.master, global.credentials);
  auto versions = master.ListVersions(app);
  if (!versions.ok()) return Fail(Sv(versions.status().message()));
  std::vector<std::string> names;
  for (const Envelope& env : versions->releases()) {
    auto r = ParseRelease(env);
    if (r.ok() && (version.empty() || r->version() == version)) names.push_back(r->version());
  }
  if (names.empty()) return Fail(StrCat(app, " has no version ", version));
  // Retired versions are held nowhere any more: said so, not "not started".
  const AppState state = master.App(app).value_or(AppState());
  auto sites = master.ListSites(app, version);
  if (!sites.ok()) return Fail(Sv(sites.status().message()));

  auto find = [&](const SiteState& s, const std::string& v) -> const VersionState* {
    for (const VersionState& vs : s.versions()) {
      if (vs.app() == app && vs.version() == v) return &vs;
    }
    return nullptr;
  };
  auto live_of = [&](const SiteState& s) -> const LiveApplied* {
    for (const LiveApplied& l : s.live()) {
      if (l.app() == app) return &l;
    }
    return nullptr;
  };
  if (json) {
    nlohmann::json out = nlohmann::json::array();
    for (const SiteState& s : sites->sites()) {
      nlohmann::json vs = nlohmann::json::object();
      for (const std::string& v : names) {
        const VersionState* st = find(s, v);
        vs[v] = {{"state", IsRetired(state, v) ? "retired"
                           : st                ? VersionStateName(st->state())
                                               : "not started"},
                 {"bytes_done", st ? st->bytes_done() : 0},
                 {"bytes_total", st ? st->bytes_total() : 0},
                 {"error", st ? st->error() : ""}};
      }
      const LiveApplied* l = live_of(s);
      out.push_back({{"site", s.name()},
                     {"versions", vs},
                     {"live", l ? l->version() : ""},
                     {"live_seq", l ? l->live_seq() : 0}});
    }
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  if (sites->sites().empty()) {
    std::cout << "no sites yet\n";
    return 0;
  }
  Table table({"SITE", "VERSION", "STATE", "LIVE HERE"});
  for (const SiteState& s : sites->sites()) {
    const LiveApplied* l = live_of(s);
    std::string live = l ? StrCat(l->version(), " (seq ", l->live_seq(), ")") : "-";
    for (const std::string& v : names) {
      table.Add({s.name(), v, IsRetired(state, v) ? "retired" : DescribeState(find(s, v)), live});
    }
  }
  table.Print(std::cout);
  return 0;
}

int RunSiteInfo(const GlobalOptions& global, const std::string& address, bool json) {
  MasterClient replica(address, global.credentials);
  auto info = replica.SiteInfo();
  if (!info.ok()) return Fail(Sv(info.status().message()));
  uint64_t behind = info->upstream_head_seq() > info->applied_seq()
                        ? info->upstream_head_seq() - info->applied_seq()
                        : 0;
  if (json) {
    nlohmann::json out = {
        {"site", info->site()},
        {"upstream", info->upstream()},
        {"upstreams", std::vector<std::string>(info->upstreams().begin(), info->upstreams().end())},
        {"applied_seq", info->applied_seq()},
        {"upstream_head_seq", info->upstream_head_seq()},
        {"upstream_connected", info->upstream_connected()},
        {"upstream_silent_ms", info->upstream_silent_ms()},
        {"last_error", info->last_error()},
        {"stuck", info->stuck()},
        {"checkpoint_issued",
         info->checkpoint_issued_unix_ms() ? IsoTime(info->checkpoint_issued_unix_ms()) : ""},
        {"frozen", info->frozen()}};
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  if (info->site().empty()) {
    std::cout << address << " is a master (head seq " << info->applied_seq() << ")\n";
    return 0;
  }
  std::cout << "site " << info->site() << " at " << address << ", following " << info->upstream();
  if (info->upstreams_size() > 1) {
    // Failed over: say which one it would rather follow.
    if (info->upstream() != info->upstreams(0)) {
      std::cout << " (failed over; preferred " << info->upstreams(0) << ")";
    } else {
      std::cout << " (then "
                << Join(std::vector<std::string>(info->upstreams().begin() + 1,
                                                 info->upstreams().end()),
                        ", ")
                << ")";
    }
  }
  std::cout << "\n"
            << "applied seq " << info->applied_seq() << " of " << info->upstream_head_seq()
            << " known upstream (" << behind << " behind)\n";
  if (info->stuck()) {
    // The upstream answers; this replica cannot go on.
    std::cout << "STUCK: " << info->last_error() << "\n";
  } else if (info->upstream_connected()) {
    std::cout << "upstream connected, last heard " << info->upstream_silent_ms() << " ms ago\n";
  } else {
    std::cout << "upstream UNREACHABLE for " << info->upstream_silent_ms() / 1000
              << " s: serving what it holds, which may be stale";
    if (!info->last_error().empty()) std::cout << " (" << info->last_error() << ")";
    std::cout << "\n";
  }
  // Under a root of trust: the master's signed word that its log is alive.
  if (info->frozen()) {
    std::cout << (info->checkpoint_issued_unix_ms()
                      ? StrCat("FROZEN? no fresh checkpoint since ",
                               IsoTime(info->checkpoint_issued_unix_ms()),
                               ": the master, or the way to it, may be frozen (still serving "
                               "what is held)")
                      : std::string("no checkpoint from the master yet"))
              << "\n";
  } else if (info->checkpoint_issued_unix_ms()) {
    std::cout << "checkpoint fresh: issued " << IsoTime(info->checkpoint_issued_unix_ms())
              << ", expires " << IsoTime(info->checkpoint_expires_unix_ms()) << "\n";
  }
  return 0;
}

}  // namespace vms
