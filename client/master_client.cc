#include "client/master_client.h"

#include <chrono>

#include "core/strings.h"
#include "proto/wire.h"

namespace vms {

namespace {

constexpr size_t kHashesPerRequest = 32768;  // 1 MiB of hashes

// Unary calls that do real work (Commit walks a whole tree) get minutes;
// reaching the master at all is what fails fast.
void SetDeadline(grpc::ClientContext* ctx, std::chrono::seconds s) {
  ctx->set_deadline(DeadlineAfter(s));
}

class GrpcUpload : public MasterClient::Upload {
 public:
  GrpcUpload(Publish::Stub* stub, const std::string& address) : address_(address) {
    writer_ = stub->PutObjects(&ctx_, &resp_);
  }
  bool Write(const ObjectBatch& batch) override { return writer_->Write(batch); }
  absl::StatusOr<PutObjectsResponse> Finish() override {
    writer_->WritesDone();
    if (absl::Status s = FromGrpc(writer_->Finish(), StrCat("upload to ", address_)); !s.ok()) {
      return s;
    }
    return resp_;
  }

 private:
  std::string address_;
  grpc::ClientContext ctx_;
  PutObjectsResponse resp_;
  std::unique_ptr<grpc::ClientWriter<ObjectBatch>> writer_;
};

}  // namespace

MasterClient::MasterClient(std::string address) : address_(std::move(address)) {
  auto channel = MakeChannel(address_);
  publish_ = Publish::NewStub(channel);
  read_ = Read::NewStub(channel);
}

namespace {

// Sends `hashes` in requests of kHashesPerRequest through `call` and gathers
// the hashes the responses name.
template <typename Req, typename Resp, typename Call, typename Field>
absl::StatusOr<std::vector<Hash>> HashQuery(std::span<const Hash> hashes, std::string_view what,
                                            Call call, Field field) {
  std::vector<Hash> out;
  for (size_t start = 0; start < hashes.size(); start += kHashesPerRequest) {
    Req req;
    size_t end = std::min(hashes.size(), start + kHashesPerRequest);
    for (size_t i = start; i < end; ++i) req.add_hashes(std::string(hashes[i].View()));
    Resp resp;
    grpc::ClientContext ctx;
    SetDeadline(&ctx, std::chrono::seconds(60));
    if (absl::Status s = FromGrpc(call(&ctx, req, &resp), what); !s.ok()) return s;
    for (const std::string& raw : field(resp)) {
      auto h = Hash::FromBytes(raw);
      if (!h.ok())
        return absl::InternalError(StrCat("master sent a bad hash: ", h.status().message()));
      out.push_back(*h);
    }
  }
  return out;
}

}  // namespace

absl::StatusOr<std::vector<Hash>> MasterClient::Missing(std::span<const Hash> hashes) {
  return HashQuery<MissingObjectsRequest, MissingObjectsResponse>(
      hashes, StrCat("query ", address_),
      [this](auto* ctx, const auto& req, auto* resp) {
        return publish_->MissingObjects(ctx, req, resp);
      },
      [](const MissingObjectsResponse& r) -> const auto& { return r.missing(); });
}

absl::StatusOr<std::vector<Hash>> MasterClient::CompleteTrees(std::span<const Hash> hashes) {
  return HashQuery<CompleteTreesRequest, CompleteTreesResponse>(
      hashes, StrCat("query ", address_),
      [this](auto* ctx, const auto& req, auto* resp) {
        return publish_->CompleteTrees(ctx, req, resp);
      },
      [](const CompleteTreesResponse& r) -> const auto& { return r.complete(); });
}

std::unique_ptr<MasterClient::Upload> MasterClient::StartUpload() {
  return std::make_unique<GrpcUpload>(publish_.get(), address_);
}

absl::StatusOr<CommitResponse> MasterClient::Commit(const CommitRequest& req) {
  CommitResponse resp;
  grpc::ClientContext ctx;
  SetDeadline(&ctx, std::chrono::seconds(600));
  absl::Status s = FromGrpc(publish_->Commit(&ctx, req, &resp), StrCat("commit to ", address_));
  if (!s.ok()) return s;
  return resp;
}

absl::StatusOr<FlipResponse> MasterClient::SetLive(const SetLiveRequest& req) {
  FlipResponse resp;
  grpc::ClientContext ctx;
  SetDeadline(&ctx, std::chrono::seconds(60));
  absl::Status s = FromGrpc(publish_->SetLive(&ctx, req, &resp), StrCat("live on ", address_));
  if (!s.ok()) return s;
  return resp;
}

absl::StatusOr<FlipResponse> MasterClient::Rollback(const RollbackRequest& req) {
  FlipResponse resp;
  grpc::ClientContext ctx;
  SetDeadline(&ctx, std::chrono::seconds(60));
  absl::Status s = FromGrpc(publish_->Rollback(&ctx, req, &resp), StrCat("rollback on ", address_));
  if (!s.ok()) return s;
  return resp;
}

absl::StatusOr<LiveHistoryResponse> MasterClient::LiveHistory(const std::string& app) {
  LiveHistoryRequest req;
  req.set_app(app);
  LiveHistoryResponse resp;
  grpc::ClientContext ctx;
  SetDeadline(&ctx, std::chrono::seconds(60));
  absl::Status s =
      FromGrpc(read_->LiveHistory(&ctx, req, &resp), StrCat("read history on ", address_));
  if (!s.ok()) return s;
  return resp;
}

absl::StatusOr<ListSitesResponse> MasterClient::ListSites(const std::string& app,
                                                          const std::string& version) {
  ListSitesRequest req;
  req.set_app(app);
  req.set_version(version);
  ListSitesResponse resp;
  grpc::ClientContext ctx;
  SetDeadline(&ctx, std::chrono::seconds(30));
  absl::Status s =
      FromGrpc(publish_->ListSites(&ctx, req, &resp), StrCat("list sites on ", address_));
  if (!s.ok()) return s;
  return resp;
}

absl::Status MasterClient::RemoveSite(const std::string& site, bool force) {
  RemoveSiteRequest req;
  req.set_site(site);
  req.set_force(force);
  RemoveSiteResponse resp;
  grpc::ClientContext ctx;
  SetDeadline(&ctx, std::chrono::seconds(30));
  return FromGrpc(publish_->RemoveSite(&ctx, req, &resp), StrCat("remove site on ", address_));
}

absl::StatusOr<SiteInfoResponse> MasterClient::SiteInfo() {
  SiteInfoResponse resp;
  grpc::ClientContext ctx;
  SetDeadline(&ctx, std::chrono::seconds(30));
  absl::Status s =
      FromGrpc(read_->SiteInfo(&ctx, SiteInfoRequest(), &resp), StrCat("ask ", address_));
  if (!s.ok()) return s;
  return resp;
}

absl::StatusOr<ListAppsResponse> MasterClient::ListApps() {
  ListAppsResponse resp;
  grpc::ClientContext ctx;
  SetDeadline(&ctx, std::chrono::seconds(60));
  absl::Status s =
      FromGrpc(read_->ListApps(&ctx, ListAppsRequest(), &resp), StrCat("list apps on ", address_));
  if (!s.ok()) return s;
  return resp;
}

absl::StatusOr<ListVersionsResponse> MasterClient::ListVersions(const std::string& app) {
  ListVersionsRequest req;
  req.set_app(app);
  ListVersionsResponse resp;
  grpc::ClientContext ctx;
  SetDeadline(&ctx, std::chrono::seconds(60));
  absl::Status s =
      FromGrpc(read_->ListVersions(&ctx, req, &resp), StrCat("list versions on ", address_));
  if (!s.ok()) return s;
  return resp;
}

}  // namespace vms
