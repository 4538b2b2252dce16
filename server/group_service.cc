#include "server/group_service.h"

#include "core/principal.h"
#include "server/rpc_util.h"

namespace vms {

grpc::ServerUnaryReactor* GroupService::Hold(grpc::CallbackServerContext* ctx,
                                             const HoldRequest* req, HoldResponse*) {
  const std::string caller = CallerOf(ctx);
  return RunUnary(ctx, pool_, [this, req, caller]() -> absl::Status {
    auto principal = ParsePrincipal(caller);
    if (!insecure_ && (!principal.ok() || principal->kind != PrincipalKind::kMaster)) {
      return absl::PermissionDeniedError(
          StrCat(caller,
                 " may not ask a master node to hold a release: only the nodes of the "
                 "master group may (master certificates)"));
    }
    VMS_ASSIGN_OR_RETURN(Hash root, Hash::FromBytes(req->root()));
    if (req->from().empty() || req->from().size() > 256) {
      return absl::InvalidArgumentError("a hold names the node to fetch from (1-256 bytes)");
    }
    return group_->Hold(root, req->from());
  });
}

grpc::ServerUnaryReactor* GroupService::Nodes(grpc::CallbackServerContext* ctx,
                                              const GroupNodesRequest*, GroupNodesResponse* resp) {
  return RunUnary(ctx, pool_, [this, resp]() -> absl::Status {
    VMS_ASSIGN_OR_RETURN(*resp, group_->Nodes());
    return absl::OkStatus();
  });
}

}  // namespace vms
