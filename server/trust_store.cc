#include "server/trust_store.h"

#include "core/status_macros.h"
#include "core/strings.h"

namespace vms {

namespace {

constexpr char kTrustRootMeta[] = "trust.root";
constexpr char kTrustMeta[] = "trust";
constexpr char kCheckpointMeta[] = "checkpoint";

}  // namespace

absl::StatusOr<bool> TrustStore::Held() const {
  VMS_ASSIGN_OR_RETURN(auto first, records_->GetMeta(kTrustRootMeta));
  return first.has_value();
}

absl::StatusOr<TrustChain> TrustStore::Load(const std::optional<Root>& configured,
                                            int64_t now_ms) const {
  VMS_ASSIGN_OR_RETURN(auto first_bytes, records_->GetMeta(kTrustRootMeta));
  if (!first_bytes) {
    if (!configured) return absl::NotFoundError("no chain of trust is stored here");
    return TrustChain(*configured);
  }
  Envelope first;
  if (!first.ParseFromString(*first_bytes)) {
    return absl::DataLossError("the stored first root does not parse");
  }
  auto root = OpenRoot(first);
  if (!root.ok()) {
    return absl::DataLossError(StrCat("the stored first root: ", root.status().message()));
  }
  TrustChain chain(*std::move(root));
  VMS_ASSIGN_OR_RETURN(auto stored, records_->GetMeta(kTrustMeta));
  TrustSnapshot snapshot;
  if (stored && !snapshot.ParseFromString(*stored)) {
    return absl::DataLossError("the stored chain of trust does not parse");
  }
  VMS_ASSIGN_OR_RETURN(auto checkpoint, records_->GetMeta(kCheckpointMeta));
  if (checkpoint && !snapshot.mutable_checkpoint()->ParseFromString(*checkpoint)) {
    snapshot.clear_checkpoint();  // only a wait for the next one is lost
  }
  if (absl::Status s = chain.Restore(snapshot, now_ms); !s.ok()) {
    return absl::DataLossError(
        StrCat("the stored chain of trust no longer verifies: ", s.message()));
  }
  return chain;
}

absl::Status TrustStore::Put(rocksdb::WriteBatch* batch, const TrustChain& chain) {
  TrustSnapshot snapshot = chain.Snapshot();
  snapshot.clear_checkpoint();  // kept apart, unsynced
  records_->PutMeta(batch, kTrustMeta, snapshot.SerializeAsString());
  VMS_ASSIGN_OR_RETURN(bool held, Held());
  if (!held) {
    records_->PutMeta(batch, kTrustRootMeta, chain.first_root().envelope.SerializeAsString());
  }
  return absl::OkStatus();
}

absl::Status TrustStore::PutCheckpoint(const Envelope& checkpoint) {
  rocksdb::WriteBatch batch;
  records_->PutMeta(&batch, kCheckpointMeta, checkpoint.SerializeAsString());
  return records_->db()->Write(&batch, /*sync=*/false);
}

}  // namespace vms
