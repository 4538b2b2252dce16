#include "server/status_page.h"

#include <map>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/status_macros.h"
#include "net/version_state.h"
#include "nlohmann/json.hpp"
#include "records.pb.h"

namespace vms {

using nlohmann::json;

namespace {

json VersionJson(const VersionState& v) {
  json out = {{"state", VersionStateName(v.state())}};
  if (v.state() == VersionState::FETCHING) {
    out["bytes_done"] = v.bytes_done();
    out["bytes_total"] = v.bytes_total();
  }
  if (!v.error().empty()) out["error"] = v.error();
  return out;
}

}  // namespace

StatusPage::StatusPage(Master* master, Clock* clock,
                       std::function<absl::StatusOr<std::string>()> group)
    : master_(master), clock_(clock), group_(std::move(group)) {}

std::string StatusPage::Json() {
  MutexLock lock(&mu_);
  const auto now = clock_->Now();
  if (cached_.empty() || now - built_ >= kRefresh) {
    auto built = Build();
    cached_ = built.ok() ? *std::move(built)
                         : json({{"error", std::string(built.status().message())}}).dump();
    built_ = now;
  }
  return cached_;
}

// {
//   "now_ms", "head_seq", "trust_warnings": [the root or keyring near expiry, or past],
//   "sites": [{name, address, upstream, parent, applied_seq, lag_events,
//              last_seen_ms, upstream_silent_ms, problem,
//              in_flight: [{app, version, state, bytes_done, bytes_total, error}]
//                (the first kInFlightShown), in_flight_total,
//              live: {APP: {version, live_seq}}}],
//   "apps": [{name, live_version, live_seq, live_since_ms, latest_version,
//             latest_created_ms, version_count}],
//   "pushes": [{seq, app, version, publisher, created_ms, files, bytes,
//               sites: {SITE: {state, bytes_done, bytes_total, error}}}],
//   "flips": [{seq, app, version, previous, live_seq, kind (live, rollback, retire),
//              label ("" is live), scope (the sites it flips; none: the world), issuer, issued_ms,
//              sites: {SITE: {applied, applied_ms}}}],
//   "group": a master group's node only: {leader, logHead, logOldest, commitCopies,
//             nodes: [{node, address, applied, headSeq, objects, unixMs, leader}],
//             etcd: ["ENDPOINT ok, N KiB" or "ENDPOINT: error"]} or {error}
// }
absl::StatusOr<std::string> StatusPage::Build() const {
  const RecordStore& records = master_->records();
  const uint64_t head = records.head_seq();
  json out = {{"now_ms", clock_->WallMs()}, {"head_seq", head}, {"trust_warnings", json::array()}};
  for (const std::string& w : master_->TrustWarnings()) out["trust_warnings"].push_back(w);
  if (group_) {
    auto group = group_();
    out["group"] = group.ok() ? json::parse(*group, nullptr, /*allow_exceptions=*/false)
                              : json({{"error", std::string(group.status().message())}});
  }

  VMS_ASSIGN_OR_RETURN(std::vector<AppState> apps, records.ListApps());
  if (apps.size() > kMaxApps) {
    out["apps_not_shown"] = apps.size() - kMaxApps;
    apps.resize(kMaxApps);
  }
  json& apps_out = out["apps"] = json::array();
  for (const AppState& a : apps) {
    apps_out.push_back({{"name", a.app()},
                        {"live_version", a.live_version()},
                        {"live_seq", a.live_seq()},
                        {"live_since_ms", a.live_since_unix_ms()},
                        {"latest_version", a.latest_version()},
                        {"latest_created_ms", a.latest_created_unix_ms()},
                        {"version_count", a.version_count()}});
  }

  VMS_ASSIGN_OR_RETURN(std::vector<SiteState> sites, master_->sites().List("", ""));
  json& sites_out = out["sites"] = json::array();
  for (const SiteState& s : sites) {
    json site = {{"name", s.name()},
                 {"address", s.address()},
                 {"upstream", s.upstream()},
                 {"parent", s.parent()},
                 {"applied_seq", s.applied_seq()},
                 {"lag_events", head > s.applied_seq() ? head - s.applied_seq() : 0},
                 {"last_seen_ms", s.last_seen_unix_ms()},
                 {"upstream_silent_ms", s.upstream_silent_ms()},
                 {"problem", s.problem()},
                 {"in_flight", json::array()},
                 {"in_flight_total", s.versions_size()},
                 {"live", json::object()}};
    // The first few: a site failing on a thousand versions is one row.
    for (const VersionState& v : s.versions()) {
      if (site["in_flight"].size() >= kInFlightShown) break;
      json entry = VersionJson(v);
      entry["app"] = v.app();
      entry["version"] = v.version();
      site["in_flight"].push_back(std::move(entry));
    }
    for (const AppState& a : apps) {
      if (a.live_seq() == 0) continue;
      VMS_ASSIGN_OR_RETURN(auto live, records.LiveAt(a.app(), s.name(), s.applied_seq()));
      if (live) {
        site["live"][a.app()] = {{"version", live->version()}, {"live_seq", live->live_seq()}};
      }
    }
    sites_out.push_back(std::move(site));
  }

  // The latest pushes and flips, from the end of the event log.
  const uint64_t from = head > kRecentEvents ? head - kRecentEvents : 0;
  VMS_ASSIGN_OR_RETURN(std::vector<Event> events, records.ReadEvents(from, kRecentEvents));
  json& pushes = out["pushes"] = json::array();
  json& flips = out["flips"] = json::array();
  for (auto e = events.rbegin(); e != events.rend(); ++e) {
    const bool push = e->type() == Event::RELEASE_ADDED && pushes.size() < kRecentPushes;
    const bool flip = e->type() == Event::LIVE_CHANGED && flips.size() < kRecentFlips;
    if (!push && !flip) continue;
    // Each site's state of this version, and when it applied its live record.
    auto states = master_->sites().List(e->app(), e->version());
    if (!states.ok()) continue;  // a version the registry does not know (yet)
    json per_site = json::object();
    if (push) {
      Release r;
      if (!r.ParseFromString(e->envelope().payload())) continue;
      for (const SiteState& s : *states) {
        per_site[s.name()] =
            s.versions_size() > 0 ? VersionJson(s.versions(0)) : json({{"state", "waiting"}});
      }
      pushes.push_back({{"seq", e->seq()},
                        {"app", e->app()},
                        {"version", e->version()},
                        {"publisher", r.publisher()},
                        {"created_ms", r.created_unix_ms()},
                        {"files", r.file_count()},
                        {"bytes", r.byte_count()},
                        {"sites", std::move(per_site)}});
      continue;
    }
    LiveRecord r;
    if (!r.ParseFromString(e->envelope().payload())) continue;
    for (const SiteState& s : *states) {
      json applied = {{"applied", s.applied_seq() >= e->seq()}};
      for (const LiveApplied& l : s.live()) {
        if (l.live_seq() == r.live_seq() && l.applied_unix_ms() > 0) {
          applied["applied_ms"] = l.applied_unix_ms();
        }
      }
      per_site[s.name()] = std::move(applied);
    }
    flips.push_back({{"seq", e->seq()},
                     {"app", e->app()},
                     {"version", e->version()},
                     {"previous", r.previous_version()},
                     {"live_seq", r.live_seq()},
                     {"kind", r.kind() == LiveRecord::ROLLBACK ? "rollback"
                              : r.kind() == LiveRecord::RETIRE ? "retire"
                                                               : "live"},
                     {"label", r.label()},
                     {"scope", std::vector<std::string>(r.sites().begin(), r.sites().end())},
                     {"issuer", r.issuer()},
                     {"issued_ms", r.issued_unix_ms()},
                     {"sites", std::move(per_site)}});
  }
  return out.dump();
}

}  // namespace vms
