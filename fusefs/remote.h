// The replicas a host fetches from, in order of preference, with failover:
// when one does not answer (unavailable, past the deadline, or serving bad
// data), the next is asked for what is still missing. The last replica that
// answered is tried first next time. Thread-safe.
#ifndef VMS_FUSEFS_REMOTE_H_
#define VMS_FUSEFS_REMOTE_H_

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "core/counter.h"
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
  // The chain of trust, from the preferred replica, else the next.
  absl::StatusOr<TrustSnapshot> Trust();

  size_t size() const { return clients_.size(); }
  UpstreamClient* client(size_t i) { return clients_[i].get(); }
  std::vector<UpstreamClient*> clients();
  // The replica to try first.
  size_t preferred() const { return preferred_; }
  void set_preferred(size_t i) { Prefer(i % clients_.size()); }

 private:
  void Prefer(size_t i) {
    if (preferred_.exchange(i) != i) Count(failovers_);
  }

  prometheus::Counter* const failovers_;
  std::vector<std::unique_ptr<UpstreamClient>> clients_;
  std::atomic<size_t> preferred_{0};
};

}  // namespace vms

#endif  // VMS_FUSEFS_REMOTE_H_
