// gRPC adapter for the read API (service Read in vms.proto), served by the
// master and by replicas over any ReadApi.
//
// Follow and Watch streams are idle most of the time, so they hold no thread: each is a
// reactor woken when the ReadApi reports a new event, or by a ticker thread
// that makes each send a heartbeat when it has been quiet for one interval.
#ifndef VMS_SERVER_READ_SERVICE_H_
#define VMS_SERVER_READ_SERVICE_H_

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <set>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "core/clock.h"
#include "core/counter.h"
#include "core/sync.h"
#include "core/thread_pool.h"
#include "server/read_api.h"
#include "vms.grpc.pb.h"

namespace vms {

class FollowReactor;

struct ReadServiceOptions {
  std::chrono::milliseconds heartbeat{1000};
  Clock* clock = Clock::Real();  // paces heartbeats and stamps them
  // Called when an object about to be served turns out corrupt on disk (it is
  // not sent: the caller gets DATA_LOSS). A replica removes it and fetches it
  // again; may be empty.
  std::function<void(const Hash&)> on_corrupt;
  // What SiteInfo answers; empty: only the head seq.
  std::function<SiteInfoResponse()> site_info;
  // Under a root of trust: the chain as held (what Trust answers and what a
  // Watch from 0 starts with) and the newest checkpoint (every heartbeat
  // carries it). Empty: none.
  std::function<TrustSnapshot()> trust;
  std::function<std::optional<Envelope>()> checkpoint;
  // Counted when given (net/metrics.h): objects and their stored bytes sent
  // by GetObjects.
  prometheus::Counter* objects_served = nullptr;
  prometheus::Counter* bytes_served = nullptr;
  // Where hosts find their replicas: what SiteMap answers, and its version,
  // which heartbeats carry. Empty: none here (SiteMap is UNAVAILABLE).
  std::function<std::shared_ptr<const SiteMap>()> site_map;
  std::function<uint64_t()> site_map_version;
};

class ReadService final : public Read::CallbackService {
 public:
  // Bounds per caller (principal; on an insecure server every caller is
  // kAnonymous and only the totals apply): open Follow and Watch streams,
  // and bytes of Watch snapshots not yet sent (a host that stops reading
  // holds its snapshot). Beyond them a stream is refused with
  // RESOURCE_EXHAUSTED, which a host answers by trying another replica.
  static constexpr size_t kMaxStreamsPerCaller = 32;
  static constexpr size_t kMaxSnapshotBytesPerCaller = 32u << 20;
  static constexpr size_t kMaxSnapshotBytes = 512u << 20;

  // `api` and `pool` must outlive the service. The service must be destroyed
  // only after the gRPC server using it has shut down.
  ReadService(ReadApi* api, ThreadPool* pool, ReadServiceOptions options);
  ~ReadService() override;

  // Ends every Follow stream (UNAVAILABLE, "shutting down") so that a
  // following grpc::Server::Shutdown() need not wait for its deadline.
  void BeginShutdown();

  // Open streams: Follow (replicas following this store) and Watch (hosts).
  struct Streams {
    size_t followers = 0, watchers = 0;
  };
  Streams streams();

  grpc::ServerUnaryReactor* ListApps(grpc::CallbackServerContext* ctx, const ListAppsRequest* req,
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
  grpc::ServerWriteReactor<FollowMessage>* Watch(grpc::CallbackServerContext* ctx,
                                                 const WatchRequest* req) override;
  grpc::ServerUnaryReactor* SiteInfo(grpc::CallbackServerContext* ctx, const SiteInfoRequest* req,
                                     SiteInfoResponse* resp) override;
  grpc::ServerUnaryReactor* Trust(grpc::CallbackServerContext* ctx, const TrustRequest* req,
                                  TrustResponse* resp) override;
  grpc::ServerUnaryReactor* SiteMap(grpc::CallbackServerContext* ctx, const SiteMapRequest* req,
                                    vms::SiteMap* resp) override;

 private:
  friend class FollowReactor;
  friend class GetObjectsReactor;
  grpc::ServerWriteReactor<FollowMessage>* StartFollower(grpc::CallbackServerContext* ctx,
                                                         const std::string& caller,
                                                         uint64_t from_seq, bool live_only,
                                                         std::deque<Event> snapshot);
  // OK when `caller` may open one more stream holding `snapshot_bytes`.
  absl::Status MayOpen(const std::string& caller, size_t snapshot_bytes)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // `bytes` of a snapshot of `caller`'s were sent (or dropped).
  void SnapshotSent(const std::string& caller, size_t bytes);
  void Remove(FollowReactor* r);
  void Tick();

  ReadApi* api_;
  ThreadPool* pool_;
  const ReadServiceOptions options_;
  uint64_t subscription_ = 0;
  std::atomic<bool> shutting_down_{false};

  // Lock order: mu_, then a reactor's own lock.
  Mutex mu_;
  CondVar stop_cv_{&mu_};
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::set<FollowReactor*> followers_ ABSL_GUARDED_BY(mu_);
  struct Caller {
    size_t streams = 0, snapshot_bytes = 0;
  };
  std::map<std::string, Caller> callers_ ABSL_GUARDED_BY(mu_);
  size_t snapshot_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread ticker_;
};

}  // namespace vms

#endif  // VMS_SERVER_READ_SERVICE_H_
