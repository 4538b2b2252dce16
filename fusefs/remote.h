// The replicas a host fetches from, in order of preference, with failover:
// when one does not answer (unavailable, past the deadline, or serving bad
// data), the next is asked for what is still missing. The last replica that
// answered is tried first next time. The list may change while in use (a
// host re-learned its site map: fusefs/discovery.h). Thread-safe.
#ifndef VMS_FUSEFS_REMOTE_H_
#define VMS_FUSEFS_REMOTE_H_

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "core/counter.h"
#include "core/sync.h"
#include "net/upstream_client.h"

namespace vms {

class Remote {
 public:
  // `deadline` bounds every request to one replica. `failovers`, when
  // given, counts each change of the replica in use.
  Remote(const std::vector<std::string>& addresses, const Credentials& credentials,
         std::chrono::milliseconds deadline, prometheus::Counter* failovers = nullptr);

  // Unavailable (naming each replica's failure) when none delivered it all.
  absl::Status Fetch(std::span<const Hash> hashes, const Upstream::Sink& sink);
  absl::StatusOr<std::vector<Envelope>> Releases(const std::string& app);
  // An app's live history (NotFound for an unknown app).
  absl::StatusOr<std::vector<Envelope>> History(const std::string& app);
  // The chain of trust, from the preferred replica, else the next.
  absl::StatusOr<TrustSnapshot> Trust();
  // A census report, to the preferred replica, else the next.
  absl::Status HostUsage(const HostUsageReport& report);
  // The site of the first replica that says (Read.SiteInfo); "" if none.
  std::string FirstSite(std::chrono::milliseconds deadline);

  // The replicas now, in order of preference. Each pointer stays valid as
  // long as the Remote (a replica dropped from the list is kept, idle).
  std::vector<UpstreamClient*> clients() const;
  std::vector<std::string> addresses() const;
  // Replaces the list (not empty); the first is preferred, unless the first
  // is the same as before and the host had failed over to another still in
  // the list (it stays there). Returns whether the list changed.
  bool SetAddresses(const std::vector<std::string>& addresses);
  // The replica to try first.
  UpstreamClient* preferred() const { return preferred_; }
  void Prefer(UpstreamClient* c) {
    if (preferred_.exchange(c) != c) Count(failovers_);
  }

 private:
  // The list with the preferred replica first.
  std::vector<UpstreamClient*> Order() const;

  const Credentials credentials_;
  const std::chrono::milliseconds deadline_;
  prometheus::Counter* const failovers_;
  mutable Mutex mu_;
  std::map<std::string, std::unique_ptr<UpstreamClient>> pool_ ABSL_GUARDED_BY(mu_);
  std::vector<UpstreamClient*> list_ ABSL_GUARDED_BY(mu_);
  std::atomic<UpstreamClient*> preferred_{nullptr};
};

}  // namespace vms

#endif  // VMS_FUSEFS_REMOTE_H_
