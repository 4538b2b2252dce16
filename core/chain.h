// The chain of trust (../shared/DESIGN.md, "Trust"): root -> keyring ->
// ownership -> an app's releases and live records, and the master's
// checkpoints. Every replica and host holds one TrustChain, started from the
// root it is configured with (`--trust root.pub`), fed the trust records of
// the master's log in log order, and asked about every release and live
// record before anything is stored. The master holds one too, to refuse what
// would be refused downstream.
//
// Rules:
//  - A root of version N+1 is signed by a threshold of root N and of itself.
//  - A keyring names the root version that signs it, which must be the one
//    held now; its version only goes up.
//  - An app's ownership records come in order (1, 2, ...), each signed by an
//    admin key of the keyring held now, which it names.
//  - A release or live record names the ownership record its signers are
//    owners in and carries signatures of a threshold of its owners (each
//    principal counted once, whatever keys it has)
//    (the master's own signature counts for nothing). Checked in log order
//    (kCurrent), that record must be the app's newest: a key removed from
//    the owners signs nothing new, while what it signed before stays valid.
//    Read back later (kHeld), any ownership record held will do, but the
//    next one says up to which live_seq / release number the old owners
//    signed (OwnershipRecord.live_seq_at): one numbered above is refused.
//  - A checkpoint is signed by the keyring's master key and is newer than
//    the one held; an old one replayed is refused, and so is one issued
//    further ahead of the verifier's clock than kMaxCheckpointAheadMs (a
//    master clock stepped ahead, or a stolen key, would otherwise switch
//    freeze detection off until that date).
// Expiry (TUF's, for records that stay in a log): a root and a keyring may
// carry expires_unix_ms. A keyring issued after its root expired is refused;
// an ownership record or checkpoint issued after its keyring expired is
// refused, so a keyring nobody renews stops vouching for anything new (and
// hosts show the master as frozen) while everything signed before stays
// valid. ExpiryWarnings() says so from kExpiryWarningMs before.
// Seqs and versions only go up; a record equal to any held is a no-op, a
// different one at the same number, or an older one, is refused. One update
// method per kind of record holds its rules; a refused record changes
// nothing. Not thread-safe: the caller serialises access.
#ifndef VMS_CORE_CHAIN_H_
#define VMS_CORE_CHAIN_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "core/keys.h"
#include "core/trust.h"
#include "records.pb.h"

namespace vms {

inline constexpr std::string_view kKeyringType = "application/vnd.vms.keyring+pb";
inline constexpr std::string_view kOwnershipType = "application/vnd.vms.ownership+pb";
inline constexpr std::string_view kCheckpointType = "application/vnd.vms.checkpoint+pb";

// Bounds on what one record may list.
inline constexpr size_t kMaxAdminKeys = 64;
inline constexpr size_t kMaxOwnerKeys = 64;

// How far ahead of the verifier's clock a checkpoint may be issued.
inline constexpr int64_t kMaxCheckpointAheadMs = 10 * 60 * 1000;
// How long before a root or keyring expires it is shown as expiring.
inline constexpr int64_t kExpiryWarningMs = 30LL * 24 * 3600 * 1000;

// Whether `type` is a root, keyring or ownership record (an Event
// TRUST_CHANGED carries one).
bool IsTrustRecordType(std::string_view type);

struct Ownership {
  OwnershipRecord record;
  std::vector<PublicKey> keys;  // one per owner entry, in order
};

// How many of `o`'s owners (principals, each counted once whatever keys
// they have) validly signed `env`.
size_t OwnersSigned(const Envelope& env, const Ownership& o);

struct CheckpointState {
  bool held = false;
  Checkpoint checkpoint;
  bool fresh = false;  // held and not expired at `now`
};

// What TrustChain::ExpiryWarnings says, for a root and keyring (null: none).
std::vector<std::string> ExpiryWarnings(const RootRecord& root, const KeyringRecord* keyring,
                                        int64_t now_ms);

class TrustChain {
 public:
  explicit TrustChain(Root root);
  // Before a root of trust: every release and live record is the master's,
  // signed by `master_key`; trust records are ignored (Accept() says false).
  static TrustChain MasterKeyOnly(PublicKey master_key);
  bool chained() const { return !master_only_; }

