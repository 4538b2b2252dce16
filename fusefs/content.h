// Object bytes for the filesystem: from the on-disk cache, or fetched (and
// verified) when missing. Recently read objects are also kept decoded in
// memory (bounded), so that a file read in many small requests is decoded
// once. Thread-safe.
#ifndef VMS_FUSEFS_CONTENT_H_
#define VMS_FUSEFS_CONTENT_H_

#include <functional>
#include <list>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "core/counter.h"
#include "core/hash.h"
#include "core/sync.h"
#include "core/thread_pool.h"
#include "fusefs/object_cache.h"
#include "net/upstream.h"

namespace vms {

// What Content counts (vms-fuse's metrics); any may be null.
struct ContentMetrics {
  prometheus::Counter* hits = nullptr;             // objects read or pinned that were cached
  prometheus::Counter* misses = nullptr;           // ... that had to be fetched first
  prometheus::Counter* fetched_objects = nullptr;  // objects that came from replicas
  prometheus::Counter* fetched_bytes = nullptr;    // their raw bytes
  prometheus::Histogram* fetch_seconds = nullptr;  // one request to the replicas
};

class Content {
 public:
  // Fetches objects into a sink (Remote::Fetch in vms-fuse).
  using Fetcher = std::function<absl::Status(std::span<const Hash>, const Upstream::Sink&)>;
  using Bytes = std::shared_ptr<const std::string>;

  // `cache` must outlive this. `memory_bytes` bounds the decoded objects kept.
  Content(ObjectCache* cache, Fetcher fetch, uint64_t memory_bytes = 64 << 20,
          ContentMetrics metrics = {})
      : cache_(cache), fetch_(std::move(fetch)), memory_limit_(memory_bytes), metrics_(metrics) {}

  // The raw bytes of an object, fetched first if needed.
  absl::StatusOr<Bytes> Get(const Hash& hash);
  // Makes sure every listed object is cached, fetching the missing ones in
  // one request.
  absl::Status Ensure(std::span<const Hash> hashes);
  // Starts fetching the listed objects that are neither cached nor being
  // fetched, as one request run on `pool`; returns at once. A reader that
  // needs one of them meanwhile waits for it in Ensure(), not for the rest.
  void Prefetch(std::span<const Hash> hashes, ThreadPool* pool);
  // Pins an object, fetching it first if needed; it stays cached until Unpin().
  absl::Status Pin(const Hash& hash);
  void Unpin(const Hash& hash) { cache_->Unpin(hash); }
  bool PinIfCached(const Hash& hash) { return cache_->PinIfCached(hash); }
  bool Cached(const Hash& hash) const { return cache_->Contains(hash); }
  const ObjectCache& cache() const { return *cache_; }
  // Drops cached objects nobody has open (ObjectCache::Drop).
  uint64_t Drop(std::span<const Hash> hashes) { return cache_->Drop(hashes); }

  struct Stats {
    uint64_t fetches = 0;       // requests to replicas
    uint64_t objects = 0;       // objects they brought
    uint64_t fetch_micros = 0;  // time spent waiting for them
  };
  Stats stats() const;

 private:
  ObjectCache* cache_;
  Fetcher fetch_;
  const uint64_t memory_limit_;
  const ContentMetrics metrics_;
  // Ensure(), counting each object as a hit (cached) or a miss (fetched
  // here or by another) when `count`: for readers, not for readahead.
  absl::Status Ensure(std::span<const Hash> hashes, bool count);
  mutable Mutex mu_;
  // Objects being fetched right now: a second reader waits for the first
  // fetch instead of asking again.
  CondVar fetched_cv_{&mu_};
  std::unordered_set<Hash, HashHasher> in_flight_ ABSL_GUARDED_BY(mu_);
  Stats stats_ ABSL_GUARDED_BY(mu_);
  absl::Status Fetch(const std::vector<Hash>& hashes);
  // Keeps decoded bytes in memory, the least recently used going first.
  void Remember(const Hash& hash, Bytes bytes);
  // Marks the uncached objects not yet in flight as in flight and returns
  // them; those already in flight go to *theirs.
  std::vector<Hash> Claim(std::span<const Hash> hashes, std::vector<Hash>* theirs);
  // Objects no longer in flight (cached, or failed): wakes their waiters.
  void Land(std::span<const Hash> hashes);
  std::unordered_map<Hash, std::pair<Bytes, std::list<Hash>::iterator>, HashHasher> memory_
      ABSL_GUARDED_BY(mu_);
  std::list<Hash> memory_lru_ ABSL_GUARDED_BY(mu_);
  uint64_t memory_bytes_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace vms

#endif  // VMS_FUSEFS_CONTENT_H_
