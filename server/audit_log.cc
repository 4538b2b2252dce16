#include "server/audit_log.h"

#include <algorithm>
#include <iterator>
#include <tuple>
#include <utility>

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

namespace {

// The newest entry's seq in `family` (0: none); *order the largest order
// seen so far and in it.
absl::StatusOr<uint64_t> LastSeq(Db* db, const char* family, uint64_t* order) {
  uint64_t last = 0;
  auto it = db->NewIterator(family);
  it->SeekToLast();
  if (it->Valid()) {
    AuditEntry e;
    if (!DecodeBigEndian64(it->key().ToStringView(), &last) ||
        !e.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      return absl::DataLossError(StrCat("the audit log (", family, ") has a malformed entry"));
    }
    *order = std::max(*order, e.order());
  }
  VMS_RETURN_IF_ERROR(FromRocks(it->status(), "read the audit log"));
  return last;
}

}  // namespace

absl::StatusOr<std::unique_ptr<AuditLog>> AuditLog::Load(Db* db, Clock* clock) {
  uint64_t order = 0;
  VMS_ASSIGN_OR_RETURN(uint64_t last, LastSeq(db, kFamily, &order));
  VMS_ASSIGN_OR_RETURN(uint64_t last_refused, LastSeq(db, kRefusedFamily, &order));
  return std::unique_ptr<AuditLog>(new AuditLog(db, clock, last, last_refused, order));
}

absl::Status AuditLog::Reload() {
  uint64_t order = 0;
  VMS_ASSIGN_OR_RETURN(uint64_t last, LastSeq(db_, kFamily, &order));
  VMS_ASSIGN_OR_RETURN(uint64_t last_refused, LastSeq(db_, kRefusedFamily, &order));
  MutexLock lock(&mu_);
  last_seq_ = std::max(last_seq_, last);
  last_refused_ = std::max(last_refused_, last_refused);
  last_order_ = std::max(last_order_, order);
  return absl::OkStatus();
}

void AuditLog::Add(rocksdb::WriteBatch* batch, AuditEntry entry) {
  AddTo(batch, std::move(entry), /*refused=*/false);
}

void AuditLog::AddTo(rocksdb::WriteBatch* batch, AuditEntry entry, bool refused) {
  const char* family = refused ? kRefusedFamily : kFamily;
  const char* app_family = refused ? kRefusedAppFamily : kAppFamily;
  const uint64_t kept = refused ? kMaxRefusals : kMaxEntries;
  uint64_t seq;
  {
    MutexLock lock(&mu_);
    seq = refused ? ++last_refused_ : ++last_seq_;
    entry.set_order(++last_order_);
  }
  entry.set_seq(seq);
  entry.set_unix_ms(clock_->WallMs());
  batch->Put(db_->Family(family), EncodeBigEndian64(seq), entry.SerializeAsString());
  batch->Put(db_->Family(app_family), AppKey(entry.app(), seq), "");
  if (seq > kept) {
    // One out for one in: the oldest kept entry goes (and its index key).
    const uint64_t old = seq - kept;
    auto value = db_->Get(family, EncodeBigEndian64(old));
    AuditEntry gone;
    if (value.ok() && value->has_value() && gone.ParseFromString(**value)) {
      batch->Delete(db_->Family(app_family), AppKey(gone.app(), old));
    }
    batch->Delete(db_->Family(family), EncodeBigEndian64(old));
  }
}

