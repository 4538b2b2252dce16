#include "client/master_client.h"

#include <chrono>

#include "core/limits.h"
#include "core/status_macros.h"
#include "core/strings.h"
#include "net/channel.h"
#include "net/rpc.h"

namespace vms {

namespace {

class GrpcUpload : public MasterClient::Upload {
 public:
  GrpcUpload(Publish::Stub* stub, const std::string& address) : address_(address) {
    writer_ = stub->PutObjects(&ctx_, &resp_);
  }
  bool Write(const ObjectBatch& batch) override { return writer_->Write(batch); }
  absl::StatusOr<PutObjectsResponse> Finish() override {
    writer_->WritesDone();
    VMS_RETURN_IF_ERROR(FromGrpc(writer_->Finish(), StrCat("upload to ", address_)));
    return resp_;
  }

 private:
  std::string address_;
  grpc::ClientContext ctx_;
  PutObjectsResponse resp_;
  std::unique_ptr<grpc::ClientWriter<ObjectBatch>> writer_;
};

}  // namespace

MasterClient::MasterClient(std::string address, const Credentials& credentials)
    : address_(std::move(address)) {
  auto channel = MakeChannel(address_, credentials, {PrincipalKind::kMaster, PrincipalKind::kSite});
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
    ctx.set_deadline(DeadlineAfter(kQueryDeadline));
    VMS_RETURN_IF_ERROR(FromGrpc(call(&ctx, req, &resp), what));
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
  return Unary<CommitResponse>(publish_.get(), &Publish::Stub::Commit, req, kCommitDeadline,
                               StrCat("commit to ", address_));
}

absl::StatusOr<FlipResponse> MasterClient::SetLive(const SetLiveRequest& req) {
  return Unary<FlipResponse>(publish_.get(), &Publish::Stub::SetLive, req, kQueryDeadline,
                             StrCat("live on ", address_));
}

absl::StatusOr<FlipResponse> MasterClient::Rollback(const RollbackRequest& req) {
  return Unary<FlipResponse>(publish_.get(), &Publish::Stub::Rollback, req, kQueryDeadline,
                             StrCat("rollback on ", address_));
}

absl::StatusOr<LiveHistoryResponse> MasterClient::LiveHistory(const std::string& app) {
  LiveHistoryRequest req;
  req.set_app(app);
  return Unary<LiveHistoryResponse>(read_.get(), &Read::Stub::LiveHistory, req, kQueryDeadline,
                                    StrCat("read history on ", address_));
}

absl::StatusOr<ListSitesResponse> MasterClient::ListSites(const std::string& app,
                                                          const std::string& version) {
  ListSitesRequest req;
  req.set_app(app);
  req.set_version(version);
  // Page by page (each reply is bounded); every page names at least one site
  // after the last, so this ends after at most one page per site.
  ListSitesResponse all;
  for (size_t page = 0; page <= kMaxSites; ++page) {
    VMS_ASSIGN_OR_RETURN(
        auto resp, Unary<ListSitesResponse>(publish_.get(), &Publish::Stub::ListSites, req,
                                            kListDeadline, StrCat("list sites on ", address_)));
    if (page == 0) {
      all.set_head_seq(resp.head_seq());
      *all.mutable_trust_warnings() = std::move(*resp.mutable_trust_warnings());
    }
    if (resp.more() && (resp.sites().empty() || resp.sites().rbegin()->name() <= req.after())) {
      return absl::InternalError(StrCat(address_, " sent a page of sites that does not advance"));
    }
    for (SiteState& s : *resp.mutable_sites()) *all.add_sites() = std::move(s);
    if (!resp.more()) return all;
    req.set_after(all.sites().rbegin()->name());
  }
  return absl::InternalError(StrCat(address_, " sent more pages of sites than it may know"));
}

absl::Status MasterClient::ServeSite(const std::string& site,
                                     const std::vector<std::string>& networks) {
  AddSiteRequest req;
  req.set_site(site);
  req.set_assign_networks(true);
  for (const std::string& n : networks) req.add_networks(n);
  return Unary<AddSiteResponse>(publish_.get(), &Publish::Stub::AddSite, req, kListDeadline,
                                StrCat("set the networks of site ", site, " on ", address_))
      .status();
}

absl::Status MasterClient::AddSite(const std::string& site) {
  AddSiteRequest req;
  req.set_site(site);
  return Unary<AddSiteResponse>(publish_.get(), &Publish::Stub::AddSite, req, kListDeadline,
                                StrCat("add a site on ", address_))
      .status();
}

absl::Status MasterClient::RemoveSite(const std::string& site, bool force) {
  RemoveSiteRequest req;
  req.set_site(site);
  req.set_force(force);
  return Unary<RemoveSiteResponse>(publish_.get(), &Publish::Stub::RemoveSite, req, kListDeadline,
                                   StrCat("remove site on ", address_))
      .status();
}

absl::StatusOr<SiteInfoResponse> MasterClient::SiteInfo() {
  return Unary<SiteInfoResponse>(read_.get(), &Read::Stub::SiteInfo, SiteInfoRequest(),
                                 kListDeadline, StrCat("ask ", address_));
}

absl::StatusOr<ListAppsResponse> MasterClient::ListApps() {
  return Unary<ListAppsResponse>(read_.get(), &Read::Stub::ListApps, ListAppsRequest(),
                                 kQueryDeadline, StrCat("list apps on ", address_));
}

absl::StatusOr<AppState> MasterClient::App(const std::string& app) {
  VMS_ASSIGN_OR_RETURN(ListAppsResponse apps, ListApps());
  for (AppState& a : *apps.mutable_apps()) {
    if (a.app() == app) return std::move(a);
  }
  return AppState();
}

absl::StatusOr<ListVersionsResponse> MasterClient::ListVersions(const std::string& app) {
  ListVersionsRequest req;
  req.set_app(app);
  return Unary<ListVersionsResponse>(read_.get(), &Read::Stub::ListVersions, req, kQueryDeadline,
                                     StrCat("list versions on ", address_));
}

absl::StatusOr<OwnersResponse> MasterClient::Owners(const OwnersRequest& req) {
  return Unary<OwnersResponse>(publish_.get(), &Publish::Stub::Owners, req, kQueryDeadline,
                               StrCat("owners on ", address_));
}

absl::StatusOr<RegisterKeyResponse> MasterClient::RegisterKey(const RegisterKeyRequest& req) {
  return Unary<RegisterKeyResponse>(publish_.get(), &Publish::Stub::RegisterKey, req,
                                    kQueryDeadline, StrCat("register a key on ", address_));
}

absl::StatusOr<PendingResponse> MasterClient::Pending(const PendingRequest& req) {
  return Unary<PendingResponse>(publish_.get(), &Publish::Stub::Pending, req, kQueryDeadline,
                                StrCat("list what waits for signatures on ", address_));
}

absl::StatusOr<RetireResponse> MasterClient::Retire(const RetireRequest& req) {
  return Unary<RetireResponse>(publish_.get(), &Publish::Stub::Retire, req, kCommitDeadline,
                               StrCat("retire on ", address_));
}

absl::StatusOr<GcResponse> MasterClient::Gc(const GcRequest& req) {
  return Unary<GcResponse>(publish_.get(), &Publish::Stub::Gc, req, kCommitDeadline,
                           StrCat("collect garbage on ", address_));
}

absl::StatusOr<PolicyResponse> MasterClient::Policy(const PolicyRequest& req) {
  return Unary<PolicyResponse>(publish_.get(), &Publish::Stub::Policy, req, kQueryDeadline,
                               StrCat("policy on ", address_));
}

absl::StatusOr<CosignResponse> MasterClient::Cosign(const CosignRequest& req) {
  return Unary<CosignResponse>(publish_.get(), &Publish::Stub::Cosign, req, kCommitDeadline,
                               StrCat("co-sign on ", address_));
}

absl::StatusOr<TrustResponse> MasterClient::Trust() {
  return Unary<TrustResponse>(read_.get(), &Read::Stub::Trust, TrustRequest(), kQueryDeadline,
                              StrCat("read the chain of trust on ", address_));
}

absl::StatusOr<AuditResponse> MasterClient::Audit(const AuditRequest& req) {
  return Unary<AuditResponse>(publish_.get(), &Publish::Stub::Audit, req, kListDeadline,
                              StrCat("audit on ", address_));
}

}  // namespace vms
