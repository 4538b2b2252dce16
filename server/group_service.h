// gRPC adapter of a master group's node (service Group in group.proto):
// what the nodes ask each other (Hold) and what `vms masters` shows (Nodes).
#ifndef VMS_SERVER_GROUP_SERVICE_H_
#define VMS_SERVER_GROUP_SERVICE_H_

#include "core/thread_pool.h"
#include "group.grpc.pb.h"
#include "server/authz.h"
#include "server/master_group.h"

namespace vms {

class GroupService final : public Group::CallbackService {
 public:
  // `group`, `pool` and `authz` must outlive the service; each RPC is
  // checked as kGroupActions (server/authz.h) says.
  GroupService(MasterGroup* group, ThreadPool* pool, const Authorizer* authz)
      : group_(group), pool_(pool), authz_(authz) {}

  // Only another node of the group (a master certificate) may ask.
  grpc::ServerUnaryReactor* Hold(grpc::CallbackServerContext* ctx, const HoldRequest* req,
                                 HoldResponse* resp) override;
  // Only another node of the group: a copy of this node's hard state.
  grpc::ServerWriteReactor<SnapshotChunk>* Snapshot(grpc::CallbackServerContext* ctx,
                                                    const SnapshotRequest* req) override;
  grpc::ServerUnaryReactor* Nodes(grpc::CallbackServerContext* ctx, const GroupNodesRequest* req,
                                  GroupNodesResponse* resp) override;

 private:
  // Whether `caller` may call `rpc`, by kGroupActions.
  absl::Status MayCall(const std::string& caller, std::string_view rpc) const;

  MasterGroup* group_;
  ThreadPool* pool_;
  const Authorizer* authz_;
};

}  // namespace vms

#endif  // VMS_SERVER_GROUP_SERVICE_H_
