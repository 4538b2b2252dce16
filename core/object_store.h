// Content-addressed object store on RocksDB.
//
// Three families: "objects" maps hash -> [codec byte][encoded bytes],
// "objidx" maps hash -> varint(raw size) [+ SHA-256 of the encoded bytes
// when compressed] [+ a byte: 0x80 | codec, for a large object], and
// "complete" maps the hash of a
// tree whose whole closure is known present and valid -> its totals. The
// index is tiny, so existence and size checks never read object bytes; the
// complete set lets a closure walk skip every subtree a release already
// proved, so work scales with what changed, not with the tree. An object enters only through
// Ingest(), which decodes it and checks its hash first; it leaves through
// GetEncoded() (to serve as stored) or GetRaw() (decoded and re-verified, so
// corruption on disk is detected, never passed on). Thread-safe.
//
// Large objects (chunks of big files: kLargeObjectBytes encoded and up) are
// kept out of RocksDB, each in a file of its own, DB/large/<hex>: written
// once (around the page cache, with O_DIRECT, in a durable store), synced,
// and renamed into place before its index entry is written.
// Through RocksDB, their bytes went to the log, then the memtable, then a
// blob file at the flush: written twice, copied four times, checksummed
// twice. Their file I/O goes through the database's file system, so a test
// that cuts the power there (tests/testing/power_cut_fs.h) cuts it here too.
#ifndef VMS_CORE_OBJECT_STORE_H_
#define VMS_CORE_OBJECT_STORE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "core/codec.h"
#include "core/db.h"
#include "core/hash.h"
#include "core/sync.h"
#include "rocksdb/file_system.h"

namespace vms {

// Objects at least this big, encoded, are kept in files of their own.
inline constexpr uint64_t kLargeObjectBytes = 1ull << 20;

struct StoredObject {
  Hash hash;
  Codec codec = Codec::kRaw;
  uint64_t raw_size = 0;
  std::string data;  // encoded as `codec` says
};

// What a tree holds, all the way down.
struct TreeTotals {
  uint64_t files = 0;  // regular files, counted per path (hard links count twice)
  uint64_t bytes = 0;  // their total size
  uint64_t dirs = 0;   // including the tree itself
  uint64_t symlinks = 0;
};

struct IngestStats {
  uint64_t stored = 0;        // new objects written
  uint64_t present = 0;       // already there, skipped
  uint64_t stored_bytes = 0;  // encoded bytes written
};

class ObjectStore {
 public:
  // The families a database must have been opened with.
  static std::vector<std::string> Families();

  // `db` must have been opened with Families() and outlive the store.
  // `durable`: large objects are synced (with their directory) before their
  // index entry is written, so that a synced write after Ingest() makes them
  // durable as it does the rest; false for a cache, which checks every
  // object it reads and fetches again what a power cut tore.
  explicit ObjectStore(Db* db, bool durable = true);
  ~ObjectStore();

  // After a crash: removes large files no index entry names (written, but
  // their batch never was), unfinished ones and a sweep's trash, and counts
  // the bytes of the rest. Call once, before the store is used.
  absl::Status Recover();

  // Verifies every object not yet present (DataLoss naming the first bad one;
  // nothing of the batch is then written) and writes the new ones in one
  // batch. Writes are not synced: callers that acknowledge durability write
  // a synced batch afterwards, which makes everything before it durable too.
  // `on_new`, if given, adds the caller's own entries for each new object to
  // that batch (the master records uploads).
  using OnNewObject = std::function<void(rocksdb::WriteBatch*, const Hash&)>;
  absl::StatusOr<IngestStats> Ingest(std::vector<StoredObject>* objects,
                                     const OnNewObject& on_new = nullptr);

  // For each hash, its raw size if present.
  absl::StatusOr<std::vector<std::optional<uint64_t>>> Sizes(std::span<const Hash> hashes) const;
  // The subset of `hashes` that is absent, in order.
  absl::StatusOr<std::vector<Hash>> Missing(std::span<const Hash> hashes) const;

  // For each hash, the totals if it is a tree whose closure is complete.
  absl::StatusOr<std::vector<std::optional<TreeTotals>>> CompleteTrees(
      std::span<const Hash> hashes) const;
  // Removes an object found corrupt, and every complete mark (any of them
  // may cover it), so that a closure walk notices it is missing.
  absl::Status Remove(const Hash& hash);
  // Adds the removal of every complete mark to `batch` (a recheck proves
  // every closure again, trusting none).
  void ForgetComplete(rocksdb::WriteBatch* batch) const;
  // Deletes objects (a cache's evictions): unsynced, complete marks kept.
  absl::Status Erase(std::span<const Hash> hashes);

