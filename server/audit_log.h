// The master's audit log: every write (push, live, rollback, owners, site
// removal), accepted or refused, with the authenticated principal, the
// outcome and the time (AuditEntry in records.proto).
//
// Families: audit (BE seq -> AuditEntry) and audit_app (app \0 BE seq -> ""),
// so one app's entries are a prefix scan. An accepted write's entry goes into
// the write's own synced batch (Add()); a refusal is written on its own
// without fsync (Append()): a refusal changes nothing, and a caller must not
// be able to make the master fsync at will. The newest kMaxEntries are kept.
// Thread-safe.
#ifndef VMS_SERVER_AUDIT_LOG_H_
#define VMS_SERVER_AUDIT_LOG_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/clock.h"
#include "core/db.h"
#include "core/sync.h"
#include "records.pb.h"

namespace vms {

class AuditLog {
 public:
  static constexpr char kFamily[] = "audit";
  static constexpr char kAppFamily[] = "audit_app";
  // About 200 MB of entries: months of a busy company's writes.
  static constexpr uint64_t kMaxEntries = 1'000'000;
  // What one read returns at most.
  static constexpr size_t kMaxRead = 1000;

  // `db` was opened with kFamily and kAppFamily and outlives the log.
  static absl::StatusOr<std::unique_ptr<AuditLog>> Load(Db* db, Clock* clock);

  // Puts `entry` (its seq and time filled in here) into `batch`.
  void Add(rocksdb::WriteBatch* batch, AuditEntry entry);
  // Writes `entry` now, unsynced.
  absl::Status Append(AuditEntry entry);

  // The newest `limit` entries (at most kMaxRead), newest first: of `app`, or
  // of every app when it is empty.
  absl::StatusOr<std::vector<AuditEntry>> Read(std::string_view app, size_t limit) const;

 private:
  AuditLog(Db* db, Clock* clock, uint64_t last) : db_(db), clock_(clock), last_seq_(last) {}

  Db* db_;
  Clock* const clock_;
  Mutex mu_;
  uint64_t last_seq_ ABSL_GUARDED_BY(mu_);
};

}  // namespace vms

#endif  // VMS_SERVER_AUDIT_LOG_H_
