// Upstream over gRPC: the Read and Sites services of the master or of
// another replica. Replicas fetch and report with it; hosts (vms-fuse) fetch
// with it; both follow its event streams through EventStream
// (net/event_stream.h). Thread-safe.
#ifndef VMS_NET_UPSTREAM_CLIENT_H_
#define VMS_NET_UPSTREAM_CLIENT_H_

#include <chrono>
#include <memory>
#include <string>

#include "core/throttle.h"
#include "net/tls.h"
#include "net/upstream.h"
#include "vms.grpc.pb.h"

namespace vms {

class UpstreamClient : public Upstream {
 public:
  // Over TLS (`credentials`), the upstream must be a master or a site.
  // `streams`: how many GetObjects streams one Fetch() runs at once;
  // `rate`: a cap on fetched (wire) bytes per second, 0 for none;
  // `deadline`: a bound on each request (zero: kListDeadline for listings and
  // none for fetches, which may be long).
  // `own_connection`: see MakeChannel().
  UpstreamClient(std::string address, const Credentials& credentials, int streams = 4,
                 uint64_t rate = 0, std::chrono::milliseconds deadline = {},
                 bool own_connection = false);

  absl::Status Fetch(std::span<const Hash> hashes, const Sink& sink) override;
  absl::StatusOr<std::vector<Envelope>> Releases(const std::string& app) override;
  // Every live record of `app` (Read.LiveHistory), live_seq ascending.
  absl::StatusOr<std::vector<Envelope>> LiveHistory(const std::string& app);
  absl::StatusOr<ReportAck> Report(const SiteReport& report);
  // A host's census report (Sites.HostUsage).
  absl::Status HostUsage(const HostUsageReport& report);
  // The chain of trust as the upstream holds it (Read.Trust).
  absl::StatusOr<TrustSnapshot> Trust() override;
  // Its own view (Read.SiteInfo): how far it is, whom it follows.
  absl::StatusOr<SiteInfoResponse> SiteInfo(std::chrono::milliseconds deadline);
  // Where every site's replica is, and the networks it serves (Read.SiteMap).
  absl::StatusOr<vms::SiteMap> SiteMap(std::chrono::milliseconds deadline);

  Read::Stub* read() { return read_.get(); }
  const std::string& address() const { return address_; }

 private:
  std::string address_;
  int streams_;
  Throttle throttle_;
  std::chrono::milliseconds deadline_;
  std::unique_ptr<Read::Stub> read_;
  std::unique_ptr<Sites::Stub> sites_;
};

}  // namespace vms

#endif  // VMS_NET_UPSTREAM_CLIENT_H_
