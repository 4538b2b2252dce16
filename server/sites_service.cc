#include "server/sites_service.h"

#include "core/status_macros.h"
#include "server/rpc_util.h"

namespace vms {

grpc::ServerUnaryReactor* SitesService::Report(grpc::CallbackServerContext* ctx,
                                               const SiteReport* req, ReportAck* resp) {
  return RunUnary(ctx, pool_, [this, req, resp]() -> absl::Status {
    VMS_ASSIGN_OR_RETURN(auto ack, handler_(*req));
    *resp = std::move(ack);
    return absl::OkStatus();
  });
}

}  // namespace vms
