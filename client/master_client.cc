#include "client/master_client.h"

#include <chrono>
#include <sstream>
#include <type_traits>

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

// Parses the hashes a master named into `out`.
template <typename Repeated>
absl::Status AppendHashes(const Repeated& raw, std::vector<Hash>* out) {
  for (const std::string& r : raw) {
    auto h = Hash::FromBytes(r);
    if (!h.ok())
      return absl::InternalError(StrCat("master sent a bad hash: ", h.status().message()));
    out->push_back(*h);
  }
  return absl::OkStatus();
}

}  // namespace

namespace {

std::unique_ptr<MasterClient::Endpoint> MakeEndpoint(const std::string& address,
                                                     const Credentials& credentials) {
  auto channel = MakeChannel(address, credentials, {PrincipalKind::kMaster, PrincipalKind::kSite});
  return std::make_unique<MasterClient::Endpoint>(
      MasterClient::Endpoint{.address = address,
                             .publish = Publish::NewStub(channel),
                             .read = Read::NewStub(channel),
                             .group = Group::NewStub(channel)});
}

// What a master group's standby says before the leader's address
// (MasterGroup::kLeaderIsAt).
constexpr std::string_view kLeaderIsAt = "the leader is at ";
// What a master group's node says of a write it refused without making it
// (MasterGroup::kNotWritten).
constexpr std::string_view kNotWritten = "nothing was written";

// Whether a call that failed Unavailable may go to another master: a read
// may; a write only if it never reached one (no connection), or the node
// said it made none. A connection that broke mid-call may have carried a
// write the master made: sending it again could make it twice.
template <typename Stub>
bool MayPassOver(const absl::Status& s) {
  if (!absl::IsUnavailable(s)) return false;
  if (!std::is_same_v<Stub, Publish::Stub>) return true;
  const std::string_view m = Sv(s.message());
  return m.find(kNotWritten) != std::string_view::npos ||
         m.find("failed to connect to all addresses") != std::string_view::npos;
}

}  // namespace

MasterClient::MasterClient(std::string addresses, const Credentials& credentials)
    : credentials_(credentials) {
  std::istringstream list(addresses);
  for (std::string a; std::getline(list, a, ',');) {
    if (!a.empty()) endpoints_.push_back(MakeEndpoint(a, credentials));
  }
  // An empty --master: the calls say where they could not go.
  if (endpoints_.empty()) endpoints_.push_back(MakeEndpoint("", credentials));
  count_ = endpoints_.size();
  endpoints_.emplace_back();  // the slot AddLeader() fills
}

const std::string& MasterClient::address() const { return At(current_).address; }

std::optional<size_t> MasterClient::AddLeader(std::string_view message) {
  const size_t at = message.find(kLeaderIsAt);
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view rest = message.substr(at + kLeaderIsAt.size());
  const std::string address(rest.substr(0, rest.find_first_of(" ;,)\n")));
  if (address.empty()) return std::nullopt;
  std::lock_guard<std::mutex> lock(add_mu_);
  const size_t n = count_;
  for (size_t i = 0; i < n; ++i) {
    if (At(i).address == address) return i;
  }
  if (n == endpoints_.size()) return std::nullopt;  // the slot is taken
  endpoints_[n] = MakeEndpoint(address, credentials_);
  count_ = n + 1;
  return n;
}

template <typename Resp, typename Stub, typename Req, typename Method>
absl::StatusOr<Resp> MasterClient::Call(std::unique_ptr<Stub> Endpoint::*stub, Method method,
                                        const Req& req, std::chrono::milliseconds deadline,
                                        std::string_view what) {
  std::string failures;
  const size_t start = current_;
  const size_t n = count_;
  std::vector<size_t> order;  // each known endpoint, from the last that answered
  for (size_t i = 0; i < n; ++i) order.push_back((start + i) % n);
  absl::Status last;
  for (size_t k = 0; k < order.size(); ++k) {
    Endpoint& e = At(order[k]);
    auto r = Unary<Resp>((e.*stub).get(), method, req, deadline, StrCat(what, e.address));
    // Only a master that cannot be reached (or a standby) is passed over:
    // any other answer (a deadline too, after which a write may have
    // happened) is the answer.
    if (!MayPassOver<Stub>(r.status())) {
      current_ = order[k];
      return r;
    }
    // A standby named a leader not known yet: it is tried last, once.
    if (auto leader = AddLeader(Sv(r.status().message()));
        leader && *leader >= n && order.size() == n) {
      order.push_back(*leader);
    }
    failures += StrCat(failures.empty() ? "" : "; ", r.status().message());
    last = r.status();
  }
  if (order.size() == 1) return last;
  return absl::UnavailableError(StrCat("no master answered: ", failures));
}

