// Object bytes for the filesystem: from the on-disk cache, or fetched (and
// verified) when missing. Thread-safe.
#ifndef VMS_FUSEFS_CONTENT_H_
#define VMS_FUSEFS_CONTENT_H_

#include <functional>
#include <span>
#include <string>

#include "absl/status/statusor.h"
#include "core/hash.h"
#include "fusefs/object_cache.h"
#include "server/upstream.h"

namespace vms {

class Content {
 public:
  // Fetches objects into a sink (Remote::Fetch in vms-fuse).
  using Fetcher = std::function<absl::Status(std::span<const Hash>, const Upstream::Sink&)>;

  // `cache` must outlive this.
  Content(ObjectCache* cache, Fetcher fetch) : cache_(cache), fetch_(std::move(fetch)) {}

  // The raw bytes of a (small) object: trees, chunk lists.
  absl::StatusOr<std::string> Get(const Hash& hash);
  // Makes sure every listed object is cached, fetching the missing ones in
  // one request.
  absl::Status Ensure(std::span<const Hash> hashes);
  // Pins an object, fetching it first if needed; it stays cached until Unpin().
  absl::Status Pin(const Hash& hash);
  void Unpin(const Hash& hash) { cache_->Unpin(hash); }
  bool PinIfVerified(const Hash& hash) { return cache_->PinIfVerified(hash); }
  absl::StatusOr<Fd> OpenFd(const Hash& hash) const { return cache_->OpenFd(hash); }
  bool Cached(const Hash& hash) const { return cache_->Contains(hash); }

 private:
  ObjectCache* cache_;
  Fetcher fetch_;
};

}  // namespace vms

#endif  // VMS_FUSEFS_CONTENT_H_
