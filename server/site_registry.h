// The master's view of the sites: what each replica last reported about
// itself, its versions and the flips it applied.
//
// Reports are merged (a report carries only what changed) and persisted
// without fsync: a lost report is replaced by the next one within seconds,
// while the list of known sites survives restarts. Thread-safe; mu_ is never
// held across anything slower than an unsynced RocksDB put.
#ifndef VMS_SERVER_SITE_REGISTRY_H_
#define VMS_SERVER_SITE_REGISTRY_H_

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "core/db.h"
#include "records.pb.h"

namespace vms {

class SiteRegistry {
 public:
  static constexpr char kFamily[] = "sites";

  // Loads the sites stored in `db` (opened with kFamily), which must outlive
  // the registry.
  static absl::StatusOr<std::unique_ptr<SiteRegistry>> Load(Db* db,
                                                           std::function<int64_t()> now_ms);

  // Merges a report; a site reporting for the first time becomes known.
  // InvalidArgument for a bad site name.
  absl::Status Apply(const SiteReport& report);
  std::vector<SiteState> List() const;
  // Forgets a site (decommissioned). NotFound if unknown.
  absl::Status Remove(std::string_view name);
  // Known sites that do not hold app/version complete, each as
  // "name (state)" for messages. Empty: every site holds it.
  std::vector<std::string> Lacking(std::string_view app, std::string_view version) const;

 private:
  SiteRegistry(Db* db, std::function<int64_t()> now_ms) : db_(db), now_ms_(std::move(now_ms)) {}

  Db* db_;
  std::function<int64_t()> now_ms_;
  mutable std::mutex mu_;
  std::map<std::string, SiteState> sites_ ABSL_GUARDED_BY(mu_);
};

// "fetching 12.0 MiB/300 MiB", "complete", "failed: <why>", "unknown".
std::string DescribeVersionState(const VersionState& v);

}  // namespace vms

#endif  // VMS_SERVER_SITE_REGISTRY_H_
