// gRPC adapter for the read API (service Read in vms.proto), served by the
// master and by replicas over any ReadApi.
//
// Follow streams are idle most of the time, so they hold no thread: each is a
// reactor woken when the ReadApi reports a new event, or by a ticker thread
// that makes each send a heartbeat when it has been quiet for one interval.
#ifndef VMS_SERVER_READ_SERVICE_H_
#define VMS_SERVER_READ_SERVICE_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "core/thread_pool.h"
#include "server/read_api.h"
#include "vms.grpc.pb.h"

namespace vms {

class FollowReactor;

class ReadService final : public Read::CallbackService {
 public:
  // `api` and `pool` must outlive the service. The service must be destroyed
  // only after the gRPC server using it has shut down.
  ReadService(ReadApi* api, ThreadPool* pool, std::chrono::milliseconds heartbeat);
  ~ReadService() override;

  // Ends every Follow stream (UNAVAILABLE, "shutting down") so that a
  // following grpc::Server::Shutdown() need not wait for its deadline.
  void BeginShutdown();

  grpc::ServerUnaryReactor* ListApps(grpc::CallbackServerContext* ctx,
                                     const ListAppsRequest* req,
                                     ListAppsResponse* resp) override;
  grpc::ServerUnaryReactor* ListVersions(grpc::CallbackServerContext* ctx,
                                         const ListVersionsRequest* req,
                                         ListVersionsResponse* resp) override;
  grpc::ServerUnaryReactor* LiveHistory(grpc::CallbackServerContext* ctx,
                                        const LiveHistoryRequest* req,
                                        LiveHistoryResponse* resp) override;
  grpc::ServerWriteReactor<ObjectBatch>* GetObjects(grpc::CallbackServerContext* ctx,
                                                    const GetObjectsRequest* req) override;
  grpc::ServerWriteReactor<FollowMessage>* Follow(grpc::CallbackServerContext* ctx,
                                                  const FollowRequest* req) override;

 private:
  friend class FollowReactor;
  void Remove(FollowReactor* r);
  void Tick();

  ReadApi* api_;
  ThreadPool* pool_;
  const std::chrono::milliseconds heartbeat_;
  uint64_t subscription_ = 0;
  std::atomic<bool> shutting_down_{false};

  // Lock order: mu_, then a reactor's own lock.
  std::mutex mu_;
  std::condition_variable stop_cv_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::set<FollowReactor*> followers_ ABSL_GUARDED_BY(mu_);
  std::thread ticker_;
};

}  // namespace vms

#endif  // VMS_SERVER_READ_SERVICE_H_
