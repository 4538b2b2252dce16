// What a host uses of /dist, for the usage census (../shared/DESIGN.md,
// "Lifecycle"). Nothing is counted on the FUSE path itself (opens never
// reach vms-fuse: the kernel opens without asking, see fuse_ops.cc): once
// per report, /proc is read as lsof would, every process's executable,
// working directory, open files and mapped files, and each path under the
// mount names its version (/dist/APP@VERSION/..., what /dist/APP resolves
// to). A lookup of a version's directory counts as a use too (Touched: a
// map insert on an uncached lookup, nothing on the kernel's cached path).
// Thread-safe.
#ifndef VMS_FUSEFS_CENSUS_H_
#define VMS_FUSEFS_CENSUS_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "core/clock.h"
#include "core/sync.h"
#include "records.pb.h"

namespace vms {

class HostCensus {
 public:
  // `mountpoint`: where /dist is mounted; `proc`: /proc, or a test's tree.
  HostCensus(std::string mountpoint, Clock* clock, std::string proc = "/proc");

  // A use older than this is not what the master saw last.
  static constexpr int64_t kReportAgainAfterMs = 60'000;

  void Touched(const std::string& app, const std::string& version);
  // Called (outside the lock, on the lookup's thread: must be quick) when a
  // version is touched that was not, or not lately: the census reporter's
  // cue to report now.
  void SetOnNewUse(std::function<void()> fn);
  // Per version: processes and open files in it now (from /proc), and the
  // last use (now, if in use; else the last seen or touched). Versions
  // unused for a week are dropped; at most kMaxUsageVersions, newest use
  // first.
  std::vector<VersionUsage> Scan();

  // The APP@VERSION a path under `mountpoint` lies in ("" , "" if none).
  static std::pair<std::string, std::string> VersionOf(const std::string& mountpoint,
                                                       const std::string& path);

 private:
  const std::string mountpoint_;
  Clock* const clock_;
  const std::string proc_;
  Mutex mu_;
  std::map<std::pair<std::string, std::string>, int64_t> last_use_ ABSL_GUARDED_BY(mu_);
  std::function<void()> on_new_use_ ABSL_GUARDED_BY(mu_);
};

}  // namespace vms

#endif  // VMS_FUSEFS_CENSUS_H_
