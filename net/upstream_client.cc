#include "net/upstream_client.h"

#include <algorithm>
#include <atomic>
#include <thread>

#include "core/status_macros.h"
#include "core/strings.h"
#include "core/sync.h"
#include "net/channel.h"
#include "net/rpc.h"

namespace vms {

UpstreamClient::UpstreamClient(std::string address, const Credentials& credentials, int streams,
                               uint64_t rate, std::chrono::milliseconds deadline,
                               bool own_connection)
    : address_(std::move(address)),
      streams_(std::max(1, streams)),
      throttle_(rate),
      deadline_(deadline) {
  auto channel = MakeChannel(address_, credentials, {PrincipalKind::kMaster, PrincipalKind::kSite},
                             own_connection);
  read_ = Read::NewStub(channel);
  sites_ = Sites::NewStub(channel);
}

absl::Status UpstreamClient::Fetch(std::span<const Hash> hashes, const Sink& sink) {
  // Requests of up to kHashesPerRequest hashes, taken by `streams_` workers.
  size_t requests = (hashes.size() + kHashesPerRequest - 1) / kHashesPerRequest;
  // Fetches of some size are still split across streams so both ends verify
  // in parallel; a handful of objects is one request (a call costs more).
  size_t per_request = kHashesPerRequest;
  if (requests < static_cast<size_t>(streams_) && hashes.size() >= 64) {
    per_request = std::max<size_t>(1, (hashes.size() + streams_ - 1) / streams_);
    requests = (hashes.size() + per_request - 1) / per_request;
  }
  std::atomic<size_t> next{0};
  Mutex mu;
  absl::Status first_error;
  std::atomic<bool> failed{false};
  auto worker = [&] {
    for (size_t r; !failed && (r = next.fetch_add(1)) < requests;) {
      GetObjectsRequest req;
      size_t begin = r * per_request, end = std::min(hashes.size(), begin + per_request);
      for (size_t i = begin; i < end; ++i) req.add_hashes(std::string(hashes[i].View()));
      grpc::ClientContext ctx;
      if (deadline_.count() > 0) ctx.set_deadline(DeadlineAfter(deadline_));
      auto reader = read_->GetObjects(&ctx, req);
      ObjectBatch batch;
      absl::Status s;
      size_t received = 0;
      while (s.ok() && reader->Read(&batch)) {
        std::vector<StoredObject> objects;
        objects.reserve(batch.objects_size());
        size_t wire = 0;
        for (Object& o : *batch.mutable_objects()) {
          auto hash = Hash::FromBytes(o.hash());
          auto codec = CodecFromWire(o.codec());
          if (!hash.ok() || !codec.ok()) {
            s = absl::DataLossError(StrCat("upstream ", address_, " sent a malformed object"));
            break;
          }
          wire += o.data().size();
          objects.push_back({*hash, *codec, o.raw_size(), std::move(*o.mutable_data())});
        }
        throttle_.Spend(wire);
        received += objects.size();
        if (s.ok()) s = sink(&objects);
      }
      if (!s.ok()) ctx.TryCancel();
      absl::Status finish = FromGrpc(reader->Finish(), StrCat("fetch from ", address_));
      if (s.ok()) s = finish;
      if (s.ok() && received != end - begin) {
        s = absl::DataLossError(StrCat("upstream ", address_, " sent ", received, " of ",
                                       end - begin, " objects asked for"));
      }
      if (!s.ok()) {
        MutexLock lock(&mu);
        if (!failed.exchange(true)) first_error = s;
      }
    }
  };
  std::vector<std::thread> threads;
  int n = static_cast<int>(std::min<size_t>(streams_, requests));
  for (int i = 1; i < n; ++i) threads.emplace_back(worker);
  if (n > 0) worker();
  for (std::thread& t : threads) t.join();
  return first_error;
}

absl::StatusOr<std::vector<Envelope>> UpstreamClient::Releases(const std::string& app) {
  ListVersionsRequest req;
  req.set_app(app);
  // A host's --fetch-timeout-ms bounds this too; a replica waits longer.
  VMS_ASSIGN_OR_RETURN(
      auto resp, Unary<ListVersionsResponse>(read_.get(), &Read::Stub::ListVersions, req,
                                             deadline_.count() > 0 ? deadline_ : kListDeadline,
                                             StrCat("list versions on ", address_)));
  return std::vector<Envelope>(resp.releases().begin(), resp.releases().end());
}

absl::StatusOr<std::vector<Envelope>> UpstreamClient::LiveHistory(const std::string& app) {
  LiveHistoryRequest req;
  req.set_app(app);
  VMS_ASSIGN_OR_RETURN(auto resp,
                       Unary<LiveHistoryResponse>(read_.get(), &Read::Stub::LiveHistory, req,
                                                  deadline_.count() > 0 ? deadline_ : kListDeadline,
                                                  StrCat("read the live history on ", address_)));
  return std::vector<Envelope>(resp.records().begin(), resp.records().end());
}

absl::StatusOr<TrustSnapshot> UpstreamClient::Trust() {
  VMS_ASSIGN_OR_RETURN(auto resp,
                       Unary<TrustResponse>(read_.get(), &Read::Stub::Trust, TrustRequest(),
                                            deadline_.count() > 0 ? deadline_ : kListDeadline,
                                            StrCat("read the chain of trust on ", address_)));
  return std::move(*resp.mutable_chain());
}

absl::StatusOr<SiteInfoResponse> UpstreamClient::SiteInfo(std::chrono::milliseconds deadline) {
  return Unary<SiteInfoResponse>(read_.get(), &Read::Stub::SiteInfo, SiteInfoRequest(), deadline,
                                 StrCat("site info of ", address_));
}

absl::StatusOr<SiteMap> UpstreamClient::SiteMap(std::chrono::milliseconds deadline) {
  return Unary<vms::SiteMap>(read_.get(), &Read::Stub::SiteMap, SiteMapRequest(), deadline,
                             StrCat("site map of ", address_));
}

absl::Status UpstreamClient::HostUsage(const HostUsageReport& report) {
  return Unary<HostUsageAck>(sites_.get(), &Sites::Stub::HostUsage, report, kReportDeadline,
                             StrCat("census report to ", address_))
      .status();
}

absl::StatusOr<ReportAck> UpstreamClient::Report(const SiteReport& report) {
  return Unary<ReportAck>(sites_.get(), &Sites::Stub::Report, report, kReportDeadline,
                          StrCat("report to ", address_));
}

}  // namespace vms
