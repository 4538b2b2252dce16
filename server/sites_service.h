// gRPC adapter for site reports (service Sites in vms.proto). The master
// records them; a replica relays them to its own upstream. Which one happens
// is the handler given here.
#ifndef VMS_SERVER_SITES_SERVICE_H_
#define VMS_SERVER_SITES_SERVICE_H_

#include <functional>

#include "absl/status/statusor.h"
#include "core/thread_pool.h"
#include "vms.grpc.pb.h"

namespace vms {

class SitesService final : public Sites::CallbackService {
 public:
  using Handler = std::function<absl::StatusOr<ReportAck>(const SiteReport&)>;
  // `pool` must outlive the service; `handler` runs there.
  SitesService(ThreadPool* pool, Handler handler) : pool_(pool), handler_(std::move(handler)) {}

  grpc::ServerUnaryReactor* Report(grpc::CallbackServerContext* ctx, const SiteReport* req,
                                   ReportAck* resp) override;

 private:
  ThreadPool* pool_;
  Handler handler_;
};

}  // namespace vms

#endif  // VMS_SERVER_SITES_SERVICE_H_
