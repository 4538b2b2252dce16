// The master's view of the sites: what each replica last reported about
// itself, and what follows from it.
//
// What a site holds is derived, not reported entry by entry: a replica
// applies the event log in order and passes a release only once the version
// is complete there, so a site at applied_seq S holds every version whose
// release event is at or before S and has applied every flip up to S (see
// SiteReport). Reports add only the versions in flight (fetching, failed) and
// when each flip arrived. A replica sends its full in-flight set whenever it
// (re)connects or when the master asks (an unknown site), so the view heals
// after any restart, lost report or `sites remove`.
//
// Every report is bounded (core/limits.h) and handled in time linear in its
// size. The durable part (address, applied seq, versions in flight) is
// persisted without fsync when it changes: a lost write is replaced by the
// next report within seconds, while the list of known sites survives
// restarts. Thread-safe; mu_ is never held across anything slower than an
// unsynced RocksDB put.
#ifndef VMS_SERVER_SITE_REGISTRY_H_
#define VMS_SERVER_SITE_REGISTRY_H_

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "core/clock.h"
#include "core/db.h"
#include "core/sync.h"
#include "records.pb.h"
#include "server/record_store.h"

namespace vms {

class SiteRegistry {
 public:
  static constexpr char kFamily[] = "sites";
  // A site that reported within this long is running: `sites remove` needs
  // force for it.
  static constexpr int64_t kRecentMs = 60'000;

  // Loads the sites stored in `db` (opened with kFamily); versions and flips
  // are looked up in `records`. Both must outlive the registry.
  static absl::StatusOr<std::unique_ptr<SiteRegistry>> Load(Db* db, const RecordStore* records,
                                                            Clock* clock);

  struct Applied {
    // The site was unknown (new, forgotten, or its state lost) and the report
    // was not full: the next one is to be (ReportAck.need_full).
    bool need_full = false;
  };
  // Merges a report; a site reporting for the first time about itself
  // becomes known (at most kMaxSites: ResourceExhausted beyond).
  // InvalidArgument for a bad site name or a report beyond the limits.
  //
  // `sender`: the authenticated site that sent it to the master (nullopt on
  // an --insecure master: unchecked). A site reports about itself; a replica
  // relays for the sites below it, so the report's path (its `via`, then the
  // sender) must start at the site it is about, and the site must be known
  // already (by its own report, or added by an admin): a relay cannot
  // invent sites, each of which would block every flip. A site that reported within
  // kRecentMs through another path keeps it: a relay cannot take over a
  // running site (a site that moved is taken over once it has been quiet
  // that long, at once by its own report, or at once by a site whose address
  // it named among its upstreams in a report accepted earlier: a failover).
  // PermissionDenied, naming the sender and the site, otherwise (logged once
  // a minute per site). The upstreams a site names are taken only from its
  // own report, through one of them, or at its first report: a relay that
  // took a quiet site over cannot lock the site's own path out.
  absl::StatusOr<Applied> Apply(const SiteReport& report,
                                const std::optional<std::string>& sender = std::nullopt);
  // Every site, name order, with the states of `app`'s versions filled in
  // (only `version`'s, when given) and what is live for it at each site;
  // with `app` empty, only the versions in flight. NotFound for an unknown
  // version.
  absl::StatusOr<std::vector<SiteState>> List(std::string_view app, std::string_view version) const;
  // One page of List: the sites named after `after`, as many as fit in
  // `max_bytes` (encoded; always at least one), and whether more follow. A
  // reply of every site may pass any message limit (1,024 sites, each with
  // 1,024 versions in flight, is a gigabyte); a page never does.
  struct Page {
    std::vector<SiteState> sites;
    bool more = false;
  };
  absl::StatusOr<Page> ListPage(std::string_view app, std::string_view version,
                                std::string_view after, size_t max_bytes) const;
  // How many sites are known.
  size_t size() const;
  // Makes a site known before its first report, so that it may report
  // through a relay (an admin's `vms sites add`). AlreadyExists if known;
  // ResourceExhausted past kMaxSites.
  absl::Status Add(std::string_view name);
  // Sets the networks whose hosts `name` serves (an admin's `vms sites
  // serve`): what the site map says, and so where hosts that --discover go.
  // Adds the site if unknown. InvalidArgument for a bad name or network.
  absl::Status Serve(std::string_view name, const std::vector<std::string>& networks);
  // Forgets a site (decommissioned). NotFound if unknown; FailedPrecondition
  // if it reported within kRecentMs, unless `force`.
  absl::Status Remove(std::string_view name, bool force);
  // Where hosts find their replicas (vms-fuse --discover): every site's
  // address and networks, with a fingerprint; and that fingerprint alone,
  // cheap, for heartbeats.
  std::shared_ptr<const vms::SiteMap> SiteMap() const;
  uint64_t site_map_version() const { return map_version_; }
  // Known sites that do not hold app/version complete, each as
  // "name (state)" for messages. Empty: every site holds it.
  // `only`: just these sites.
  absl::StatusOr<std::vector<std::string>> Lacking(
      std::string_view app, std::string_view version,
      const std::vector<std::string>* only = nullptr) const;
  // The hosts the census shows using app/version now, "site/host" (and
  // "site: N more" past the names a site sends).
  std::vector<std::string> InUse(std::string_view app, std::string_view version) const;
  // How fresh the census `InUse` answers from is: of `sites` known, how
  // many have sent one (`with_census`), and the oldest of those, in ms
  // (their report's age on the master's clock).
  struct CensusFreshness {
    size_t sites = 0, with_census = 0;
    int64_t oldest_ms = 0;
  };
  CensusFreshness Freshness() const;
  // The known sites' names, in order.
  std::vector<std::string> Names() const;

