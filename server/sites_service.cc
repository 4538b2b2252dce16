#include "server/sites_service.h"

#include "server/rpc_util.h"

namespace vms {

grpc::ServerUnaryReactor* SitesService::Report(grpc::CallbackServerContext* ctx,
                                               const SiteReport* req, ReportAck* resp) {
  return RunUnary(ctx, pool_, [this, req, resp]() -> absl::Status {
    auto ack = handler_(*req);
    if (!ack.ok()) return ack.status();
    *resp = std::move(*ack);
    return absl::OkStatus();
  });
}

}  // namespace vms
