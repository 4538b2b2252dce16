// The master's audit log: every write (push, live, rollback, owners, site
// removal), accepted or refused, with the authenticated principal, the
// outcome and the time (AuditEntry in records.proto).
//
// Families: audit (BE seq -> AuditEntry) and audit_app (app \0 BE seq -> ""),
// so one app's entries are a prefix scan. An accepted write's entry goes into
// the write's own synced batch (Add()); a refusal is written on its own
// without fsync (Append()): a refusal changes nothing, and a caller must not
// be able to make the master fsync at will.
//
// Refusals are what anyone can make by the thousand, so they can never push
// accepted actions out: they live in families of their own (audit_refused,
// audit_refused_app, with their own seqs) with their own window, and each
// principal gets a few stored (a burst of kRefusalBurst, then one per
// kRefusalEvery); the others are counted, and the next one stored says how
// many. The newest kMaxEntries accepted entries and kMaxRefusals refusals are
// kept. Thread-safe.
#ifndef VMS_SERVER_AUDIT_LOG_H_
#define VMS_SERVER_AUDIT_LOG_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
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
  static constexpr char kRefusedFamily[] = "audit_refused";
  static constexpr char kRefusedAppFamily[] = "audit_refused_app";
  // About 200 MB of entries: months of a busy company's writes.
  static constexpr uint64_t kMaxEntries = 1'000'000;
  static constexpr uint64_t kMaxRefusals = 200'000;
  static constexpr int kRefusalBurst = 20;
  static constexpr std::chrono::seconds kRefusalEvery{10};
  // Principals whose refusals are being counted; beyond, the ones with a
  // full allowance again are forgotten, then the newcomers share one.
  static constexpr size_t kMaxTracked = 10'000;
  // What one read returns at most.
  static constexpr size_t kMaxRead = 1000;

  // `db` was opened with kFamily and kAppFamily and outlives the log.
  static absl::StatusOr<std::unique_ptr<AuditLog>> Load(Db* db, Clock* clock);

  // Reads the newest seqs again, after entries were written from elsewhere
  // (a master group's log, server/master_group.h).
  absl::Status Reload();
  // Puts `entry` (its seq and time filled in here) into `batch`.
  void Add(rocksdb::WriteBatch* batch, AuditEntry entry);
  // A master group's node: Append() keeps every entry with the refusals
  // (this node's own), since the accepted ones are the group log's.
  void KeepAppendsLocal() { local_appends_ = true; }
  // Writes `entry` now, unsynced: a refusal (not allowed, or an outcome
  // other than "ok") only within its principal's allowance.
  absl::Status Append(AuditEntry entry);
  // Refusals counted and not stored, since the start.
  uint64_t unstored_refusals() const;

  // The newest `limit` entries (at most kMaxRead), newest first: of `app`, or
  // of every app when it is empty.
  absl::StatusOr<std::vector<AuditEntry>> Read(std::string_view app, size_t limit) const;

 private:
  AuditLog(Db* db, Clock* clock, uint64_t last, uint64_t last_refused, uint64_t order)
      : db_(db), clock_(clock), last_seq_(last), last_refused_(last_refused), last_order_(order) {}

  struct Allowance {
    double tokens = kRefusalBurst;
    Clock::TimePoint at;
    uint64_t unstored = 0;  // since the last one stored
  };
  // Whether a refusal of `principal` is stored now; *unstored the count
  // of its refusals not stored since the last one that was.
  bool MayStore(const std::string& principal, uint64_t* unstored)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void AddTo(rocksdb::WriteBatch* batch, AuditEntry entry, bool refused);
  absl::StatusOr<std::vector<AuditEntry>> ReadFrom(const char* family, const char* app_family,
                                                   std::string_view app, size_t limit) const;

  Db* db_;
  Clock* const clock_;
  std::atomic<bool> local_appends_{false};
  mutable Mutex mu_;
  uint64_t last_seq_ ABSL_GUARDED_BY(mu_);
  uint64_t last_refused_ ABSL_GUARDED_BY(mu_);
  uint64_t last_order_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Allowance> allowances_ ABSL_GUARDED_BY(mu_);
  uint64_t unstored_total_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace vms

#endif  // VMS_SERVER_AUDIT_LOG_H_
