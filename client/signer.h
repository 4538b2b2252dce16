// Signing what the master prepared (../shared/DESIGN.md, "Trust"). Under a
// root of trust, a push, flip or owners change is two calls that the user
// sees as one command: the master answers the first with the record it
// would write (`to_sign`); `vms` checks that it says what was asked, signs
// it with the caller's key (DIR/signing.key), and sends it back; the master
// checks the signature and sequences it. If something else was written in
// between (Aborted), it starts over, a few times.
#ifndef VMS_CLIENT_SIGNER_H_
#define VMS_CLIENT_SIGNER_H_

#include <functional>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "core/envelope.h"
#include "core/keys.h"
#include "core/trust.h"
#include "records.pb.h"

namespace vms {

// The caller's signing key, or an error saying how to get one.
absl::StatusOr<SigningKey> LoadSigningKey(const std::string& dir);

// `send(nullptr)`, then, if the response's to_sign() is set, `check` it,
// sign it with the key in `key_dir` and `send(&signed)`.
template <typename Response>
absl::StatusOr<Response> SignedCall(
    const std::string& key_dir,
    const std::function<absl::StatusOr<Response>(const Envelope* signed_env)>& send,
    const std::function<absl::Status(const Envelope& to_sign)>& check);

// ---- implementation ----

template <typename Response>
absl::StatusOr<Response> SignedCall(
    const std::string& key_dir,
    const std::function<absl::StatusOr<Response>(const Envelope* signed_env)>& send,
    const std::function<absl::Status(const Envelope& to_sign)>& check) {
  constexpr int kAttempts = 4;
  absl::Status last;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    auto prepared = send(nullptr);
    if (!prepared.ok() || !prepared->has_to_sign()) return prepared;
    absl::StatusOr<SigningKey> key = LoadSigningKey(key_dir);
    if (!key.ok()) return key.status();
    if (absl::Status s = check(prepared->to_sign()); !s.ok()) return s;
    Envelope signed_env = prepared->to_sign();
    signed_env.clear_signatures();
    AddSignature(&signed_env, *key);
    auto done = send(&signed_env);
    if (!absl::IsAborted(done.status())) return done;
    last = done.status();
  }
  return last;
}

}  // namespace vms

#endif  // VMS_CLIENT_SIGNER_H_
