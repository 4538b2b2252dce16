// Where a master or a replica keeps its chain of trust (core/chain.h), in
// its record store, so that both restore it the same way:
//   "trust.root"  the first root it was given: what the chain is restored
//                 on top of (a newer root.pub given later is one it holds)
//   "trust"       every record accepted since (TrustSnapshot), written in
//                 the batch of the event that changed it
//   "checkpoint"  the newest checkpoint, not synced: losing it only means
//                 waiting for the next one
// The chain decides what is accepted; this only stores and restores it.
#ifndef VMS_SERVER_TRUST_STORE_H_
#define VMS_SERVER_TRUST_STORE_H_

#include <cstdint>
#include <optional>

#include "absl/status/statusor.h"
#include "core/chain.h"
#include "rocksdb/write_batch.h"
#include "server/record_store.h"

namespace vms {

class TrustStore {
 public:
  explicit TrustStore(RecordStore* records) : records_(records) {}

  // The chain held: what is stored, replayed on top of the stored first
  // root; with nothing stored, a chain from `configured` (none:
  // NotFound). DataLoss naming what no longer parses or verifies (a stored
  // checkpoint that does not is dropped instead).
  absl::StatusOr<TrustChain> Load(const std::optional<Root>& configured, int64_t now_ms) const;
  // Whether a chain has ever been stored here.
  absl::StatusOr<bool> Held() const;

  // `chain` as it is now, into `batch` (committed with the event).
  absl::Status Put(rocksdb::WriteBatch* batch, const TrustChain& chain);
  // The newest checkpoint, written at once and not synced.
  absl::Status PutCheckpoint(const Envelope& checkpoint);

 private:
  RecordStore* records_;
};

}  // namespace vms

#endif  // VMS_SERVER_TRUST_STORE_H_
