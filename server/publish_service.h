// gRPC adapter for the master's write API (service Publish in vms.proto).
// Only translation lives here; the logic is in Master.
#ifndef VMS_SERVER_PUBLISH_SERVICE_H_
#define VMS_SERVER_PUBLISH_SERVICE_H_

#include <functional>

#include "core/thread_pool.h"
#include "server/master.h"
#include "server/rpc_util.h"
#include "server/upload_budget.h"
#include "vms.grpc.pb.h"

namespace vms {

class PublishService final : public Publish::CallbackService {
 public:
  // `master`, `pool` and `budget` must outlive the service; blocking work
  // runs on `pool`, uploads within `budget`. `writable`, when set, is asked
  // before every call (a master group's standby refuses them, naming the
  // leader: MasterGroup::Writable).
  PublishService(Master* master, ThreadPool* pool, UploadBudget* budget,
                 std::function<absl::Status()> writable = nullptr)
      : master_(master), pool_(pool), budget_(budget), writable_(std::move(writable)) {}

  grpc::ServerUnaryReactor* CompleteTrees(grpc::CallbackServerContext* ctx,
                                          const CompleteTreesRequest* req,
                                          CompleteTreesResponse* resp) override;
  grpc::ServerUnaryReactor* MissingObjects(grpc::CallbackServerContext* ctx,
                                           const MissingObjectsRequest* req,
                                           MissingObjectsResponse* resp) override;
  grpc::ServerReadReactor<ObjectBatch>* PutObjects(grpc::CallbackServerContext* ctx,
                                                   PutObjectsResponse* resp) override;
  grpc::ServerUnaryReactor* Commit(grpc::CallbackServerContext* ctx, const CommitRequest* req,
                                   CommitResponse* resp) override;
  grpc::ServerUnaryReactor* SetLive(grpc::CallbackServerContext* ctx, const SetLiveRequest* req,
                                    FlipResponse* resp) override;
  grpc::ServerUnaryReactor* Rollback(grpc::CallbackServerContext* ctx, const RollbackRequest* req,
                                     FlipResponse* resp) override;
  grpc::ServerUnaryReactor* ListSites(grpc::CallbackServerContext* ctx, const ListSitesRequest* req,
                                      ListSitesResponse* resp) override;
  grpc::ServerUnaryReactor* RemoveSite(grpc::CallbackServerContext* ctx,
                                       const RemoveSiteRequest* req,
                                       RemoveSiteResponse* resp) override;
  grpc::ServerUnaryReactor* AddSite(grpc::CallbackServerContext* ctx, const AddSiteRequest* req,
                                    AddSiteResponse* resp) override;
  grpc::ServerUnaryReactor* Owners(grpc::CallbackServerContext* ctx, const OwnersRequest* req,
                                   OwnersResponse* resp) override;
  grpc::ServerUnaryReactor* Pending(grpc::CallbackServerContext* ctx, const PendingRequest* req,
                                    PendingResponse* resp) override;
  grpc::ServerUnaryReactor* Cosign(grpc::CallbackServerContext* ctx, const CosignRequest* req,
                                   CosignResponse* resp) override;
  grpc::ServerUnaryReactor* Retire(grpc::CallbackServerContext* ctx, const RetireRequest* req,
                                   RetireResponse* resp) override;
  grpc::ServerUnaryReactor* Gc(grpc::CallbackServerContext* ctx, const GcRequest* req,
                               GcResponse* resp) override;
  grpc::ServerUnaryReactor* Policy(grpc::CallbackServerContext* ctx, const PolicyRequest* req,
                                   PolicyResponse* resp) override;
  grpc::ServerUnaryReactor* RegisterKey(grpc::CallbackServerContext* ctx,
                                        const RegisterKeyRequest* req,
                                        RegisterKeyResponse* resp) override;
  grpc::ServerUnaryReactor* Audit(grpc::CallbackServerContext* ctx, const AuditRequest* req,
                                  AuditResponse* resp) override;

 private:
  // RunUnary (rpc_util.h), after writable_.
  template <typename Fn>
  grpc::ServerUnaryReactor* Run(grpc::CallbackServerContext* ctx, Fn fn) {
    return RunUnary(ctx, pool_, [this, fn = std::move(fn)]() mutable -> absl::Status {
      if (writable_) VMS_RETURN_IF_ERROR(writable_());
      return fn();
    });
  }

  Master* master_;
  ThreadPool* pool_;
  UploadBudget* budget_;
  std::function<absl::Status()> writable_;
};

}  // namespace vms

#endif  // VMS_SERVER_PUBLISH_SERVICE_H_
