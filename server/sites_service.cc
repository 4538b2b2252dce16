#include "server/sites_service.h"

#include "server/rpc_util.h"

namespace vms {

grpc::ServerUnaryReactor* SitesService::Report(grpc::CallbackServerContext* ctx,
                                               const SiteReport* req, ReportAck* resp) {
  return RunUnary(ctx, pool_, [this, req] { return handler_(*req); });
}

}  // namespace vms
