// What a replica needs from the store it follows (the master, or another
// replica). The gRPC implementation is UpstreamClient; tests may fake it.
#ifndef VMS_SERVER_UPSTREAM_H_
#define VMS_SERVER_UPSTREAM_H_

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
};

}  // namespace vms

#endif  // VMS_SERVER_UPSTREAM_H_