  // Every object's hash, in hash order, until `fn` returns false.
  absl::Status ForEachObject(const std::function<bool(const Hash&)>& fn) const;
  // The bytes each object takes here (encoded: its file, or its value), 0
  // for one absent.
  absl::StatusOr<std::vector<uint64_t>> StoredBytes(std::span<const Hash> hashes) const;
  // Garbage collection, in three steps. PlanSweep() looks up what sweeping
  // `hashes` takes, with no lock held: only a sweep removes objects and
  // Ingest() adds only absent ones, so it stays true until the sweep.
  struct SweepPlan {
    std::vector<Hash> hashes;     // those stored
    std::vector<uint64_t> bytes;  // each one's stored bytes
    std::vector<bool> large;      // each one's a file in large/
  };
  absl::StatusOr<SweepPlan> PlanSweep(std::span<const Hash> hashes) const;
  // Removes the plan's objects but those `spare` names (marked since), with
  // their complete marks, in one synced batch, then moves their files to
  // the trash (a rename each: quick, whatever their size). A crash in
  // between leaves files no entry names, which Recover() drops. Excludes
  // Ingest() meanwhile, so an object stored again concurrently is never
  // moved under its new entry. Returns the bytes freed.
  absl::StatusOr<uint64_t> Sweep(const SweepPlan& plan,
                                 const std::function<bool(const Hash&)>& spare);
  // Gives the space back, with no lock held (writers go on): unlinks what
  // Sweep() moved to the trash (the file system freeing big files' extents)
  // and compacts the objects' families (a deletion is a tombstone until then).
  absl::Status Reclaim();
  // Unlinks what is in the trash.
  absl::Status EmptyTrash();
  // Rewrites every file of `family` into its last level, on the calling
  // thread (CompactRange would run it on RocksDB's threads, at their
  // priority, not the caller's): the deletions' tombstones and what they
  // cover go.
  absl::Status CompactFamily(const char* family);

  // Adds "`tree`'s closure is complete" to `batch`. Only for trees whose
  // closure was verified; the caller makes the batch durable.
  void MarkComplete(rocksdb::WriteBatch* batch, const Hash& tree, const TreeTotals& totals) const;

  // NotFound if absent.
  absl::StatusOr<StoredObject> GetEncoded(const Hash& hash) const;
  // As stored, after checking it is still what Ingest() verified: what a
  // server sends, so that corruption on its disk is never passed on
  // (DataLoss). A compressed object is checked against the digest of its
  // stored bytes kept in the index (no decompression); others are decoded
  // and hashed.
  absl::StatusOr<StoredObject> GetVerified(const Hash& hash) const;
  // Decoded raw bytes; DataLoss if what is stored does not match the hash.
  absl::StatusOr<std::string> GetRaw(const Hash& hash) const;

  // Every object in the store, decoded and hashed (an fsck): `fn` gets its
  // hash, its stored (encoded) size and what the check found (DataLoss for
  // corruption; a large object's missing file is corruption too).
  using CheckFn = std::function<void(const Hash&, uint64_t stored_bytes, const absl::Status&)>;
  absl::Status CheckAll(const CheckFn& fn) const;

  // Bytes in large objects' files.
  uint64_t large_bytes() const { return large_bytes_.load(std::memory_order_relaxed); }

 private:
  std::string LargePath(const Hash& hash) const;
  // Writes a large object's file (synced when durable_).
  absl::Status WriteLarge(const Hash& hash, std::string_view data);
  absl::StatusOr<std::string> ReadLarge(const Hash& hash) const;
  absl::Status SyncLargeDir();
  // Unlinks the files of `hashes` that have one.
  void UnlinkLarge(std::span<const Hash> hashes);

  // GetEncoded(), also giving the digest of the stored bytes when the index
  // has one.
  absl::StatusOr<StoredObject> Load(const Hash& hash, std::optional<Hash>* stored_digest) const;

  Db* db_;
  const bool durable_;
  const std::string large_dir_;
  const std::string trash_dir_;  // swept large files, until EmptyTrash()
  std::atomic<uint64_t> large_bytes_{0};
  std::atomic<uint64_t> next_temp_{0};
  std::atomic<bool> direct_ok_{true};  // false once the file system refused O_DIRECT
  // Shared by Ingest(), exclusive for Sweep().
  std::shared_mutex sweep_mu_;
  Mutex dir_mu_;
  bool dir_made_ ABSL_GUARDED_BY(dir_mu_) = false;
  std::unique_ptr<rocksdb::FSDirectory> dir_ ABSL_GUARDED_BY(dir_mu_);
};

}  // namespace vms

#endif  // VMS_CORE_OBJECT_STORE_H_