  // A root, keyring or ownership record, next in log order: the update
  // method of its kind. true: accepted; false: identical to one held
  // (nothing changes; a watch sends the whole chain again). Else
  // Unauthenticated for a bad or missing signature, FailedPrecondition for
  // an old, expired or out-of-order one, InvalidArgument for a malformed
  // one; nothing changes on error.
  absl::StatusOr<bool> Accept(const Envelope& env);
  absl::StatusOr<bool> AcceptRoot(const Envelope& env);
  absl::StatusOr<bool> AcceptKeyring(const Envelope& env);
  absl::StatusOr<bool> AcceptOwnership(const Envelope& env);

  enum class Order {
    kCurrent,  // arriving in log order: must be signed under the newest ownership
    kHeld,     // read back later: any ownership record held
  };
  absl::StatusOr<Release> VerifyRelease(const Envelope& env, Order order) const;
  // Only the chain and the signatures: the caller checks that live_seq
  // goes up.
  absl::StatusOr<LiveRecord> VerifyLive(const Envelope& env, Order order) const;

  // true: newer than the one held (now held); false: the same one.
  // Unauthenticated if not signed by the master key; FailedPrecondition for
  // an older one (a replay), one issued more than kMaxCheckpointAheadMs
  // after `now_ms`, or one issued after the keyring expired.
  absl::StatusOr<bool> AcceptCheckpoint(const Envelope& env, int64_t now_ms);
  CheckpointState checkpoint(int64_t now_ms) const;
  const std::optional<Envelope>& checkpoint_envelope() const { return checkpoint_env_; }

  // Everything accepted, to persist; Restore() replays it into a chain
  // started from the same configured root. A record that no longer verifies
  // ends the replay (what came before stays). A stored checkpoint that is
  // refused now (issued ahead of `now_ms`) is dropped: only the wait for
  // the next one is lost.
  TrustSnapshot Snapshot() const;
  absl::Status Restore(const TrustSnapshot& snapshot, int64_t now_ms);

  // The newest root's and keyring's expiry, said for people when it is
  // less than kExpiryWarningMs after `now_ms` or has passed, with what to
  // do ("the keyring (version 2) expires on ...: sign the next one with
  // vms-admin keyring"). Empty when nothing is near.
  std::vector<std::string> ExpiryWarnings(int64_t now_ms) const {
    if (!chained()) return {};
    return vms::ExpiryWarnings(root().record, keyring(), now_ms);
  }

  // The newest root held, and the one the chain started from (chained()
  // only).
  const Root& root() const { return roots_.rbegin()->second; }
  const Root& first_root() const { return roots_.begin()->second; }
  const KeyringRecord* keyring() const;
  std::optional<PublicKey> master_key() const;
  bool IsAdminKey(const std::string& keyid) const;
  // The app's newest ownership record, or null.
  const Ownership* ownership(const std::string& app) const;
  const Envelope* ownership_envelope(const std::string& app) const;
  // Every record accepted, in order.
  const std::vector<Envelope>& records() const { return log_; }

  // Who a key is, for messages: "owner vms://user/alice of alpha",
  // "the master key", "admin key", "root key", or "unknown key".
  std::string DescribeKey(const std::string& keyid, const std::string& app) const;
  // Every key that signed `env`, described ("owner vms://user/alice of
  // alpha ab12cd34ef567890, the master key ..."); a signature that does not
  // verify under the key it names is said to be one ("... (invalid
  // signature)"), never counted as that key's.
  std::string Signers(const Envelope& env, const std::string& app) const;

 private:
  TrustChain() = default;
  struct Keyring {
    KeyringRecord record;
    std::vector<PublicKey> admins;
    PublicKey master;
  };
  // The key `keyid` names among those held for `app` (owners, past and
  // present), the keyring's and the roots'; null if none.
  const PublicKey* FindKey(const std::string& keyid, const std::string& app) const;
  template <typename T>
  absl::StatusOr<T> VerifyOwned(const Envelope& env, std::string_view type, std::string_view what,
                                Order order) const;

  std::optional<PublicKey> master_only_;
  std::map<uint64_t, Root> roots_;
  std::map<uint64_t, Keyring> keyrings_;
  std::map<std::string, std::map<uint64_t, std::pair<Ownership, Envelope>>> owners_;
  std::vector<Envelope> log_;
  std::optional<Envelope> checkpoint_env_;
  Checkpoint checkpoint_;
};

// What `--trust FILE` names: a root (root.pub, from vms-admin root init),
// or, before a root of trust, the master's public key (master.pub).
absl::StatusOr<TrustChain> LoadTrust(const std::string& path);

}  // namespace vms

#endif  // VMS_CORE_CHAIN_H_
