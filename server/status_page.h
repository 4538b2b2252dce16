// The master's status page (--http-listen): one HTML page, no build step,
// that polls /api/status (JSON, also for scripts) every second and shows
// every site (upstream, applied seq, lag, last report, live version per
// app) as a table and as the tree of who follows whom, every app (live
// version, since, latest version), the replication of the latest pushes
// across sites, and the latest flips with how long each site took.
//
// Read-only: it reads the Master's records and site registry, nothing else.
// Bounded: the JSON is rebuilt at most once per kRefresh whoever asks, and
// covers at most kMaxApps apps, the last kRecentEvents events. Thread-safe.
#ifndef VMS_SERVER_STATUS_PAGE_H_
#define VMS_SERVER_STATUS_PAGE_H_

#include <chrono>
#include <functional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "core/clock.h"
#include "core/sync.h"
#include "server/master.h"

namespace vms {

class StatusPage {
 public:
  static constexpr std::chrono::seconds kRefresh{1};
  static constexpr size_t kMaxApps = 500;
  static constexpr uint64_t kRecentEvents = 1000;
  static constexpr size_t kRecentFlips = 10;
  static constexpr size_t kRecentPushes = 5;
  // Versions in flight shown per site (with how many there are).
  static constexpr size_t kInFlightShown = 16;

  // `master` and `clock` must outlive the page. `group`, for a node of a
  // master group: the group as a JSON object (its nodes, leader, log, etcd).
  explicit StatusPage(Master* master, Clock* clock = Clock::Real(),
                      std::function<absl::StatusOr<std::string>()> group = nullptr);

  // The page itself (static HTML with its CSS and script).
  static const char* Html();
  // What /api/status answers: a JSON object (see status_page.cc for its
  // fields), at most kRefresh old.
  std::string Json();
  // Builds it now.
  absl::StatusOr<std::string> Build() const;

 private:
  Master* master_;
  Clock* const clock_;
  const std::function<absl::StatusOr<std::string>()> group_;
  Mutex mu_;
  std::string cached_ ABSL_GUARDED_BY(mu_);
  std::chrono::steady_clock::time_point built_ ABSL_GUARDED_BY(mu_);
};

}  // namespace vms

#endif  // VMS_SERVER_STATUS_PAGE_H_