template <typename Req, typename Resp, typename Method, typename Field>
absl::StatusOr<std::vector<Hash>> MasterClient::HashQuery(std::span<const Hash> hashes,
                                                          Method method, Field field) {
  std::vector<Hash> out;
  for (size_t start = 0; start < hashes.size(); start += kHashesPerRequest) {
    Req req;
    const size_t end = std::min(hashes.size(), start + kHashesPerRequest);
    for (size_t i = start; i < end; ++i) req.add_hashes(std::string(hashes[i].View()));
    VMS_ASSIGN_OR_RETURN(auto resp,
                         Call<Resp>(&Endpoint::publish, method, req, kQueryDeadline, "query "));
    VMS_RETURN_IF_ERROR(AppendHashes(field(resp), &out));
  }
  return out;
}

absl::StatusOr<std::vector<Hash>> MasterClient::Missing(std::span<const Hash> hashes) {
  return HashQuery<MissingObjectsRequest, MissingObjectsResponse>(
      hashes, &Publish::Stub::MissingObjects,
      [](const MissingObjectsResponse& r) -> const auto& { return r.missing(); });
}

absl::StatusOr<std::vector<Hash>> MasterClient::CompleteTrees(std::span<const Hash> hashes) {
  return HashQuery<CompleteTreesRequest, CompleteTreesResponse>(
      hashes, &Publish::Stub::CompleteTrees,
      [](const CompleteTreesResponse& r) -> const auto& { return r.complete(); });
}

std::unique_ptr<MasterClient::Upload> MasterClient::StartUpload() {
  // To the master the push's queries went to.
  Endpoint& e = At(current_);
  return std::make_unique<GrpcUpload>(e.publish.get(), e.address);
}

absl::StatusOr<CommitResponse> MasterClient::Commit(const CommitRequest& req) {
  return Call<CommitResponse>(&Endpoint::publish, &Publish::Stub::Commit, req, kCommitDeadline,
                              "commit to ");
}

absl::StatusOr<FlipResponse> MasterClient::SetLive(const SetLiveRequest& req) {
  return Call<FlipResponse>(&Endpoint::publish, &Publish::Stub::SetLive, req, kQueryDeadline,
                            "live on ");
}

absl::StatusOr<FlipResponse> MasterClient::Rollback(const RollbackRequest& req) {
  return Call<FlipResponse>(&Endpoint::publish, &Publish::Stub::Rollback, req, kQueryDeadline,
                            "rollback on ");
}

absl::StatusOr<LiveHistoryResponse> MasterClient::LiveHistory(const std::string& app) {
  LiveHistoryRequest req;
  req.set_app(app);
  return Call<LiveHistoryResponse>(&Endpoint::read, &Read::Stub::LiveHistory, req, kQueryDeadline,
                                   "read history on ");
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
    VMS_ASSIGN_OR_RETURN(auto resp,
                         Call<ListSitesResponse>(&Endpoint::publish, &Publish::Stub::ListSites, req,
                                                 kListDeadline, "list sites on "));
    if (page == 0) {
      all.set_head_seq(resp.head_seq());
      *all.mutable_trust_warnings() = std::move(*resp.mutable_trust_warnings());
    }
    if (resp.more() && (resp.sites().empty() || resp.sites().rbegin()->name() <= req.after())) {
      return absl::InternalError(StrCat(address(), " sent a page of sites that does not advance"));
    }
    for (SiteState& s : *resp.mutable_sites()) *all.add_sites() = std::move(s);
    if (!resp.more()) return all;
    req.set_after(all.sites().rbegin()->name());
  }
  return absl::InternalError(StrCat(address(), " sent more pages of sites than it may know"));
}

