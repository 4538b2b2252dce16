// What a replica or a host needs from the store it fetches from (the master,
// or a replica): objects and release records. Pure interface, no transport:
// the gRPC implementation is UpstreamClient (net/upstream_client.h); tests may
// fake it, and the plain logic (server/replica.h, fusefs/content.h) sees only
// this.
#ifndef VMS_NET_UPSTREAM_H_
#define VMS_NET_UPSTREAM_H_

#include <functional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/hash.h"
#include "core/object_store.h"
#include "records.pb.h"

namespace vms {

class Upstream {
 public:
  // Receives fetched objects a batch at a time; may be called from several
  // threads at once. An error stops the fetch and is returned by Fetch().
  using Sink = std::function<absl::Status(std::vector<StoredObject>* batch)>;

  virtual ~Upstream() = default;
  // Fetches `hashes` (many per request, several requests in parallel).
  virtual absl::Status Fetch(std::span<const Hash> hashes, const Sink& sink) = 0;
  // The signed releases of `app` (unverified: the caller checks them).
  virtual absl::StatusOr<std::vector<Envelope>> Releases(const std::string& app) = 0;
  // The chain of trust as the upstream holds it (unverified: a record a
  // caller has not reached in the log yet is checked on a scratch copy of
  // its own chain).
  virtual absl::StatusOr<TrustSnapshot> Trust() = 0;
};

}  // namespace vms

#endif  // VMS_NET_UPSTREAM_H_