 private:
  // A version in flight at a site, with its release's seq (0: unknown).
  struct InFlight {
    VersionState state;
    uint64_t seq = 0;
  };
  using VersionKey = std::pair<std::string, std::string>;  // app, version
  struct Site {
    SiteState base;  // without versions and live
    // When the last report came, on the monotonic clock: "reported in the
    // last minute" must not move with a step of the wall clock. Unknown (the
    // epoch) for a site loaded from disk until its next report.
    std::chrono::steady_clock::time_point last_report{};
    // When a refused takeover of it was last logged.
    std::chrono::steady_clock::time_point last_refusal_logged{};
    std::map<VersionKey, InFlight> in_flight;
    // When each app's latest flip was reported (memory only: for timing).
    std::unordered_map<std::string, LiveApplied> flips;
    // The site's census as last reported (memory only).
    std::vector<VersionUsage> usage;
    int64_t usage_ms = 0;
  };

  SiteRegistry(Db* db, const RecordStore* records, Clock* clock)
      : records_(records), db_(db), clock_(clock) {}
  // Forgets what the site's applied_seq covers and keeps the newest
  // kMaxReportVersions; returns whether anything went.
  static bool Prune(Site* site);
  // Adds to `s` the state at `site` of each of `app`'s versions `asked`
  // (version, release seq): COMPLETE up to its applied seq, else as in flight.
  static void AddStates(const Site& site, std::string_view app,
                        const std::vector<std::pair<std::string, uint64_t>>& asked, SiteState* s);
  absl::Status Persist(const Site& site) const;
  // ResourceExhausted when one more site would pass kMaxSites.
  absl::Status RoomForOneMore() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RebuildMap() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // `parent` is a known site whose address `site` declared an upstream.
  bool IsDeclaredUpstream(const SiteState& site, const std::string& parent) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const RecordStore* records_;
  Db* db_;
  Clock* const clock_;
  mutable Mutex mu_;
  std::map<std::string, Site> sites_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<const vms::SiteMap> map_ ABSL_GUARDED_BY(mu_);
  std::atomic<uint64_t> map_version_{0};
};

// "fetching 12.0 MiB/300 MiB", "complete", "failed: <why>", "unknown".
// "the census of 3 of 4 sites, the oldest 12 s old", for messages.
std::string DescribeFreshness(const SiteRegistry::CensusFreshness& f);

std::string DescribeVersionState(const VersionState& v);

}  // namespace vms

#endif  // VMS_SERVER_SITE_REGISTRY_H_
