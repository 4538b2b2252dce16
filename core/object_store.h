// Content-addressed object store on RocksDB.
//
// Three families: "objects" maps hash -> [codec byte][encoded bytes],
// "objidx" maps hash -> varint(raw size) [+ SHA-256 of the encoded bytes
// when compressed], and "complete" maps the hash of a
// tree whose whole closure is known present and valid -> its totals. The
// index is tiny, so existence and size checks never read object bytes; the
// complete set lets a closure walk skip every subtree a release already
// proved, so work scales with what changed, not with the tree. An object enters only through
// Ingest(), which decodes it and checks its hash first; it leaves through
// GetEncoded() (to serve as stored) or GetRaw() (decoded and re-verified, so
// corruption on disk is detected, never passed on). Thread-safe.
#ifndef VMS_CORE_OBJECT_STORE_H_
#define VMS_CORE_OBJECT_STORE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/codec.h"
#include "core/db.h"
#include "core/hash.h"

namespace vms {

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
  explicit ObjectStore(Db* db) : db_(db) {}

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

 private:
  // GetEncoded(), also giving the digest of the stored bytes when the index
  // has one.
  absl::StatusOr<StoredObject> Load(const Hash& hash, std::optional<Hash>* stored_digest) const;

  Db* db_;
};

}  // namespace vms

#endif  // VMS_CORE_OBJECT_STORE_H_
