// A site's usage census (../shared/DESIGN.md, "Lifecycle"): the newest
// report of each of its hosts, summed per version for the site's report
// upstream. Memory only: after a restart every host reports again within
// its interval. Bounded: kMaxCensusHosts hosts (the longest silent goes),
// kMaxUsageVersions versions per host and in the sum. Thread-safe.
#ifndef VMS_SERVER_CENSUS_H_
#define VMS_SERVER_CENSUS_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "core/clock.h"
#include "core/sync.h"
#include "records.pb.h"

namespace vms {

class SiteCensus {
 public:
  static constexpr int64_t kDayMs = 86'400'000;
  static constexpr int64_t kWeekMs = 7 * kDayMs;
  // Hosts using a version now, named in the sum.
  static constexpr size_t kMaxNamedHosts = 16;

  explicit SiteCensus(Clock* clock) : clock_(clock) {}

  // A host's report, replacing its last. InvalidArgument beyond the limits
  // or for a bad name.
  absl::Status Add(const HostUsageReport& report);
  // Per version: hosts using it now (reported within 3 of their intervals),
  // in the last day and week, the newest use, processes and open files now.
  // Versions nobody used for a week are left out; hosts silent for a week
  // are forgotten.
  std::vector<VersionUsage> Sum();
  size_t hosts() const;

 private:
  struct Host {
    HostUsageReport report;
    int64_t received_ms = 0;
  };
  Clock* const clock_;
  mutable Mutex mu_;
  std::map<std::string, Host> hosts_ ABSL_GUARDED_BY(mu_);
};

}  // namespace vms

#endif  // VMS_SERVER_CENSUS_H_
