// Accepts live records the way every replica and host must: signed by the
// trusted key, about the expected app, and with a live_seq higher than any
// already accepted for that app, so a record replayed later is refused.
//
// Not thread-safe; callers serialise Accept() (one per follower). The
// accepted seqs are plain state the caller persists (seqs()/Restore()).
#ifndef VMS_CORE_LIVE_VERIFIER_H_
#define VMS_CORE_LIVE_VERIFIER_H_

#include <cstdint>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "core/keys.h"
#include "records.pb.h"

namespace vms {

class LiveVerifier {
 public:
  explicit LiveVerifier(PublicKey key) : key_(std::move(key)) {}

  // The record if it verifies and is newer than the last one accepted for
  // its app (which it then becomes). Unauthenticated for a bad signature;
  // FailedPrecondition for a stale or replayed seq. Nothing changes on error.
  absl::StatusOr<LiveRecord> Accept(const Envelope& env);

  uint64_t highest(const std::string& app) const;
  const std::map<std::string, uint64_t>& seqs() const { return highest_; }
  void Restore(std::map<std::string, uint64_t> seqs) { highest_ = std::move(seqs); }

 private:
  PublicKey key_;
  std::map<std::string, uint64_t> highest_;
};

}  // namespace vms

#endif  // VMS_CORE_LIVE_VERIFIER_H_
