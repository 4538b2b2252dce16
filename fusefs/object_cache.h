// The host's bounded on-disk object cache.
//
// Objects are kept raw (decompressed), one file each under DIR/objects/xx/,
// so reads are plain preads (or splices) from the file. The cache is bounded
// by total bytes and evicts least recently used objects first, but never one
// that is pinned (open). It survives restarts: at start it indexes what is on
// disk (oldest first, by mtime); each object found on disk is verified against
// its hash the first time this process uses it, so a corrupt file is dropped
// and fetched again, never served.
//
// Thread-safe. mu_ guards the index only; disk reads, hashing and writes
// happen outside it.
#ifndef VMS_FUSEFS_OBJECT_CACHE_H_
#define VMS_FUSEFS_OBJECT_CACHE_H_

#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "core/file_util.h"
#include "core/hash.h"

namespace vms {

class ObjectCache {
 public:
  // Opens (creating) DIR/objects and indexes it; evicts down to `max_bytes`.
  static absl::StatusOr<std::unique_ptr<ObjectCache>> Open(const std::string& dir,
                                                          uint64_t max_bytes);

  bool Contains(const Hash& hash) const;
  // Stores verified raw bytes (the caller checked the hash), evicting as
  // needed. Storing what is already there is a no-op.
  absl::Status Put(const Hash& hash, std::string_view raw);

  // Pins the object: it is not evicted until the matching Unpin(). NotFound
  // if absent; DataLoss (and removal) if the file on disk no longer matches
  // its hash.
  absl::Status Pin(const Hash& hash);
  void Unpin(const Hash& hash);
  // Pins without touching the disk, only if the object is cached and this
  // process already verified it; false otherwise (nothing pinned).
  bool PinIfVerified(const Hash& hash);
  // A new read-only descriptor of a cached object (the caller closes it).
  // Descriptors are not kept per pin: a host may pin tens of thousands.
  absl::StatusOr<Fd> OpenFd(const Hash& hash) const;
  // The whole object (small objects: trees, chunk lists), verified as Pin().
  absl::StatusOr<std::string> Read(const Hash& hash);

  // Called (with no lock held) whenever open files keep the cache over its
  // bound, so that the owner can ask the kernel to let go of unused files.
  void SetPressureCallback(std::function<void()> fn) { on_pressure_ = std::move(fn); }

  uint64_t bytes() const;
  uint64_t max_bytes() const { return max_bytes_; }
  size_t pinned() const;

 private:
  struct Entry {
    uint64_t size = 0;
    bool verified = false;  // checked against its hash by this process
    int pins = 0;
    std::list<Hash>::iterator lru;
  };
  ObjectCache(std::string dir, uint64_t max_bytes) : dir_(std::move(dir)), max_bytes_(max_bytes) {}
  std::string PathOf(const Hash& hash) const;
  // Removes unpinned LRU entries until `incoming` more bytes fit.
  void EvictFor(uint64_t incoming) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Drop(const Hash& hash) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Verifies the file of an entry not yet verified by this process.
  absl::Status VerifyOnDisk(const Hash& hash);

  void MaybeSignalPressure();

  const std::string dir_;
  const uint64_t max_bytes_;
  std::function<void()> on_pressure_;
  mutable std::mutex mu_;
  std::unordered_map<Hash, Entry, HashHasher> entries_ ABSL_GUARDED_BY(mu_);
  std::list<Hash> lru_ ABSL_GUARDED_BY(mu_);  // front: least recently used
  uint64_t bytes_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace vms

#endif  // VMS_FUSEFS_OBJECT_CACHE_H_
