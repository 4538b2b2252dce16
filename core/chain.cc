#include "core/chain.h"

#include <set>

#include "core/clock.h"
#include "core/envelope.h"
#include "core/file_util.h"
#include "core/hash.h"
#include "core/names.h"
#include "core/principal.h"
#include "core/status_macros.h"
#include "core/strings.h"

namespace vms {

namespace {

bool SameRecord(const Envelope& a, const Envelope& b) {
  return a.payload_type() == b.payload_type() && a.payload() == b.payload();
}

absl::Status Stale(std::string_view what, uint64_t got, uint64_t held) {
  return absl::FailedPreconditionError(
      StrCat(what, " ", got, " is older than ", held, ", held here (an old record replayed?)"));
}

absl::StatusOr<std::vector<PublicKey>> ParseKeys(
    const google::protobuf::RepeatedPtrField<std::string>& pems, std::string_view what) {
  std::vector<PublicKey> keys;
  for (int i = 0; i < pems.size(); ++i) {
    auto key = PublicKey::FromPem(pems[i]);
    if (!key.ok())
      return absl::InvalidArgumentError(StrCat(what, " #", i, ": ", key.status().message()));
    keys.push_back(*std::move(key));
  }
  return keys;
}

constexpr std::string_view kRenewKeyring =
    "sign the next keyring (vms-admin keyring --previous OLD) and give it to vms-master "
    "--keyring";

// Refuses `what`, issued at `issued`, when `signer` expired before (expires
// 0: never).
absl::Status IssuedBefore(const std::string& what, int64_t issued, const std::string& signer,
                          int64_t expires, std::string_view todo) {
  if (expires == 0 || issued <= expires) return absl::OkStatus();
  return absl::FailedPreconditionError(StrCat(what, " is issued at ", IsoTime(issued), ", after ",
                                              signer, " expired at ", IsoTime(expires), ": ",
                                              todo));
}

uint64_t RecordSeq(const Release& r) { return r.release_seq(); }
uint64_t RecordSeq(const LiveRecord& r) { return r.live_seq(); }
uint64_t RecordSeqAt(const Release&, const OwnershipRecord& o) { return o.release_seq_at(); }
uint64_t RecordSeqAt(const LiveRecord&, const OwnershipRecord& o) { return o.live_seq_at(); }

}  // namespace

size_t OwnersSigned(const Envelope& env, const Ownership& o) {
  std::set<std::string> principals;
  for (size_t i = 0; i < o.keys.size(); ++i) {
    const std::string& who = o.record.owners(static_cast<int>(i)).principal();
    if (!principals.contains(who) && ValidSignatures(env, {o.keys[i]}) > 0) principals.insert(who);
  }
  return principals.size();
}

bool IsTrustRecordType(std::string_view type) {
  return type == kRootType || type == kKeyringType || type == kOwnershipType;
}

TrustChain::TrustChain(Root root) {
  uint64_t v = root.record.version();
  roots_.emplace(v, std::move(root));
}

TrustChain TrustChain::MasterKeyOnly(PublicKey master_key) {
  TrustChain chain;
  chain.master_only_ = std::move(master_key);
  return chain;
}

absl::StatusOr<TrustChain> LoadTrust(const std::string& path) {
  auto text = ReadFile(path);
  if (!text.ok()) return text.status();
  if (text->find("-----BEGIN VMS ROOT-----") != std::string::npos) {
    VMS_ASSIGN_OR_RETURN(Root root, LoadRoot(path));
    return TrustChain(std::move(root));
  }
  auto key = PublicKey::FromPem(*text);
  if (!key.ok()) {
    return absl::InvalidArgumentError(
        StrCat(path,
               " is neither a root of trust (root.pub, from vms-admin root init) nor the "
               "master's public key (master.pub): ",
               key.status().message()));
  }
  return TrustChain::MasterKeyOnly(*std::move(key));
}

absl::StatusOr<bool> TrustChain::Accept(const Envelope& env) {
  if (env.payload_type() == kRootType) return AcceptRoot(env);
  if (env.payload_type() == kKeyringType) return AcceptKeyring(env);
  if (env.payload_type() == kOwnershipType) return AcceptOwnership(env);
  return absl::InvalidArgumentError(
      StrCat("not a trust record (type ", Quote(env.payload_type()), ")"));
}

absl::StatusOr<bool> TrustChain::AcceptRoot(const Envelope& env) {
  if (master_only_) return false;
  VMS_ASSIGN_OR_RETURN(Root next, OpenRoot(env));
  const Root& held = root();
  uint64_t v = next.record.version();
  if (v <= held.record.version()) {
    auto it = roots_.find(v);
    if (it != roots_.end() && it->second.record.SerializeAsString() == env.payload()) {
      return false;
    }
    return Stale("root version", v, held.record.version());
  }
  if (v != held.record.version() + 1) {
    return absl::FailedPreconditionError(
        StrCat("root version ", v, " skips versions after ", held.record.version(), ", held here"));
  }
  size_t old_signers = ValidSignatures(env, held.keys);
  if (old_signers < held.record.threshold()) {
    return absl::UnauthenticatedError(StrCat(
        "root version ", v, " is signed by ", old_signers, " keys of root version ",
        held.record.version(), "; a new root takes ", held.record.threshold(), " of the old keys"));
  }
  roots_.emplace(v, std::move(next));
  log_.push_back(env);
  return true;
}

absl::StatusOr<bool> TrustChain::AcceptKeyring(const Envelope& env) {
  if (master_only_) return false;
  KeyringRecord r;
  if (!r.ParseFromString(env.payload())) {
    return absl::InvalidArgumentError("the keyring does not parse");
  }
  if (!keyrings_.empty()) {
    const auto& [held_v, held] = *keyrings_.rbegin();
    if (r.version() <= held_v) {
      auto it = keyrings_.find(r.version());
      if (it != keyrings_.end() && it->second.record.SerializeAsString() == env.payload()) {
        return false;
      }
      return Stale("keyring version", r.version(), held_v);
    }
  }
  const Root& signer = root();
  if (r.root_version() != signer.record.version()) {
    return absl::FailedPreconditionError(
        StrCat("keyring version ", r.version(), " names root version ", r.root_version(),
               " but the root held here is version ", signer.record.version()));
  }
  size_t valid = ValidSignatures(env, signer.keys);
  if (valid < signer.record.threshold()) {
    return absl::UnauthenticatedError(
        StrCat("keyring version ", r.version(), " is signed by ", valid, " root keys; it takes ",
               signer.record.threshold(), " (", Signers(env, ""), ")"));
  }
  VMS_RETURN_IF_ERROR(IssuedBefore(StrCat("keyring version ", r.version()), r.issued_unix_ms(),
                                   StrCat("root version ", signer.record.version()),
                                   signer.record.expires_unix_ms(),
                                   "rotate the root (vms-admin root rotate), then sign the "
                                   "keyring with the new one"));
  if (r.admin_keys_size() == 0 || static_cast<size_t>(r.admin_keys_size()) > kMaxAdminKeys) {
    return absl::InvalidArgumentError(StrCat("a keyring has 1 to ", kMaxAdminKeys,
                                             " admin keys, this one ", r.admin_keys_size()));
  }
  VMS_ASSIGN_OR_RETURN(auto admins, ParseKeys(r.admin_keys(), "keyring admin key"));
  auto master = PublicKey::FromPem(r.master_key());
  if (!master.ok()) {
    return absl::InvalidArgumentError(StrCat("keyring master key: ", master.status().message()));
  }
  uint64_t v = r.version();
  keyrings_.emplace(v, Keyring{std::move(r), std::move(admins), *std::move(master)});
  log_.push_back(env);
  return true;
}

absl::StatusOr<bool> TrustChain::AcceptOwnership(const Envelope& env) {
  if (master_only_) return false;
  OwnershipRecord r;
  if (!r.ParseFromString(env.payload())) {
    return absl::InvalidArgumentError("an ownership record does not parse");
  }
  VMS_RETURN_IF_ERROR(ValidateAppName(r.app()));
  // Read only until the record is accepted: a refused one changes nothing
  // (not even an empty history for a new app).
  auto found = owners_.find(r.app());
  const uint64_t held =
      found == owners_.end() || found->second.empty() ? 0 : found->second.rbegin()->first;
  if (r.ownership_seq() == 0) {
    return absl::InvalidArgumentError(
        StrCat("ownership record 0 of ", r.app(), ": ownership records are numbered from 1"));
  }
  if (r.ownership_seq() <= held) {
    auto it = found->second.find(r.ownership_seq());
    if (it != found->second.end() && SameRecord(it->second.second, env)) return false;
    return Stale(StrCat("ownership record of ", r.app()), r.ownership_seq(), held);
  }
  if (r.ownership_seq() != held + 1) {
    return absl::FailedPreconditionError(StrCat("ownership record ", r.ownership_seq(), " of ",
                                                r.app(), " skips records after ", held));
  }
  const KeyringRecord* ring = keyring();
  if (ring == nullptr) {
    return absl::FailedPreconditionError(
        StrCat("ownership record of ", r.app(), " arrived before any keyring"));
  }
  if (r.keyring_version() != ring->version()) {
    return absl::FailedPreconditionError(
        StrCat("ownership record ", r.ownership_seq(), " of ", r.app(), " names keyring version ",
               r.keyring_version(), " but the keyring held here is version ", ring->version()));
  }
  if (ValidSignatures(env, keyrings_.rbegin()->second.admins) == 0) {
    return absl::UnauthenticatedError(StrCat("ownership record ", r.ownership_seq(), " of ",
                                             r.app(), " is not signed by an admin key (",
                                             Signers(env, r.app()), ")"));
  }
  VMS_RETURN_IF_ERROR(IssuedBefore(StrCat("ownership record ", r.ownership_seq(), " of ", r.app()),
                                   r.issued_unix_ms(), StrCat("keyring version ", ring->version()),
                                   ring->expires_unix_ms(), kRenewKeyring));
  if (r.owners_size() == 0 || static_cast<size_t>(r.owners_size()) > kMaxOwnerKeys) {
    return absl::InvalidArgumentError(StrCat("an ownership record has 1 to ", kMaxOwnerKeys,
                                             " owner keys, this one ", r.owners_size()));
  }
  Ownership o;
  std::set<std::string> ids, principals;
  for (const OwnerKey& owner : r.owners()) {
    principals.insert(owner.principal());
    absl::Status s = ParsePrincipal(owner.principal()).status();
    auto key = PublicKey::FromPem(owner.key());
    if (s.ok() && !key.ok()) s = key.status();
    if (!s.ok()) {
      return absl::InvalidArgumentError(StrCat("ownership record ", r.ownership_seq(), " of ",
                                               r.app(), ": owner ", owner.principal(), ": ",
                                               s.message()));
    }
    ids.insert(key->keyid());
    o.keys.push_back(*std::move(key));
  }
  if (r.threshold() < 1 || r.threshold() > principals.size()) {
    return absl::InvalidArgumentError(
        StrCat("ownership record ", r.ownership_seq(), " of ", r.app(), " has threshold ",
               r.threshold(), ", not between 1 and its ", principals.size(), " owners"));
  }
  o.record = std::move(r);
  uint64_t seq = o.record.ownership_seq();
  owners_[o.record.app()].emplace(seq, std::make_pair(std::move(o), env));
  log_.push_back(env);
  return true;
}

template <typename T>
absl::StatusOr<T> TrustChain::VerifyOwned(const Envelope& env, std::string_view type,
                                          std::string_view what, Order order) const {
  if (env.payload_type() != type) {
    return absl::UnauthenticatedError(
        StrCat("record has type ", Quote(env.payload_type()), ", expected a ", what));
  }
  T r;
  if (master_only_) {
    VMS_RETURN_IF_ERROR(VerifyEnvelope(env, type, *master_only_));
    if (!r.ParseFromString(env.payload())) {
      return absl::DataLossError(StrCat("signed ", what, " does not parse"));
    }
    VMS_RETURN_IF_ERROR(ValidateAppName(r.app()));
    VMS_RETURN_IF_ERROR(ValidateVersionName(r.version()));
    return r;
  }
  if (!r.ParseFromString(env.payload())) {
    return absl::DataLossError(StrCat("signed ", what, " does not parse"));
  }
  VMS_RETURN_IF_ERROR(ValidateAppName(r.app()));
  VMS_RETURN_IF_ERROR(ValidateVersionName(r.version()));
  const std::string name = StrCat(what, " ", r.app(), " ", r.version());
  auto apps = owners_.find(r.app());
  if (apps == owners_.end() || apps->second.empty()) {
    return absl::UnauthenticatedError(
        StrCat(name, ": the app has no ownership record here, so no one may sign for it (",
               Signers(env, r.app()), ")"));
  }
  const auto& history = apps->second;
  uint64_t newest = history.rbegin()->first;
  auto it = history.find(r.ownership_seq());
  if (it == history.end()) {
    return absl::UnauthenticatedError(StrCat(name, " names ownership record ", r.ownership_seq(),
                                             ", not held here (newest: ", newest, ")"));
  }
  const Ownership& o = it->second.first;
  size_t valid = OwnersSigned(env, o);
  if (valid < o.record.threshold()) {
    return absl::UnauthenticatedError(StrCat(name, " is signed by ", valid,
                                             " of its owners; it takes ", o.record.threshold(),
                                             " (signed by: ", Signers(env, r.app()), ")"));
  }
  if (order == Order::kCurrent && r.ownership_seq() != newest) {
    return absl::UnauthenticatedError(StrCat(
        name, " is signed under ownership record ", r.ownership_seq(), " but ", r.app(),
        "'s owners changed since (record ", newest, "): a key removed then signs nothing new"));
  }
  if (auto next = history.upper_bound(r.ownership_seq()); next != history.end()) {
    const OwnershipRecord& later = next->second.first.record;
    uint64_t seq = RecordSeq(r), at = RecordSeqAt(r, later);
    if (seq > at) {
      return absl::UnauthenticatedError(
          StrCat(name, " (number ", seq, ") is signed under ownership record ", r.ownership_seq(),
                 ", but record ", later.ownership_seq(), " replaced those owners at number ", at,
                 ": a key removed then signs nothing new"));
    }
  }
  return r;
}

absl::StatusOr<Release> TrustChain::VerifyRelease(const Envelope& env, Order order) const {
  VMS_ASSIGN_OR_RETURN(auto r, VerifyOwned<Release>(env, kReleaseType, "release", order));
  if (r.root().size() != Hash::kSize) {
    return absl::DataLossError(
        StrCat("release ", r.app(), " ", r.version(), " has a malformed root"));
  }
  return r;
}

absl::StatusOr<LiveRecord> TrustChain::VerifyLive(const Envelope& env, Order order) const {
  VMS_ASSIGN_OR_RETURN(auto r, VerifyOwned<LiveRecord>(env, kLiveType, "live record", order));
  if (r.root().size() != Hash::kSize) {
    return absl::DataLossError(
        StrCat("live record ", r.app(), " ", r.live_seq(), " has a malformed root"));
  }
  return r;
}

absl::StatusOr<bool> TrustChain::AcceptCheckpoint(const Envelope& env, int64_t now_ms) {
  if (env.payload_type() != kCheckpointType) {
    return absl::InvalidArgumentError(
        StrCat("not a checkpoint (type ", Quote(env.payload_type()), ")"));
  }
  if (master_only_) return false;
  auto master = master_key();
  if (!master) return absl::FailedPreconditionError("a checkpoint arrived before any keyring");
  Checkpoint c;
  if (!c.ParseFromString(env.payload()))
    return absl::InvalidArgumentError("a checkpoint does not parse");
  if (ValidSignatures(env, {*master}) == 0) {
    return absl::UnauthenticatedError(StrCat("checkpoint of seq ", c.head_seq(),
                                             " is not signed by the keyring's master key (",
                                             Signers(env, ""), ")"));
  }
  if (c.issued_unix_ms() > now_ms && c.issued_unix_ms() - now_ms > kMaxCheckpointAheadMs) {
    return absl::FailedPreconditionError(
        StrCat("checkpoint of seq ", c.head_seq(), " is issued at ", IsoTime(c.issued_unix_ms()),
               ", ", (c.issued_unix_ms() - now_ms) / 1000,
               " s ahead of this clock: the master's clock is ahead (or its key is stolen); a "
               "checkpoint from the future would hide a freeze until then"));
  }
  VMS_RETURN_IF_ERROR(IssuedBefore(StrCat("checkpoint of seq ", c.head_seq()), c.issued_unix_ms(),
                                   StrCat("keyring version ", keyring()->version()),
                                   keyring()->expires_unix_ms(), kRenewKeyring));
  if (checkpoint_env_) {
    if (SameRecord(*checkpoint_env_, env)) return false;
    if (c.issued_unix_ms() <= checkpoint_.issued_unix_ms() ||
        c.head_seq() < checkpoint_.head_seq()) {
      return absl::FailedPreconditionError(
          StrCat("checkpoint issued at ", c.issued_unix_ms(), " (seq ", c.head_seq(),
                 ") is not newer than the one held, issued at ", checkpoint_.issued_unix_ms(),
                 " (seq ", checkpoint_.head_seq(), "): replayed"));
    }
  }
  checkpoint_ = std::move(c);
  checkpoint_env_ = env;
  return true;
}

CheckpointState TrustChain::checkpoint(int64_t now_ms) const {
  CheckpointState s;
  if (!checkpoint_env_) return s;
  s.held = true;
  s.checkpoint = checkpoint_;
  s.fresh = now_ms < checkpoint_.expires_unix_ms();
  return s;
}

TrustSnapshot TrustChain::Snapshot() const {
  TrustSnapshot s;
  for (const Envelope& env : log_) *s.add_records() = env;
  if (checkpoint_env_) *s.mutable_checkpoint() = *checkpoint_env_;
  return s;
}

absl::Status TrustChain::Restore(const TrustSnapshot& snapshot, int64_t now_ms) {
  for (const Envelope& env : snapshot.records()) {
    auto accepted = Accept(env);
    if (!accepted.ok()) return accepted.status();
  }
  if (snapshot.has_checkpoint()) (void)AcceptCheckpoint(snapshot.checkpoint(), now_ms);
  return absl::OkStatus();
}

std::vector<std::string> ExpiryWarnings(const RootRecord& root, const KeyringRecord* keyring,
                                        int64_t now_ms) {
  std::vector<std::string> out;
  auto say = [&](const std::string& what, int64_t expires, std::string_view todo) {
    if (expires == 0 || expires - now_ms > kExpiryWarningMs) return;
    if (expires <= now_ms) {
      out.push_back(StrCat(what, " expired at ", IsoTime(expires),
                           ": nothing new is accepted under it; ", todo));
    } else {
      out.push_back(StrCat(what, " expires at ", IsoTime(expires), " (in ",
                           (expires - now_ms) / (24 * 3600 * 1000), " days): ", todo));
    }
  };
  say(StrCat("the root (version ", root.version(), ")"), root.expires_unix_ms(),
      "rotate it with vms-admin root rotate");
  if (keyring != nullptr) {
    say(StrCat("the keyring (version ", keyring->version(), ")"), keyring->expires_unix_ms(),
        kRenewKeyring);
  }
  return out;
}

const KeyringRecord* TrustChain::keyring() const {
  return keyrings_.empty() ? nullptr : &keyrings_.rbegin()->second.record;
}

std::optional<PublicKey> TrustChain::master_key() const {
  if (master_only_) return master_only_;
  if (keyrings_.empty()) return std::nullopt;
  return keyrings_.rbegin()->second.master;
}

bool TrustChain::IsAdminKey(const std::string& keyid) const {
  if (keyrings_.empty()) return false;
  for (const PublicKey& k : keyrings_.rbegin()->second.admins) {
    if (k.keyid() == keyid) return true;
  }
  return false;
}

const Ownership* TrustChain::ownership(const std::string& app) const {
  auto it = owners_.find(app);
  if (it == owners_.end() || it->second.empty()) return nullptr;
  return &it->second.rbegin()->second.first;
}

const Envelope* TrustChain::ownership_envelope(const std::string& app) const {
  auto it = owners_.find(app);
  if (it == owners_.end() || it->second.empty()) return nullptr;
  return &it->second.rbegin()->second.second;
}

std::string TrustChain::DescribeKey(const std::string& keyid, const std::string& app) const {
  if (auto it = owners_.find(app); it != owners_.end()) {
    for (auto h = it->second.rbegin(); h != it->second.rend(); ++h) {
      const Ownership& o = h->second.first;
      for (size_t i = 0; i < o.keys.size(); ++i) {
        if (o.keys[i].keyid() != keyid) continue;
        if (h == it->second.rbegin()) {
          return StrCat("owner ", o.record.owners(static_cast<int>(i)).principal(), " of ", app);
        }
        return StrCat("former owner key of ", o.record.owners(static_cast<int>(i)).principal(),
                      " (ownership record ", h->first, ")");
      }
    }
  }
  if (!keyrings_.empty()) {
    const Keyring& k = keyrings_.rbegin()->second;
    if (k.master.keyid() == keyid) return "the master key";
    for (const PublicKey& a : k.admins) {
      if (a.keyid() == keyid) return "admin key";
    }
  }
  if (!roots_.empty()) {
    for (const PublicKey& r : root().keys) {
      if (r.keyid() == keyid) return "root key";
    }
  }
  return "unknown key";
}

const PublicKey* TrustChain::FindKey(const std::string& keyid, const std::string& app) const {
  if (master_only_ && master_only_->keyid() == keyid) return &*master_only_;
  if (auto it = owners_.find(app); it != owners_.end()) {
    for (const auto& [seq, held] : it->second) {
      for (const PublicKey& k : held.first.keys) {
        if (k.keyid() == keyid) return &k;
      }
    }
  }
  for (const auto& [v, ring] : keyrings_) {
    if (ring.master.keyid() == keyid) return &ring.master;
    for (const PublicKey& a : ring.admins) {
      if (a.keyid() == keyid) return &a;
    }
  }
  for (const auto& [v, root] : roots_) {
    for (const PublicKey& k : root.keys) {
      if (k.keyid() == keyid) return &k;
    }
  }
  return nullptr;
}

std::string TrustChain::Signers(const Envelope& env, const std::string& app) const {
  if (env.signatures_size() == 0) return "no signatures";
  std::string out;
  std::set<std::string> seen;
  for (const Signature& sig : env.signatures()) {
    if (!seen.insert(sig.keyid()).second) continue;
    if (!out.empty()) out += ", ";
    out += StrCat(DescribeKey(sig.keyid(), app), " ", sig.keyid().substr(0, 16));
    // Checked against the key it names: a claim alone is no signature.
    const PublicKey* key = FindKey(sig.keyid(), app);
    Envelope one = env;
    one.clear_signatures();
    *one.add_signatures() = sig;
    if (key != nullptr && ValidSignatures(one, {*key}) == 0) out += " (invalid signature)";
  }
  if (seen.size() == 1 && master_key() && master_key()->keyid() == *seen.begin()) {
    out += " only";
  }
  return out;
}

}  // namespace vms
