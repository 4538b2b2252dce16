#include "core/live_verifier.h"

#include "core/envelope.h"
#include "core/names.h"
#include "core/status_macros.h"
#include "core/strings.h"

namespace vms {

absl::StatusOr<LiveRecord> LiveVerifier::Accept(const Envelope& env) {
  auto record = OpenLiveRecord(env, key_);
  if (!record.ok()) return record.status();
  VMS_RETURN_IF_ERROR(ValidateAppName(record->app()));
  VMS_RETURN_IF_ERROR(ValidateVersionName(record->version()));
  uint64_t last = highest(record->app());
  if (record->live_seq() <= last) {
    return absl::FailedPreconditionError(
        StrCat("stale live record for ", record->app(), ": live_seq ", record->live_seq(),
               " is not above ", last, ", already accepted (replayed or out of order)"));
  }
  highest_[record->app()] = record->live_seq();
  return record;
}

uint64_t LiveVerifier::highest(const std::string& app) const {
  auto it = highest_.find(app);
  return it == highest_.end() ? 0 : it->second;
}

}  // namespace vms
