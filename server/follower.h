// Keeps a replica in step with its upstream: follows the upstream's event
// log from the replica's applied seq through an EventStream (which
// reconnects with backoff and cuts a silent stream), applies each event
// (fetching first), and reports the site's
// state upstream (at once after a version completes or a flip applies, every
// report interval otherwise). The first report, any after one that was not
// delivered, and any the master asks for carry the full set of versions in
// flight: the master's view heals after any restart or lost report.
//
// Threads: the stream's two (net/event_stream.h) and the reporter. Stop()
// ends them all.
#ifndef VMS_SERVER_FOLLOWER_H_
#define VMS_SERVER_FOLLOWER_H_

#include <atomic>
#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "core/clock.h"
#include "core/sync.h"
#include "net/event_stream.h"
#include "net/upstream_client.h"
#include "server/replica.h"
#include "vms.pb.h"

namespace vms {

struct FollowerOptions {
  // What to follow, in order of preference (masters or replicas). When the
  // one followed breaks or falls silent, the next is followed from the
  // applied seq; one earlier in the list is returned to once it answers and
  // holds at least what this replica has applied.
  std::vector<std::string> upstreams;
  Credentials credentials = Credentials::Insecure();
  int fetch_streams = 4;
  uint64_t fetch_rate = 0;  // bytes per second; 0: unlimited
  std::chrono::milliseconds report_interval{500};
  // No message (not even a heartbeat) for this long: the upstream is taken
  // for hung and the stream made again.
  std::chrono::milliseconds silence{5000};
  // How often a preferred upstream is asked whether it is back (while a
  // later one is followed).
  std::chrono::milliseconds probe_interval{2000};
  // The networks whose hosts this site serves (CIDRs), for the site map.
  std::vector<std::string> networks;
  // Where the newest site map fetched from upstream is kept (served to hosts
  // even when upstream is unreachable); empty: memory only.
  std::string site_map_file;
  Clock* clock = Clock::Real();
  // The site's census (SiteCensus::Sum), sent upstream when it changed or
  // every census_resend; may be empty.
  std::function<std::vector<VersionUsage>()> usage;
  std::chrono::milliseconds census_resend{30000};
};

class Follower {
 public:
  // `replica` must outlive the follower.
  Follower(Replica* replica, FollowerOptions options);
  ~Follower();

  // Starts following; `address` is where this replica serves (for reports).
  void Start(const std::string& address);
  void Stop();

  // Makes the follow loop run Replica::Recheck() now (after a Quarantine()).
  void RequestRecheck();

  // Forwards a downstream replica's report to our upstream, and its answer
  // back.
  absl::StatusOr<ReportAck> Relay(const SiteReport& report);
  SiteInfoResponse Info() const;
  // The newest site map fetched from upstream (null: none yet), and its
  // version (0: none): for ReadService.
  std::shared_ptr<const SiteMap> site_map() const;
  uint64_t site_map_version() const { return site_map_version_; }

  // For metrics: how far behind the upstream this replica is, and its
  // versions in flight.
  struct Lag {
    uint64_t events = 0;  // upstream head - applied seq
    int64_t ms = 0;       // since it last was in step (0: in step)
    size_t fetching = 0, failed = 0;
  };
  Lag lag() const;

 private:
  // The stream's handler (net/event_stream.h), on the stream's thread.
  absl::StatusOr<uint64_t> Prepare();
  void OnConnected();
  absl::Status OnMessage(const FollowMessage& msg);
  // Under a root of trust without a fresh checkpoint: what to report (and,
  // when that changes, log).
  std::string FrozenProblem();
  void OnEnded(const absl::Status& why);
  void ReportLoop();
  // The upstream followed now (or tried next).
  UpstreamClient* Current() { return clients_[stream_.current()].get(); }
  const UpstreamClient* Current() const { return clients_[stream_.current()].get(); }
  void SetVersion(VersionState v, bool urgent);
  void Touch();
  // Notes whether the replica is behind what it knows of the upstream's head.
  void NoteLag();
  int64_t NowMs() const;
  // A heartbeat announced site map `version`: fetch it, unless it is the
  // one held or a fetch failed in the last few seconds.
  void RefreshSiteMap(uint64_t version);

  Replica* replica_;
  const FollowerOptions options_;
  std::string address_;  // set by Start(), before the threads exist
  std::vector<std::unique_ptr<UpstreamClient>> clients_;  // one per options_.upstreams

  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> upstream_head_{0};
  std::atomic<int64_t> last_contact_ms_{0};  // options_.clock
  static constexpr int64_t kInStep = INT64_MIN;
  std::atomic<int64_t> behind_since_ms_{kInStep};  // options_.clock

  // Of the stream in flight; touched by the stream's thread only.
  uint64_t from_seq_ = 0;
  bool warned_behind_ = false;
  std::string last_checkpoint_error_;
  absl::Status apply_error_;
  bool recheck_failed_ = false;
  Event failed_event_;  // the event apply_error_ is about

  std::atomic<bool> was_frozen_{false};
  std::atomic<uint64_t> site_map_version_{0};
  int64_t site_map_retry_ms_ = 0;  // the stream thread's

  mutable Mutex mu_;
  CondVar cv_{&mu_};  // wakes the reporter
  std::string last_error_ ABSL_GUARDED_BY(mu_);
  // The report thread's: the census last sent, and when.
  std::string last_usage_;
  Clock::TimePoint last_usage_sent_{};
  bool apply_failed_ ABSL_GUARDED_BY(mu_) = false;         // last_error_ is about an event
  using VersionKey = std::pair<std::string, std::string>;  // app, version
  // Versions fetching or failed here now, and those changed since the last
  // report (complete ones too, until reported).
  std::map<VersionKey, VersionState> in_flight_ ABSL_GUARDED_BY(mu_);
  std::map<VersionKey, VersionState> pending_versions_ ABSL_GUARDED_BY(mu_);
  std::deque<LiveApplied> pending_live_ ABSL_GUARDED_BY(mu_);
  bool urgent_ ABSL_GUARDED_BY(mu_) = false;
  bool send_full_ ABSL_GUARDED_BY(mu_) = true;
  std::shared_ptr<const SiteMap> site_map_ ABSL_GUARDED_BY(mu_);

  EventStream stream_;
  std::thread report_thread_;
  // Collects the store's garbage after a retirement was applied (not on the
  // follow thread: a flip never waits for a mark).
  void GcLoop();
  std::thread gc_thread_;
};

}  // namespace vms

#endif  // VMS_SERVER_FOLLOWER_H_
