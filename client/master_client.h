// The vms command's connection to vms-master: one method per RPC, Status
// errors that name the master's address. Thread-safe (gRPC stubs are).
#ifndef VMS_CLIENT_MASTER_CLIENT_H_
#define VMS_CLIENT_MASTER_CLIENT_H_

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/hash.h"
#include "group.grpc.pb.h"
#include "net/tls.h"
#include "vms.grpc.pb.h"

namespace vms {

class MasterClient {
 public:
  // Over TLS the server must be the master, or a site (a replica, for
  // SiteInfo and reads). `addresses`: one, or several separated by commas
  // (the nodes of a master group): each call goes to the one that answered
  // last, and to the next when that one cannot be reached. A standby of a
  // group that names the leader ("the leader is at ADDRESS") is left for
  // the leader, once, even if it was not given.
  MasterClient(std::string addresses, const Credentials& credentials);

  // The master that answered last (the first given, before any call).
  const std::string& address() const;

  // The subset of `hashes` the master lacks. Many hashes per request.
  absl::StatusOr<std::vector<Hash>> Missing(std::span<const Hash> hashes);
  // The subset of tree `hashes` whose whole closure the master holds.
  absl::StatusOr<std::vector<Hash>> CompleteTrees(std::span<const Hash> hashes);

  // One PutObjects stream. Write() returns false once the stream broke;
  // Finish() then says why.
  class Upload {
   public:
    virtual ~Upload() = default;
    virtual bool Write(const ObjectBatch& batch) = 0;
    virtual absl::StatusOr<PutObjectsResponse> Finish() = 0;
  };
  std::unique_ptr<Upload> StartUpload();

  absl::StatusOr<CommitResponse> Commit(const CommitRequest& req);
  absl::StatusOr<FlipResponse> SetLive(const SetLiveRequest& req);
  absl::StatusOr<FlipResponse> Rollback(const RollbackRequest& req);
  absl::StatusOr<LiveHistoryResponse> LiveHistory(const std::string& app);
  absl::StatusOr<ListAppsResponse> ListApps();
  // `app`'s state (live version, retired versions...); empty if it has none.
  absl::StatusOr<AppState> App(const std::string& app);
  // Every site, with the states of app's versions (or only `version`'s)
  // filled in; without app, only the versions in flight.
  absl::StatusOr<ListSitesResponse> ListSites(const std::string& app = "",
                                              const std::string& version = "");
  // `force`: even a site that reported in the last minute.
  absl::Status RemoveSite(const std::string& site, bool force);
  absl::Status AddSite(const std::string& site);
  absl::Status ServeSite(const std::string& site, const std::vector<std::string>& networks);
  // Served by replicas: their own view (site, upstream, staleness).
  absl::StatusOr<SiteInfoResponse> SiteInfo();
  absl::StatusOr<ListVersionsResponse> ListVersions(const std::string& app);
  absl::StatusOr<OwnersResponse> Owners(const OwnersRequest& req);
  absl::StatusOr<RegisterKeyResponse> RegisterKey(const RegisterKeyRequest& req);
  absl::StatusOr<TrustResponse> Trust();
  absl::StatusOr<PendingResponse> Pending(const PendingRequest& req);
  absl::StatusOr<CosignResponse> Cosign(const CosignRequest& req);
  absl::StatusOr<RetireResponse> Retire(const RetireRequest& req);
  absl::StatusOr<GcResponse> Gc(const GcRequest& req);
  absl::StatusOr<PolicyResponse> Policy(const PolicyRequest& req);
  absl::StatusOr<AuditResponse> Audit(const AuditRequest& req);
  // A master group's nodes (vms masters); FailedPrecondition from a single
  // master.
  absl::StatusOr<GroupNodesResponse> Masters();

  // For the helpers in master_client.cc.
  struct Endpoint {
    std::string address;
    std::unique_ptr<Publish::Stub> publish;
    std::unique_ptr<Read::Stub> read;
    std::unique_ptr<Group::Stub> group;
  };

 private:
  // One unary call, from the endpoint that answered last; `what` (e.g.
  // "commit to ") is followed by the address in errors.
  template <typename Resp, typename Stub, typename Req, typename Method>
  absl::StatusOr<Resp> Call(std::unique_ptr<Stub> Endpoint::*stub, Method method, const Req& req,
                            std::chrono::milliseconds deadline, std::string_view what);
  // Asks about `hashes` in requests of kHashesPerRequest (through Call) and
  // gathers the hashes `field` of each response names.
  template <typename Req, typename Resp, typename Method, typename Field>
  absl::StatusOr<std::vector<Hash>> HashQuery(std::span<const Hash> hashes, Method method,
                                              Field field);

  // The endpoint at `at` (< count_).
  Endpoint& At(size_t at) const { return *endpoints_[at]; }
  // Adds the leader a standby named (in `message`), unless known or one
  // was added already; its index, or nullopt.
  std::optional<size_t> AddLeader(std::string_view message);

  // Those given, then one slot for a leader a standby names (filled once,
  // under add_mu_; count_ says how many are set).
  const Credentials credentials_;
  std::vector<std::unique_ptr<Endpoint>> endpoints_;
  std::atomic<size_t> count_{0};
  std::mutex add_mu_;
  std::atomic<size_t> current_{0};
};

}  // namespace vms

#endif  // VMS_CLIENT_MASTER_CLIENT_H_
