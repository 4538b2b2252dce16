// The host's bounded on-disk object cache.
//
// Objects are kept as received (compressed) in a RocksDB (core's
// ObjectStore), one batch per fetch, so filling the cache costs no file
// creation per small object (a large one gets a file of its own, unsynced:
// the cache need not survive a power cut), and every read decodes and checks the object against
// its hash (corruption on disk is detected, never served). An in-memory
// index adds the LRU order, pins and the byte bound (raw bytes): the least
// recently used unpinned objects are evicted first; a pinned (open) one
// never is. The cache survives restarts.
//
// Thread-safe. mu_ guards the index; reads and the verified writes of Put()
// happen outside it, deletes (unsynced) under it, so that an eviction and
// the indexing of the same object never interleave.
#ifndef VMS_FUSEFS_OBJECT_CACHE_H_
#define VMS_FUSEFS_OBJECT_CACHE_H_

#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "core/counter.h"
#include "core/db.h"
#include "core/hash.h"
#include "core/object_store.h"
#include "core/sync.h"

namespace vms {

class ObjectCache {
 public:
  // Opens (creating) DIR/objects and indexes it; evicts down to `max_bytes`.
  // `evictions`, when given, counts every object evicted.
  static absl::StatusOr<std::unique_ptr<ObjectCache>> Open(
      const std::string& dir, uint64_t max_bytes, prometheus::Counter* evictions = nullptr);

  bool Contains(const Hash& hash) const;
  // Verifies and stores objects as received, evicting as needed; objects
  // already cached are skipped. DataLoss if one does not match its hash.
  absl::Status Put(std::vector<StoredObject>* objects);

  // Pins an object: it is not evicted until the matching Unpin(). NotFound
  // if absent.
  absl::Status Pin(const Hash& hash);
  // Pins only if cached; false otherwise (nothing pinned).
  bool PinIfCached(const Hash& hash);
  void Unpin(const Hash& hash);

  // The raw bytes, decoded and checked against the hash (once per process:
  // objects this process fetched or read before were checked then). DataLoss
  // (and the object is dropped, so it is fetched again) if what is stored is
  // corrupt.
  absl::StatusOr<std::string> Read(const Hash& hash);

  // Called (with no lock held) whenever pinned objects keep the cache over
  // its bound, so that the owner can ask the kernel to let go of unused files.
  // Any thread, at any time (fetches may be landing); once it returns, the
  // previous callback is not running and will not run again. The callback
  // must be quick and take no lock of this cache.
  void SetPressureCallback(std::function<void()> fn);

  // Writes what the database holds in memory out (see Db::Flush).
  absl::Status Flush() { return db_->Flush(); }

  // Drops these objects now if cached and not pinned (a retired version's:
  // fusefs/census.h); returns the raw bytes given back.
  uint64_t Drop(std::span<const Hash> hashes);

  uint64_t bytes() const;
  uint64_t max_bytes() const { return max_bytes_; }
  size_t pinned() const;

 private:
  struct Entry {
    uint64_t size = 0;
    int pins = 0;
    // False after corruption was found under a pin: the pins stay, so the
    // object fetched again is pinned as the holders expect.
    bool present = true;
    bool verified = false;  // checked against its hash by this process
    // Which coming of the object this is: a reader that finds the bytes gone
    // tells "evicted and cached again meanwhile" from corruption by it.
    uint64_t gen = 0;
    std::list<Hash>::iterator lru;
  };
  ObjectCache(std::unique_ptr<Db> db, uint64_t max_bytes, prometheus::Counter* evictions);
  // Picks unpinned LRU entries to remove so that `incoming` more bytes fit,
  // and removes them from the index; the caller deletes them from disk.
  std::vector<Hash> EvictFor(uint64_t incoming) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Under mu_ (an unsynced RocksDB write, no fsync), so that an eviction's
  // delete and a Put's indexing never interleave.
  void DeleteFromDisk(const std::vector<Hash>& hashes) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void MaybeSignalPressure();

  std::unique_ptr<Db> db_;
  ObjectStore store_;
  const uint64_t max_bytes_;
  prometheus::Counter* const evictions_;
  Mutex callback_mu_;  // held while the callback runs; never with mu_
  std::function<void()> on_pressure_ ABSL_GUARDED_BY(callback_mu_);
  mutable Mutex mu_;
  std::unordered_map<Hash, Entry, HashHasher> entries_ ABSL_GUARDED_BY(mu_);
  std::list<Hash> lru_ ABSL_GUARDED_BY(mu_);  // front: least recently used
  uint64_t bytes_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t next_gen_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t deletions_ ABSL_GUARDED_BY(mu_) = 0;  // DeleteFromDisk() calls that deleted
};

}  // namespace vms

#endif  // VMS_FUSEFS_OBJECT_CACHE_H_
