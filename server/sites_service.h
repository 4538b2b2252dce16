// gRPC adapter for site reports (service Sites in vms.proto). The master
// records them; a replica relays them to its own upstream. Which one happens
// is the handler given here.
#ifndef VMS_SERVER_SITES_SERVICE_H_
#define VMS_SERVER_SITES_SERVICE_H_

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "core/thread_pool.h"
#include "server/census.h"
#include "vms.grpc.pb.h"

namespace vms {

class SitesService final : public Sites::CallbackService {
 public:
  // Called with the caller's authenticated principal (net/tls.h).
  using Handler =
      std::function<absl::StatusOr<ReportAck>(const std::string& principal, SiteReport report)>;
  // `pool` must outlive the service; `handler` runs there.
  SitesService(ThreadPool* pool, Handler handler, SiteCensus* census = nullptr,
               bool insecure = false)
      : pool_(pool), handler_(std::move(handler)), census_(census), insecure_(insecure) {}

  grpc::ServerUnaryReactor* Report(grpc::CallbackServerContext* ctx, const SiteReport* req,
                                   ReportAck* resp) override;
  // A host's census report (replicas only: the master has no hosts). A host
  // reports only about itself: report.host is its principal's name.
  grpc::ServerUnaryReactor* HostUsage(grpc::CallbackServerContext* ctx, const HostUsageReport* req,
                                      HostUsageAck* resp) override;

 private:
  ThreadPool* pool_;
  Handler handler_;
  SiteCensus* census_;
  bool insecure_;
};

// At a replica, before relaying a report from `principal` upstream: only a
// site sends reports, about itself or (relaying) about a site whose path
// starts at it; adds the sender to the report's `via`. PermissionDenied
// naming the sender otherwise. Unchecked when `insecure`.
absl::Status AcceptForRelay(const std::string& principal, bool insecure, SiteReport* report);

}  // namespace vms

#endif  // VMS_SERVER_SITES_SERVICE_H_
