#include "core/envelope.h"

#include "core/status_macros.h"
#include "core/strings.h"

namespace vms {

std::string PreAuthEncoding(std::string_view type, std::string_view payload) {
  return StrCat("VMSv1 ", type.size(), " ", type, " ", payload.size(), " ", payload);
}

Envelope SignEnvelope(std::string_view type, std::string payload, const SigningKey& key) {
  Envelope env;
  env.set_payload_type(std::string(type));
  Signature* sig = env.add_signatures();
  sig->set_keyid(key.public_key().keyid());
  sig->set_sig(key.Sign(PreAuthEncoding(type, payload)));
  env.set_payload(std::move(payload));
  return env;
}

absl::Status VerifyEnvelope(const Envelope& env, std::string_view type, const PublicKey& key) {
  if (env.payload_type() != type) {
    return absl::UnauthenticatedError(
        StrCat("record has type \"", env.payload_type(), "\", expected \"", type, "\""));
  }
  bool found = false;
  for (const Signature& sig : env.signatures()) {
    if (sig.keyid() != key.keyid()) continue;
    found = true;
    if (key.Verify(PreAuthEncoding(env.payload_type(), env.payload()), sig.sig())) {
      return absl::OkStatus();
    }
  }
  if (!found) {
    return absl::UnauthenticatedError(
        StrCat("record is not signed by the trusted key ", key.keyid().substr(0, 16)));
  }
  return absl::UnauthenticatedError("record signature does not verify: altered or forged");
}

namespace {
template <typename T>
absl::StatusOr<T> Parse(const Envelope& env, std::string_view type, std::string_view what) {
  if (env.payload_type() != type) {
    return absl::DataLossError(StrCat("envelope holds \"", env.payload_type(), "\", not a ", what));
  }
  T record;
  if (!record.ParseFromString(env.payload())) {
    return absl::DataLossError(StrCat("signed ", what, " does not parse"));
  }
  return record;
}
}  // namespace

absl::StatusOr<Release> ParseRelease(const Envelope& env) {
  return Parse<Release>(env, kReleaseType, "release");
}

absl::StatusOr<LiveRecord> ParseLiveRecord(const Envelope& env) {
  return Parse<LiveRecord>(env, kLiveType, "live record");
}

absl::StatusOr<Release> OpenRelease(const Envelope& env, const PublicKey& key) {
  VMS_RETURN_IF_ERROR(VerifyEnvelope(env, kReleaseType, key));
  return ParseRelease(env);
}

absl::StatusOr<LiveRecord> OpenLiveRecord(const Envelope& env, const PublicKey& key) {
  VMS_RETURN_IF_ERROR(VerifyEnvelope(env, kLiveType, key));
  return ParseLiveRecord(env);
}

}  // namespace vms