absl::Status MasterClient::ServeSite(const std::string& site,
                                     const std::vector<std::string>& networks) {
  AddSiteRequest req;
  req.set_site(site);
  req.set_assign_networks(true);
  for (const std::string& n : networks) req.add_networks(n);
  return Call<AddSiteResponse>(&Endpoint::publish, &Publish::Stub::AddSite, req, kListDeadline,
                               StrCat("set the networks of site ", site, " on "))
      .status();
}

absl::Status MasterClient::AddSite(const std::string& site) {
  AddSiteRequest req;
  req.set_site(site);
  return Call<AddSiteResponse>(&Endpoint::publish, &Publish::Stub::AddSite, req, kListDeadline,
                               "add a site on ")
      .status();
}

absl::Status MasterClient::RemoveSite(const std::string& site, bool force) {
  RemoveSiteRequest req;
  req.set_site(site);
  req.set_force(force);
  return Call<RemoveSiteResponse>(&Endpoint::publish, &Publish::Stub::RemoveSite, req,
                                  kListDeadline, "remove site on ")
      .status();
}

absl::StatusOr<SiteInfoResponse> MasterClient::SiteInfo() {
  return Call<SiteInfoResponse>(&Endpoint::read, &Read::Stub::SiteInfo, SiteInfoRequest(),
                                kListDeadline, "ask ");
}

absl::StatusOr<ListAppsResponse> MasterClient::ListApps() {
  return Call<ListAppsResponse>(&Endpoint::read, &Read::Stub::ListApps, ListAppsRequest(),
                                kQueryDeadline, "list apps on ");
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
  return Call<ListVersionsResponse>(&Endpoint::read, &Read::Stub::ListVersions, req, kQueryDeadline,
                                    "list versions on ");
}

absl::StatusOr<OwnersResponse> MasterClient::Owners(const OwnersRequest& req) {
  return Call<OwnersResponse>(&Endpoint::publish, &Publish::Stub::Owners, req, kQueryDeadline,
                              "owners on ");
}

absl::StatusOr<RegisterKeyResponse> MasterClient::RegisterKey(const RegisterKeyRequest& req) {
  return Call<RegisterKeyResponse>(&Endpoint::publish, &Publish::Stub::RegisterKey, req,
                                   kQueryDeadline, "register a key on ");
}

absl::StatusOr<PendingResponse> MasterClient::Pending(const PendingRequest& req) {
  return Call<PendingResponse>(&Endpoint::publish, &Publish::Stub::Pending, req, kQueryDeadline,
                               "list what waits for signatures on ");
}

absl::StatusOr<RetireResponse> MasterClient::Retire(const RetireRequest& req) {
  return Call<RetireResponse>(&Endpoint::publish, &Publish::Stub::Retire, req, kCommitDeadline,
                              "retire on ");
}

absl::StatusOr<GcResponse> MasterClient::Gc(const GcRequest& req) {
  return Call<GcResponse>(&Endpoint::publish, &Publish::Stub::Gc, req, kCommitDeadline,
                          "collect garbage on ");
}

absl::StatusOr<PolicyResponse> MasterClient::Policy(const PolicyRequest& req) {
  return Call<PolicyResponse>(&Endpoint::publish, &Publish::Stub::Policy, req, kQueryDeadline,
                              "policy on ");
}

absl::StatusOr<CosignResponse> MasterClient::Cosign(const CosignRequest& req) {
  return Call<CosignResponse>(&Endpoint::publish, &Publish::Stub::Cosign, req, kCommitDeadline,
                              "co-sign on ");
}

absl::StatusOr<TrustResponse> MasterClient::Trust() {
  return Call<TrustResponse>(&Endpoint::read, &Read::Stub::Trust, TrustRequest(), kQueryDeadline,
                             "read the chain of trust on ");
}

absl::StatusOr<AuditResponse> MasterClient::Audit(const AuditRequest& req) {
  return Call<AuditResponse>(&Endpoint::publish, &Publish::Stub::Audit, req, kListDeadline,
                             "audit on ");
}

absl::StatusOr<GroupNodesResponse> MasterClient::Masters() {
  auto r = Call<GroupNodesResponse>(&Endpoint::group, &Group::Stub::Nodes, GroupNodesRequest(),
                                    kQueryDeadline, "ask the master group at ");
  if (absl::IsUnimplemented(r.status())) {
    return absl::FailedPreconditionError(
        StrCat(address(), " is a single master, not a node of a master group (vms-master --etcd)"));
  }
  return r;
}

}  // namespace vms
