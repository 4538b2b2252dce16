#include "server/group_service.h"

#include "core/sync.h"
#include "server/rpc_util.h"

namespace vms {

absl::Status GroupService::MayCall(const std::string& caller, std::string_view rpc) const {
  for (const RpcAction& r : kGroupActions) {
    if (r.rpc == rpc) return authz_->Check(caller, r.action);
  }
  return absl::PermissionDeniedError(StrCat("Group.", rpc, " has no rule in kGroupActions"));
}

namespace {

// Streams Master::CopyHardState() in chunks of about kChunkBytes, one at a
// time, each made on the pool.
class SnapshotReactor : public grpc::ServerWriteReactor<SnapshotChunk> {
 public:
  static constexpr size_t kChunkBytes = 1 << 20;

  SnapshotReactor(Master* master, ThreadPool* pool, std::string peer, const absl::Status& allowed)
      : master_(master), pool_(pool), peer_(std::move(peer)) {
    if (!allowed.ok()) {
      Finish(ToGrpc(allowed));
      return;
    }
    pool_->Submit(peer_, [this] {
      auto cursor = master_->CopyHardState();
      if (!cursor.ok()) return Finish(ToGrpc(cursor.status()));
      cursor_ = std::move(*cursor);
      Next();
    });
  }

  void OnWriteDone(bool ok) override {
    HappensAfter(&chunk_);
    if (!ok) return Finish(grpc::Status(grpc::StatusCode::CANCELLED, "the node went away"));
    if (chunk_.last()) return Finish(grpc::Status::OK);
    pool_->Submit(peer_, [this] { Next(); });
  }
  void OnDone() override { delete this; }

 private:
  void Next() {
    chunk_.Clear();
    auto rows = cursor_->Next(kChunkBytes);
    if (!rows.ok()) return Finish(ToGrpc(rows.status()));
    for (GroupRow& row : *rows) *chunk_.add_rows() = std::move(row);
    if (rows->empty()) {
      chunk_.set_last(true);
      chunk_.set_index(cursor_->index());
    }
    HappensBefore(&chunk_);  // OnWriteDone() comes through gRPC (core/sync.h)
    StartWrite(&chunk_);
  }

  Master* master_;
  ThreadPool* pool_;
  const std::string peer_;  // the pool's fairness key
  std::unique_ptr<Master::HardStateCursor> cursor_;
  SnapshotChunk chunk_;
};

}  // namespace

grpc::ServerWriteReactor<SnapshotChunk>* GroupService::Snapshot(grpc::CallbackServerContext* ctx,
                                                                const SnapshotRequest*) {
  return new SnapshotReactor(group_->master(), pool_, FairnessKey(ctx),
                             MayCall(CallerOf(ctx), "Snapshot"));
}

grpc::ServerUnaryReactor* GroupService::Hold(grpc::CallbackServerContext* ctx,
                                             const HoldRequest* req, HoldResponse*) {
  return RunUnary(ctx, pool_, [this, req, caller = CallerOf(ctx)]() -> absl::Status {
    VMS_RETURN_IF_ERROR(MayCall(caller, "Hold"));
    VMS_ASSIGN_OR_RETURN(Hash root, Hash::FromBytes(req->root()));
    if (req->from().empty() || req->from().size() > 256) {
      return absl::InvalidArgumentError("a hold names the node to fetch from (1-256 bytes)");
    }
    return group_->Hold(root, req->from());
  });
}

grpc::ServerUnaryReactor* GroupService::Nodes(grpc::CallbackServerContext* ctx,
                                              const GroupNodesRequest*, GroupNodesResponse* resp) {
  return RunUnary(ctx, pool_, [this, resp, caller = CallerOf(ctx)]() -> absl::Status {
    VMS_RETURN_IF_ERROR(MayCall(caller, "Nodes"));
    VMS_ASSIGN_OR_RETURN(*resp, group_->Nodes());
    return absl::OkStatus();
  });
}

}  // namespace vms