bool AuditLog::MayStore(const std::string& principal, uint64_t* unstored) {
  const Clock::TimePoint now = clock_->Now();
  const double per_second = 1.0 / static_cast<double>(kRefusalEvery.count());
  auto refill = [&](Allowance& a) {
    const double seconds = std::chrono::duration<double>(now - a.at).count();
    a.tokens = std::min<double>(kRefusalBurst, a.tokens + std::max(0.0, seconds) * per_second);
    a.at = now;
  };
  if (allowances_.size() >= kMaxTracked && !allowances_.contains(principal)) {
    for (auto it = allowances_.begin(); it != allowances_.end();) {
      refill(it->second);
      const bool idle = it->second.tokens >= kRefusalBurst && it->second.unstored == 0;
      it = idle ? allowances_.erase(it) : std::next(it);
    }
  }
  // Still full: newcomers share one allowance (a flood of principals cannot
  // grow the map).
  const std::string& key = allowances_.size() >= kMaxTracked && !allowances_.contains(principal)
                               ? std::string()
                               : principal;
  auto [it, fresh] = allowances_.try_emplace(key);
  Allowance& a = it->second;
  if (fresh) a.at = now;
  refill(a);
  if (a.tokens < 1) {
    ++a.unstored;
    ++unstored_total_;
    return false;
  }
  a.tokens -= 1;
  *unstored = std::exchange(a.unstored, 0);
  return true;
}

absl::Status AuditLog::Append(AuditEntry entry) {
  const bool refused = local_appends_ || !entry.allowed() || entry.outcome() != "ok";
  if (refused) {
    uint64_t unstored = 0;
    {
      MutexLock lock(&mu_);
      if (!MayStore(entry.principal(), &unstored)) return absl::OkStatus();
    }
    if (unstored > 0) {
      entry.set_outcome(StrCat(entry.outcome(), " (and ", unstored, " more refusal",
                               unstored == 1 ? "" : "s", " of ", entry.principal(),
                               " before this one, counted but not stored)"));
    }
  }
  rocksdb::WriteBatch batch;
  AddTo(&batch, std::move(entry), refused);
  return db_->Write(&batch, /*sync=*/false);
}

uint64_t AuditLog::unstored_refusals() const {
  MutexLock lock(&mu_);
  return unstored_total_;
}

absl::StatusOr<std::vector<AuditEntry>> AuditLog::Read(std::string_view app, size_t limit) const {
  limit = std::min(limit, kMaxRead);
  // The newest `limit` of each kind, then the newest `limit` of both.
  std::vector<AuditEntry> out;
  for (bool refused : {false, true}) {
    VMS_ASSIGN_OR_RETURN(auto some, ReadFrom(refused ? kRefusedFamily : kFamily,
                                             refused ? kRefusedAppFamily : kAppFamily, app, limit));
    std::move(some.begin(), some.end(), std::back_inserter(out));
  }
  std::sort(out.begin(), out.end(), [](const AuditEntry& a, const AuditEntry& b) {
    return std::tuple(a.order(), a.unix_ms(), a.seq()) >
           std::tuple(b.order(), b.unix_ms(), b.seq());
  });
  if (out.size() > limit) out.resize(limit);
  return out;
}

absl::StatusOr<std::vector<AuditEntry>> AuditLog::ReadFrom(const char* family,
                                                           const char* app_family,
                                                           std::string_view app,
                                                           size_t limit) const {
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
    auto it = db_->NewIterator(family);
    for (it->SeekToLast(); it->Valid() && out.size() < limit; it->Prev()) {
      VMS_RETURN_IF_ERROR(parse(it->value().ToStringView()));
    }
    VMS_RETURN_IF_ERROR(FromRocks(it->status(), "read the audit log"));
    return out;
  }
  const std::string prefix = AppKey(app, 0).substr(0, app.size() + 1);
  auto it = db_->NewIterator(app_family);
  for (it->SeekForPrev(AppKey(app, UINT64_MAX)); it->Valid() && out.size() < limit; it->Prev()) {
    std::string_view key = it->key().ToStringView();
    if (!key.starts_with(prefix)) break;
    uint64_t seq;
    if (!DecodeBigEndian64(key.substr(prefix.size()), &seq)) {
      return absl::DataLossError("the audit index has a malformed key");
    }
    VMS_ASSIGN_OR_RETURN(auto value, db_->Get(family, EncodeBigEndian64(seq)));
    if (value) VMS_RETURN_IF_ERROR(parse(*value));
  }
  VMS_RETURN_IF_ERROR(FromRocks(it->status(), "read the audit index"));
  return out;
}

}  // namespace vms
