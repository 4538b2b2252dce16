// The background work of a vms-fuse besides serving requests, each owning
// one thread (the periodic ones on core/periodic.h), each stopped by its
// destructor:
//   MetricsEndpoint  /metrics, retried each second while a predecessor
//                    still holds the port
//   HolderLink       waits for the holder's STOP: a successor takes the mount
//   CensusReporter   the host's census to its replica, each interval
//   CacheReclaimer   drops retired versions from the cache, off the watcher
#ifndef VMS_FUSEFS_HOST_TASKS_H_
#define VMS_FUSEFS_HOST_TASKS_H_

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "core/file_util.h"
#include "core/hash.h"
#include "core/periodic.h"
#include "core/sync.h"
#include "net/http_server.h"
#include "net/metrics.h"
#include "vms.pb.h"

namespace vms {

// /metrics of this vms-fuse. A successor (--takeover, a crash restart, a
// reload) starts while its predecessor may still hold the port: it keeps
// trying in the background, a second at a time, for a minute.
class MetricsEndpoint {
 public:
  static constexpr int kAttempts = 60;
  MetricsEndpoint(const std::string& listen, const TlsFiles& tls, Metrics* metrics,
                  const std::string& address_file);
  ~MetricsEndpoint() { Stop(); }
  // Stops serving (before a reload executes the binary again).
  void Stop();
  bool serving() const;

 private:
  mutable Mutex mu_;
  std::unique_ptr<HttpServer> server_ ABSL_GUARDED_BY(mu_);
  int attempts_ = 0;  // the task's own
  std::unique_ptr<PeriodicTask> task_;
};

// Waits on the link to the holder for its STOP (a successor asks for the
// mount), until Stop(). Then `on_stop` prepares the handover while requests
// are still served, and `hand_over` gives the mount away.
class HolderLink {
 public:
  HolderLink(int link, std::function<void()> on_stop, std::function<void()> hand_over);
  ~HolderLink() { Stop(); }
  void Stop();

 private:
  int link_;
  Fd stop_read_, stop_write_;
  std::thread thread_;
};

// Sends the host's census (fusefs/census.h) every interval, until
// destroyed. A report that is not taken is not kept: the next one holds
// everything again. A failure is logged once until it changes.
class CensusReporter {
 public:
  using Scan = std::function<std::vector<VersionUsage>()>;
  using Send = std::function<absl::Status(const HostUsageReport&)>;
  // Reports come at least kMinGap apart, however often Soon() is called;
  // a cue is reported kSettle after it came, so that the scan sees the
  // programs that stay, not a reader that was gone a moment later (it would
  // count as a use until the next interval).
  static constexpr std::chrono::milliseconds kMinGap{1000};
  static constexpr std::chrono::milliseconds kSettle{1000};
  CensusReporter(Scan scan, Send send, std::string host, std::chrono::milliseconds interval);
  // Report within seconds (kSettle from the first cue not reported yet, and
  // kMinGap after the last report), not at the next interval: a new use
  // was seen.
  void Soon() {
    int64_t none = 0;
    cue_ns_.compare_exchange_strong(none,
                                    std::chrono::steady_clock::now().time_since_epoch().count());
    task_.Wake();
  }

 private:
  std::string last_error_;                             // the task's own
  std::chrono::steady_clock::time_point last_sent_{};  // the task's own
  std::atomic<int64_t> cue_ns_{0};                     // 0: no cue waiting
  PeriodicTask task_;
};

// Drops a retired version's objects from the host cache, off the watcher's
// thread (the next flip is applied at once). The kernel forgets the
// version's inodes (their pins) shortly after the entry is invalidated, so
// each is tried kTries times, kRetry apart. At most kMaxQueued wait; beyond,
// the cache's own eviction takes them in time. Idle, it does not wake.
class CacheReclaimer {
 public:
  static constexpr size_t kMaxQueued = 256;
  static constexpr int kTries = 10;
  static constexpr std::chrono::milliseconds kRetry{200};
  // `reclaim` drops what it can of a version's tree and says how many bytes.
  explicit CacheReclaimer(std::function<uint64_t(const Hash&)> reclaim);
  // false: the queue is full (the version stays until evicted).
  bool Add(const std::string& app, const std::string& version, const Hash& root);

 private:
  PeriodicTask::Next Run();
  struct Retired {
    std::string app, version;
    Hash root;
    int tries = 0;
    uint64_t bytes = 0;
  };
  std::function<uint64_t(const Hash&)> reclaim_;
  Mutex mu_;
  std::deque<Retired> queue_ ABSL_GUARDED_BY(mu_);
  PeriodicTask task_;  // last: starts once the rest is made
};

}  // namespace vms

#endif  // VMS_FUSEFS_HOST_TASKS_H_
