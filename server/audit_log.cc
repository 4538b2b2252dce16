#include "server/audit_log.h"

#include "core/coding.h"
#include "core/status_macros.h"
#include "core/strings.h"
#include "rocksdb/db.h"

namespace vms {

namespace {

std::string AppKey(std::string_view app, uint64_t seq) {
  return StrCat(app, std::string_view("\0", 1), EncodeBigEndian64(seq));
}

}  // namespace

absl::StatusOr<std::unique_ptr<AuditLog>> AuditLog::Load(Db* db, Clock* clock) {
  uint64_t last = 0;
  auto it = db->NewIterator(kFamily);
  it->SeekToLast();
  if (it->Valid() && !DecodeBigEndian64(it->key().ToStringView(), &last)) {
    return absl::DataLossError("the audit log has a malformed key");
  }
  VMS_RETURN_IF_ERROR(FromRocks(it->status(), "read the audit log"));
  return std::unique_ptr<AuditLog>(new AuditLog(db, clock, last));
}

void AuditLog::Add(rocksdb::WriteBatch* batch, AuditEntry entry) {
  uint64_t seq;
  {
    MutexLock lock(&mu_);
    seq = ++last_seq_;
  }
  entry.set_seq(seq);
  entry.set_unix_ms(clock_->WallMs());
  batch->Put(db_->Family(kFamily), EncodeBigEndian64(seq), entry.SerializeAsString());
  batch->Put(db_->Family(kAppFamily), AppKey(entry.app(), seq), "");
  if (seq > kMaxEntries) {
    // One out for one in: the oldest kept entry goes (and its index key).
    const uint64_t old = seq - kMaxEntries;
    auto value = db_->Get(kFamily, EncodeBigEndian64(old));
    AuditEntry gone;
    if (value.ok() && value->has_value() && gone.ParseFromString(**value)) {
      batch->Delete(db_->Family(kAppFamily), AppKey(gone.app(), old));
    }
    batch->Delete(db_->Family(kFamily), EncodeBigEndian64(old));
  }
}

absl::Status AuditLog::Append(AuditEntry entry) {
  rocksdb::WriteBatch batch;
  Add(&batch, std::move(entry));
  return db_->Write(&batch, /*sync=*/false);
}

absl::StatusOr<std::vector<AuditEntry>> AuditLog::Read(std::string_view app, size_t limit) const {
  limit = std::min(limit, kMaxRead);
  std::vector<AuditEntry> out;
  auto parse = [&](std::string_view value) -> absl::Status {
    AuditEntry e;
    if (!e.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
      return absl::DataLossError("an audit entry does not parse");
    }
    out.push_back(std::move(e));
    return absl::OkStatus();
  };
  if (app.empty()) {
    auto it = db_->NewIterator(kFamily);
    for (it->SeekToLast(); it->Valid() && out.size() < limit; it->Prev()) {
      VMS_RETURN_IF_ERROR(parse(it->value().ToStringView()));
    }
    VMS_RETURN_IF_ERROR(FromRocks(it->status(), "read the audit log"));
    return out;
  }
  const std::string prefix = AppKey(app, 0).substr(0, app.size() + 1);
  auto it = db_->NewIterator(kAppFamily);
  for (it->SeekForPrev(AppKey(app, UINT64_MAX)); it->Valid() && out.size() < limit; it->Prev()) {
    std::string_view key = it->key().ToStringView();
    if (!key.starts_with(prefix)) break;
    uint64_t seq;
    if (!DecodeBigEndian64(key.substr(prefix.size()), &seq)) {
      return absl::DataLossError("the audit index has a malformed key");
    }
    VMS_ASSIGN_OR_RETURN(auto value, db_->Get(kFamily, EncodeBigEndian64(seq)));
    if (value) VMS_RETURN_IF_ERROR(parse(*value));
  }
  VMS_RETURN_IF_ERROR(FromRocks(it->status(), "read the audit index"));
  return out;
}

}  // namespace vms
