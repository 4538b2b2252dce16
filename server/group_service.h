// gRPC adapter of a master group's node (service Group in group.proto):
// what the nodes ask each other (Hold) and what `vms masters` shows (Nodes).
#ifndef VMS_SERVER_GROUP_SERVICE_H_
#define VMS_SERVER_GROUP_SERVICE_H_

#include "core/thread_pool.h"
#include "group.grpc.pb.h"
#include "server/master_group.h"

namespace vms {

class GroupService final : public Group::CallbackService {
 public:
  // `group` and `pool` must outlive the service. `insecure`: no identities,
  // so every caller may Hold (tests, a loopback group).
  GroupService(MasterGroup* group, ThreadPool* pool, bool insecure)
      : group_(group), pool_(pool), insecure_(insecure) {}

  // Only another node of the group (a master certificate) may ask.
  grpc::ServerUnaryReactor* Hold(grpc::CallbackServerContext* ctx, const HoldRequest* req,
                                 HoldResponse* resp) override;
  // Only another node of the group: a copy of this node's hard state.
  grpc::ServerWriteReactor<SnapshotChunk>* Snapshot(grpc::CallbackServerContext* ctx,
                                                    const SnapshotRequest* req) override;
  grpc::ServerUnaryReactor* Nodes(grpc::CallbackServerContext* ctx, const GroupNodesRequest* req,
                                  GroupNodesResponse* resp) override;

 private:
  // PermissionDenied unless `caller` is a node of the group.
  absl::Status MayAsk(const std::string& caller, std::string_view what) const;

  MasterGroup* group_;
  ThreadPool* pool_;
  const bool insecure_;
};

}  // namespace vms

#endif  // VMS_SERVER_GROUP_SERVICE_H_
