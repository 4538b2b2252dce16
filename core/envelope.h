// Signed envelopes: how releases and live records travel and are stored.
//
// An envelope carries a payload type, the payload bytes exactly as the issuer
// serialised them, and a list of signatures. Each signature is Ed25519 over
// PAE(type, payload) = "VMSv1" SP len(type) SP type SP len(payload) SP payload
// (decimal lengths, as in DSSE), so a payload can never be re-read as another
// type and nothing is ever re-serialised before it is checked. The list leaves
// room for owner keys and thresholds later without a format change.
#ifndef VMS_CORE_ENVELOPE_H_
#define VMS_CORE_ENVELOPE_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "core/keys.h"
#include "records.pb.h"

namespace vms {

inline constexpr std::string_view kReleaseType = "application/vnd.vms.release+pb";
inline constexpr std::string_view kLiveType = "application/vnd.vms.live+pb";

std::string PreAuthEncoding(std::string_view type, std::string_view payload);

Envelope SignEnvelope(std::string_view type, std::string payload, const SigningKey& key);

// OK iff `env` has type `type` and a valid signature by `key`. Fails with
// Unauthenticated naming what is wrong (no signature by that key, a bad one).
absl::Status VerifyEnvelope(const Envelope& env, std::string_view type, const PublicKey& key);

// Verifies, then parses the payload. DataLoss if the signed bytes do not parse.
absl::StatusOr<Release> OpenRelease(const Envelope& env, const PublicKey& key);
absl::StatusOr<LiveRecord> OpenLiveRecord(const Envelope& env, const PublicKey& key);

// Parses the payload without checking signatures: only for data the caller
// already verified (e.g. its own store, where records were checked on entry).
absl::StatusOr<Release> ParseRelease(const Envelope& env);
absl::StatusOr<LiveRecord> ParseLiveRecord(const Envelope& env);

}  // namespace vms

#endif  // VMS_CORE_ENVELOPE_H_
