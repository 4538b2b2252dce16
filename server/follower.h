// Keeps a replica in step with its upstream: follows the upstream's event
// log from the replica's applied seq, applies each event (fetching first),
// reconnects with backoff whenever the stream breaks, and reports the site's
// state upstream (at once after a version completes or a flip applies, every
// report interval otherwise). The first report, any after one that was not
// delivered, and any the master asks for carry the full set of versions in
// flight: the master's view heals after any restart or lost report.
//
// Two threads: the follow loop and the reporter. Stop() ends both.
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
#include "core/sync.h"
#include "grpcpp/grpcpp.h"
#include "server/replica.h"
#include "server/upstream_client.h"
#include "vms.pb.h"

namespace vms {

struct FollowerOptions {
  std::string upstream;
  int fetch_streams = 4;
  uint64_t fetch_rate = 0;  // bytes per second; 0: unlimited
  std::chrono::milliseconds report_interval{500};
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

 private:
  void FollowLoop();
  void ReportLoop();
  // One Follow stream until it breaks or Stop(); false when Stop() ended it.
  bool FollowOnce();
  void SetVersion(VersionState v, bool urgent);
  void Touch();
  void SleepFor(std::chrono::milliseconds d);

  Replica* replica_;
  const FollowerOptions options_;
  std::string address_;  // set by Start(), before the threads exist
  UpstreamClient upstream_;

  std::atomic<bool> stop_{false};
  std::atomic<bool> connected_{false};
  std::atomic<bool> recheck_requested_{false};
  std::atomic<uint64_t> upstream_head_{0};
  std::atomic<int64_t> last_contact_ms_{0};  // steady clock

  mutable Mutex mu_;
  CondVar cv_{&mu_};  // wakes the reporter and interruptible sleeps
  std::shared_ptr<grpc::ClientContext> stream_ctx_ ABSL_GUARDED_BY(mu_);
  std::string last_error_ ABSL_GUARDED_BY(mu_);
  bool apply_failed_ ABSL_GUARDED_BY(mu_) = false;         // last_error_ is about an event
  using VersionKey = std::pair<std::string, std::string>;  // app, version
  // Versions fetching or failed here now, and those changed since the last
  // report (complete ones too, until reported).
  std::map<VersionKey, VersionState> in_flight_ ABSL_GUARDED_BY(mu_);
  std::map<VersionKey, VersionState> pending_versions_ ABSL_GUARDED_BY(mu_);
  std::deque<LiveApplied> pending_live_ ABSL_GUARDED_BY(mu_);
  bool urgent_ ABSL_GUARDED_BY(mu_) = false;
  bool send_full_ ABSL_GUARDED_BY(mu_) = true;

  std::thread follow_thread_;
  std::thread report_thread_;
};

}  // namespace vms

#endif  // VMS_SERVER_FOLLOWER_H_
