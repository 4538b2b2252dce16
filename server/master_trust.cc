// The master under a root of trust (see master.h and ../shared/DESIGN.md,
// "Trust"): its chain, records signed by their owners, ownership records
// signed by admins, registered keys, and checkpoints.
#include <algorithm>
#include <cstdlib>
#include <set>

#include "core/clock.h"
#include "core/envelope.h"
#include "core/file_util.h"
#include "core/log.h"
#include "core/principal.h"
#include "core/status_macros.h"
#include "core/strings.h"
#include "server/master.h"
#include "server/trust_store.h"
#include "spdlog/spdlog.h"

namespace vms {

namespace {

// How far the issue time of a record signed by a caller may be from the
// master's clock when it arrives.
constexpr int64_t kMaxSkewMs = 10 * 60 * 1000;

int64_t IssuedMs(const Envelope& env, google::protobuf::Message* record) {
  if (auto* r = dynamic_cast<Release*>(record)) return r->created_unix_ms();
  if (auto* l = dynamic_cast<LiveRecord*>(record)) return l->issued_unix_ms();
  if (auto* o = dynamic_cast<OwnershipRecord*>(record)) return o->issued_unix_ms();
  return 0;
}

// A root or keyring file given at start must be the newest of its kind the
// chain holds (an identical older one would change nothing, silently).
absl::Status NewestOfItsKind(const TrustChain& chain, const Envelope& env) {
  if (env.payload_type() == kRootType) {
    RootRecord r;
    if (r.ParseFromString(env.payload()) && r.version() < chain.root().record.version()) {
      return absl::FailedPreconditionError(StrCat("root version ", r.version(), " is older than ",
                                                  chain.root().record.version(), ", held here"));
    }
  } else if (env.payload_type() == kKeyringType && chain.keyring() != nullptr) {
    KeyringRecord k;
    if (k.ParseFromString(env.payload()) && k.version() < chain.keyring()->version()) {
      return absl::FailedPreconditionError(StrCat("keyring version ", k.version(),
                                                  " is older than ", chain.keyring()->version(),
                                                  ", held here"));
    }
  }
  return absl::OkStatus();
}

void ClearIssued(google::protobuf::Message* record) {
  if (auto* r = dynamic_cast<Release*>(record)) r->clear_created_unix_ms();
  if (auto* l = dynamic_cast<LiveRecord*>(record)) l->clear_issued_unix_ms();
  if (auto* o = dynamic_cast<OwnershipRecord*>(record)) o->clear_issued_unix_ms();
}

template <typename T>
absl::Status SameButTime(const Envelope& got, const Envelope& prepared, std::string_view what) {
  T a, b;
  if (got.payload_type() != prepared.payload_type() || !a.ParseFromString(got.payload()) ||
      !b.ParseFromString(prepared.payload())) {
    return absl::InvalidArgumentError(
        StrCat("the signed ", what, " is not one the master prepared"));
  }
  int64_t skew = std::llabs(IssuedMs(got, &a) - IssuedMs(prepared, &b));
  ClearIssued(&a);
  ClearIssued(&b);
  if (a.SerializeAsString() != b.SerializeAsString()) {
    return absl::AbortedError(StrCat("the ", what,
                                     " changed on the master while you signed it (another push, "
                                     "flip or owners change came first): run the command again"));
  }
  if (skew > kMaxSkewMs) {
    return absl::InvalidArgumentError(StrCat("the signed ", what, " was issued ", skew / 1000,
                                             " s away from the master's clock; check the clock "
                                             "and run the command again"));
  }
  return absl::OkStatus();
}

absl::StatusOr<Envelope> ReadArmored(const std::string& path, std::string_view label) {
  auto text = ReadFile(path);
  if (!text.ok()) return text.status();
  auto env = DearmorRecord(label, *text);
  if (!env.ok()) return absl::InvalidArgumentError(StrCat(path, ": ", env.status().message()));
  return env;
}

}  // namespace

absl::Status Master::OpenTrust() {
  MutexLock write_lock(&write_mu_);
  // What is stored wins: the first root this master was given, and what
  // it accepted since.
  std::vector<std::pair<std::string, Envelope>> given;
  std::optional<Root> configured_root;
  if (!options_.trust_file.empty()) {
    VMS_ASSIGN_OR_RETURN(Envelope configured, ReadArmored(options_.trust_file, "ROOT"));
    auto opened = OpenRoot(configured);
    if (!opened.ok()) {
      return absl::Status(opened.status().code(),
                          StrCat(options_.trust_file, ": ", opened.status().message()));
    }
    configured_root = *std::move(opened);
    given.emplace_back(options_.trust_file, std::move(configured));
  }
  VMS_ASSIGN_OR_RETURN(TrustChain held,
                       TrustStore(records_.get()).Load(configured_root, options_.clock->WallMs()));
  chain_ = std::make_unique<TrustChain>(std::move(held));
  if (options_.trust_file.empty()) {
    MasterLog()->warn(
        "started without --trust: running with the chain of trust stored in {} (root version "
        "{}, keyring version {}); give --trust and --keyring to rotate them",
        options_.data_dir, chain_->root().record.version(),
        chain_->keyring() ? chain_->keyring()->version() : 0);
  }
  // A newer root and keyring given on the command line join the log.
  if (!options_.keyring_file.empty()) {
    VMS_ASSIGN_OR_RETURN(Envelope keyring, ReadArmored(options_.keyring_file, "KEYRING"));
    given.emplace_back(options_.keyring_file, std::move(keyring));
  }
  for (const auto& [path, env] : given) {
    auto accepted = chain_->Accept(env);
    if (!accepted.ok()) {
      return absl::Status(accepted.status().code(),
                          StrCat(path, ": ", accepted.status().message()));
    }
    // An older file than the chain holds is a mistake worth stopping for.
    if (absl::Status s = NewestOfItsKind(*chain_, env); !s.ok()) {
      return absl::Status(s.code(), StrCat(path, ": ", s.message()));
    }
    if (!*accepted) continue;
    rocksdb::WriteBatch batch;
    VMS_ASSIGN_OR_RETURN(uint64_t seq, PutTrustEvent(&batch, "", env, *chain_));
    VMS_RETURN_IF_ERROR(records_->Commit(&batch, seq));
    MasterLog()->info("trust: took {} ({}) as event {}", path, env.payload_type(), seq);
  }
  if (chain_->keyring() == nullptr) {
    return absl::FailedPreconditionError(
        "a root of trust needs a keyring: vms-master --keyring FILE (vms-admin keyring sign "
        "makes one)");
  }
  std::optional<PublicKey> master = chain_->master_key();
  if (master->keyid() != key_.public_key().keyid()) {
    return absl::FailedPreconditionError(
        StrCat("this master's key (", options_.data_dir, "/master.pub, key id ",
               key_.public_key().keyid().substr(0, 16),
               ") is not the keyring's master key (key id ", master->keyid().substr(0, 16),
               "): sign a keyring naming it (vms-admin keyring sign --master ", options_.data_dir,
               "/master.pub)"));
  }
  chained_ = true;
  PublishChain();
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> Master::PutTrustEvent(rocksdb::WriteBatch* batch, const std::string& app,
                                               const Envelope& env, const TrustChain& chain) {
  VMS_RETURN_IF_ERROR(TrustStore(records_.get()).Put(batch, chain));
  Event event = NextEvent(Event::TRUST_CHANGED, app, "", env);
  records_->PutEvent(batch, event);
  return event.seq();
}

void Master::PublishChain() {
  TrustSnapshot snapshot = chain_ ? chain_->Snapshot() : TrustSnapshot();
  std::optional<RootRecord> root;
  std::optional<KeyringRecord> keyring;
  if (chain_ && chain_->chained()) {
    root = chain_->root().record;
    if (chain_->keyring()) keyring = *chain_->keyring();
  }
  MutexLock lock(&published_mu_);
  published_chain_ = std::move(snapshot);
  if (root) published_root_ = *std::move(root);
  published_keyring_ = std::move(keyring);
}

absl::StatusOr<Envelope> Master::CheckSigned(const Envelope& signed_env, const Envelope& prepared,
                                             const std::string& action,
                                             const std::string& principal,
                                             const std::optional<CommitArgs>& commit,
                                             const std::optional<FlipArgs>& flip) {
  absl::Status verified;
  std::string app;
  if (prepared.payload_type() == kReleaseType) {
    VMS_RETURN_IF_ERROR(SameButTime<Release>(signed_env, prepared, "release"));
    verified = chain_->VerifyRelease(signed_env, TrustChain::Order::kCurrent).status();
    app = commit->app;
  } else {
    VMS_RETURN_IF_ERROR(SameButTime<LiveRecord>(signed_env, prepared, "live record"));
    verified = chain_->VerifyLive(signed_env, TrustChain::Order::kCurrent).status();
    app = flip->app;
  }
  if (!verified.ok()) {
    // Some owners but not enough: it waits for the others.
    const Ownership* o = chain_->ownership(app);
    size_t signed_by = o ? OwnersSigned(signed_env, *o) : 0;
    if (signed_by == 0 || signed_by >= o->record.threshold()) return verified;
    auto& entries = pending_[app];
    std::erase_if(entries, [&](const PendingEntry& e) { return e.info.action == action; });
    if (pending_.size() > kMaxPending) {
      return absl::ResourceExhaustedError(
          StrCat("too many records wait for co-signers on this master (", kMaxPending,
                 " apps); try again later"));
    }
    PendingEntry entry{.info = {.action = action,
                                .principal = principal,
                                .record = signed_env,
                                .since_ms = options_.clock->WallMs(),
                                .owners_signed = static_cast<uint32_t>(signed_by),
                                .threshold = o->record.threshold()},
                       .commit = commit,
                       .flip = flip,
                       .since = options_.clock->Now()};
    if (entry.commit) entry.commit->signed_release.reset();
    if (entry.flip) entry.flip->signed_record.reset();
    entries.push_back(std::move(entry));
    MasterLog()->info("pending app={} action={} by={} owners_signed={} threshold={}", app, action,
                      principal, signed_by, o->record.threshold());
    return absl::FailedPreconditionError(
        StrCat(app, "'s ", action, " is signed by ", signed_by, " of its owners and takes ",
               o->record.threshold(), ": it waits here for ", kPendingTtl.count(),
               " minutes while another owner runs `vms sign ", app, "`"));
  }
  Envelope sequenced = signed_env;
  AddSignature(&sequenced, key_);
  return sequenced;
}

absl::StatusOr<std::vector<Master::PendingInfo>> Master::Pending(const std::string& principal,
                                                                 const std::string& app) const {
  VMS_ASSIGN_OR_RETURN(auto owners, LoadOwners(app));
  VMS_RETURN_IF_ERROR(authz_.Check(principal, Action::kCosign, app, owners));
  std::vector<PendingInfo> out;
  MutexLock write_lock(&write_mu_);
  auto it = pending_.find(app);
  if (it == pending_.end()) return out;
  for (const PendingEntry& e : it->second) {
    if (options_.clock->Now() - e.since < kPendingTtl) out.push_back(e.info);
  }
  return out;
}

void Master::RestorePending(const std::string& app, PendingEntry entry) {
  MutexLock write_lock(&write_mu_);
  auto& entries = pending_[app];
  for (const PendingEntry& e : entries) {
    if (e.info.action == entry.info.action) return;  // a newer request replaced it
  }
  entries.push_back(std::move(entry));
}

absl::StatusOr<Master::CosignResult> Master::Cosign(const std::string& principal,
                                                    const std::string& app, const Envelope& env) {
  // Checked first: a caller who may not co-sign takes nothing away.
  VMS_ASSIGN_OR_RETURN(auto owners, LoadOwners(app));
  if (absl::Status s = authz_.Check(principal, Action::kCosign, app, owners); !s.ok()) {
    AuditAlone(Entry(principal, "cosign", app, ""), s);
    return s;
  }
  std::optional<PendingEntry> entry;
  {
    MutexLock write_lock(&write_mu_);
    auto it = pending_.find(app);
    if (it != pending_.end()) {
      for (auto e = it->second.begin(); e != it->second.end(); ++e) {
        if (e->info.record.payload() != env.payload() ||
            options_.clock->Now() - e->since >= kPendingTtl) {
          continue;
        }
        entry = std::move(*e);
        it->second.erase(e);
        break;
      }
      if (it->second.empty()) pending_.erase(it);
    }
  }
  if (!entry) {
    return absl::NotFoundError(StrCat("nothing of ", app,
                                      " waits for that signature (written, replaced by a newer "
                                      "request, or older than ",
                                      kPendingTtl.count(), " minutes): `vms sign ", app,
                                      "` again"));
  }
  const PendingEntry original = *entry;
  // The signatures so far and the caller's, each key once.
  Envelope merged = entry->info.record;
  std::set<std::string> keyids;
  for (const Signature& sig : merged.signatures()) keyids.insert(sig.keyid());
  for (const Signature& sig : env.signatures()) {
    if (keyids.insert(sig.keyid()).second) *merged.add_signatures() = sig;
  }
  CosignResult result;
  absl::StatusOr<uint64_t> seq;
  if (entry->commit) {
    entry->commit->signed_release = merged;
    auto done = Commit(*entry->commit);
    seq = done.ok() ? absl::StatusOr<uint64_t>(done->seq) : done.status();
  } else {
    entry->flip->signed_record = merged;
    if (entry->info.action == "retire") {
      auto done = Retire(*entry->flip);
      seq = done.ok() ? absl::StatusOr<uint64_t>(done->flip.seq) : done.status();
    } else {
      auto done = entry->info.action == "rollback" ? Rollback(*entry->flip) : SetLive(*entry->flip);
      seq = done.ok() ? absl::StatusOr<uint64_t>(done->seq) : done.status();
    }
  }
  AuditEntry audit = Entry(principal, "cosign " + entry->info.action, app, "");
  if (!seq.ok() && absl::IsFailedPrecondition(seq.status()) &&
      seq.status().message().find("it waits here") != std::string_view::npos) {
    result.waiting = std::string(seq.status().message());  // still short of owners
    AuditAlone(std::move(audit), absl::OkStatus());
    return result;
  }
  AuditAlone(std::move(audit), seq.status());
  if (!seq.ok()) {
    RestorePending(app, original);  // what was refused changed nothing
    return seq.status();
  }
  result.done = true;
  result.seq = *seq;
  return result;
}

absl::StatusOr<OwnersResult> Master::SignedOwners(
    const std::string& principal, const std::string& app, const std::vector<std::string>& owners,
    const std::string& action, const std::string& target,
    const std::optional<Envelope>& signed_record, bool refresh_target, uint32_t threshold) {
  const Ownership* held = chain_->ownership(app);
  OwnershipRecord next;
  next.set_app(app);
  next.set_ownership_seq(held ? held->record.ownership_seq() + 1 : 1);
  next.set_keyring_version(chain_->keyring()->version());
  next.set_issued_unix_ms(options_.clock->WallMs());
  next.set_issuer(principal);
  VMS_ASSIGN_OR_RETURN(auto state, records_->LoadAppState(app));
  if (state) {
    next.set_live_seq_at(state->live_seq());
    next.set_release_seq_at(state->version_count());
  }
  std::vector<OwnerKey> keys;
  for (const std::string& owner : owners) {
    bool had = false;
    if (held && !(refresh_target && owner == target)) {
      for (const OwnerKey& k : held->record.owners()) {
        if (k.principal() == owner) {
          keys.push_back(k);
          had = true;
        }
      }
    }
    if (had) continue;
    VMS_ASSIGN_OR_RETURN(auto registered, records_->db()->Get(kKeysFamily, owner));
    SigningKeys list;
    if (!registered || !list.ParseFromString(*registered) || list.keys_size() == 0) {
      return absl::FailedPreconditionError(
          StrCat(owner,
                 " has no signing key registered here: they run `vms key gen` (which "
                 "registers it) or `vms key register`, then you run this again"));
    }
    for (const std::string& pem : list.keys()) {
      OwnerKey k;
      k.set_principal(owner);
      k.set_key(pem);
      keys.push_back(std::move(k));
    }
  }
  std::sort(keys.begin(), keys.end(), [](const OwnerKey& a, const OwnerKey& b) {
    return std::tie(a.principal(), a.key()) < std::tie(b.principal(), b.key());
  });
  for (OwnerKey& k : keys) *next.add_owners() = std::move(k);
  size_t owner_count = owners.size();
  if (threshold > 0) {
    if (threshold > owner_count) {
      return absl::InvalidArgumentError(StrCat("a threshold of ", threshold, " owners needs ",
                                               threshold, " owners; ", app, " has ", owner_count));
    }
    next.set_threshold(threshold);
  } else {
    next.set_threshold(
        held ? std::min<uint32_t>(held->record.threshold(), static_cast<uint32_t>(owner_count))
             : 1);
  }
  if (held && refresh_target && threshold == 0) {
    // Re-adding an owner takes their keys as registered now; the same keys
    // again write nothing.
    auto keys_of = [](const OwnershipRecord& r) {
      std::string all;
      for (const OwnerKey& k : r.owners()) all += StrCat(k.principal(), "\n", k.key(), "\n");
      return all;
    };
    if (keys_of(next) == keys_of(held->record)) {
      return OwnersResult{.owners = owners, .ownership = *chain_->ownership_envelope(app)};
    }
  }
  Envelope prepared;
  prepared.set_payload_type(std::string(kOwnershipType));
  prepared.set_payload(next.SerializeAsString());
  if (!signed_record) {
    return OwnersResult{.owners = owners, .to_sign = std::move(prepared)};
  }
  VMS_RETURN_IF_ERROR(SameButTime<OwnershipRecord>(*signed_record, prepared, "ownership record"));
  // Accepted by a copy, which replaces the chain only once the record is
  // durable: a record refused, or a commit that fails, changes nothing.
  TrustChain next_chain = *chain_;
  auto accepted = next_chain.Accept(*signed_record);
  if (!accepted.ok()) {
    if (absl::IsUnauthenticated(accepted.status())) {
      return absl::PermissionDeniedError(
          StrCat(accepted.status().message(),
                 ": an admin signs ownership records (an admin runs this `vms owners` command)"));
    }
    return accepted.status();
  }
  rocksdb::WriteBatch batch;
  VMS_ASSIGN_OR_RETURN(uint64_t seq, PutTrustEvent(&batch, app, *signed_record, next_chain));
  PutOwners(&batch, app, owners);
  AuditEntry entry = Entry(principal, action, app, target);
  entry.set_outcome(StrCat("ok: ownership record ", next.ownership_seq()));
  audit_->Add(&batch, std::move(entry));
  VMS_RETURN_IF_ERROR(Durable(&batch, seq));
  *chain_ = std::move(next_chain);
  PublishChain();
  MasterLog()->info("ownership app={} seq={} owners={} by={}", app, next.ownership_seq(),
                    Join(owners), principal);
  return OwnersResult{.owners = owners, .ownership = *signed_record};
}

absl::Status Master::RegisterKey(const std::string& caller, const std::string& pem, bool replace,
                                 const std::string& proof, const std::string& for_principal) {
  VMS_RETURN_IF_ERROR(ParsePrincipal(caller).status());
  VMS_RETURN_IF_ERROR(authz_.Check(caller, Action::kRegisterKey));
  const bool for_other = !for_principal.empty() && for_principal != caller;
  const std::string& principal = for_other ? for_principal : caller;
  if (for_other) {
    VMS_RETURN_IF_ERROR(ParsePrincipal(principal).status());
    if (!authz_.IsAdmin(caller)) {
      return absl::PermissionDeniedError(
          StrCat(caller, " may not register a key for ", principal, ": only an admin may"));
    }
  }
  if (pem.size() > 4096) return absl::InvalidArgumentError("a public key is at most 4096 bytes");
  auto key = PublicKey::FromPem(pem);
  if (!key.ok()) {
    return absl::InvalidArgumentError(
        StrCat("not an Ed25519 public key (vms key show prints yours): ", key.status().message()));
  }
  MutexLock write_lock(&write_mu_);
  VMS_ASSIGN_OR_RETURN(auto stored, records_->db()->Get(kKeysFamily, principal));
  SigningKeys list;
  if (stored && !list.ParseFromString(*stored)) list.Clear();
  const bool held =
      std::find(list.keys().begin(), list.keys().end(), key->Pem()) != list.keys().end();
  if (held && (!replace || list.keys_size() == 1)) return absl::OkStatus();  // registered already
  // A key beyond the first: vouched for by a key registered now, or by an
  // admin. A stolen certificate alone must not add the thief's key.
  if (list.keys_size() > 0 && !held && !authz_.IsAdmin(caller)) {
    const std::string message = RegisterKeyMessage(principal, key->Pem());
    bool vouched = false;
    for (const std::string& k : list.keys()) {
      auto registered = PublicKey::FromPem(k);
      vouched |= registered.ok() && !proof.empty() && registered->Verify(message, proof);
    }
    if (!vouched) {
      auto first = PublicKey::FromPem(list.keys(0));
      return absl::PermissionDeniedError(StrCat(
          principal, " has a signing key registered already (key id ",
          first.ok() ? first->keyid().substr(0, 16) : std::string("?"),
          "), so a new one must be vouched for: sign it with a registered key (vms key register "
          "--old-key DIR), or an admin registers it (vms key register --for ",
          principal, " --key NEW.pub)",
          proof.empty() ? "" : "; the proof given is not a signature by a registered key"));
    }
  }
  std::vector<std::string> keys;
  for (const std::string& k : list.keys()) {
    if (k != key->Pem() && !replace) keys.push_back(k);
  }
  keys.push_back(key->Pem());
  if (keys.size() > kMaxKeysPerPrincipal) keys.erase(keys.begin());
  list.clear_keys();
  for (std::string& k : keys) list.add_keys(std::move(k));
  rocksdb::WriteBatch batch;
  batch.Put(records_->db()->Family(kKeysFamily), principal, list.SerializeAsString());
  // Every app the principal owns shows the change (vms audit APP).
  const std::string what = StrCat(replace ? "key replace " : "key register ", principal);
  std::vector<std::string> apps = {""};
  auto it = records_->db()->NewIterator(kOwnersFamily);
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    AppOwners owners;
    if (!owners.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) continue;
    if (std::find(owners.owners().begin(), owners.owners().end(), principal) !=
        owners.owners().end()) {
      apps.push_back(it->key().ToString());
    }
  }
  VMS_RETURN_IF_ERROR(FromRocks(it->status(), "read owners"));
  for (const std::string& app : apps) {
    AuditEntry entry = Entry(caller, what, app, key->keyid().substr(0, 16));
    entry.set_outcome("ok");
    audit_->Add(&batch, std::move(entry));
  }
  VMS_RETURN_IF_ERROR(Durable(&batch, 0));
  MasterLog()->info("key registered principal={} keyid={} replace={} by={}", principal,
                    key->keyid(), replace, caller);
  return absl::OkStatus();
}

absl::Status Master::SignCheckpoint() {
  if (!chained_) return absl::FailedPreconditionError("no root of trust: no checkpoints");
  Checkpoint c;
  uint64_t keyring_version;
  int64_t now = options_.clock->WallMs();
  {
    MutexLock write_lock(&write_mu_);
    c.set_head_seq(records_->head_seq());
    const KeyringRecord* ring = chain_->keyring();
    keyring_version = ring->version();
    // Refused downstream anyway: say why here, where it can be fixed.
    if (ring->expires_unix_ms() != 0 && now > ring->expires_unix_ms()) {
      return absl::FailedPreconditionError(
          StrCat("the keyring (version ", ring->version(), ") expired at ",
                 IsoTime(ring->expires_unix_ms()),
                 ": hosts will show this master as frozen; sign the next keyring (vms-admin "
                 "keyring --previous OLD) and restart vms-master --keyring NEW"));
    }
  }
  MutexLock lock(&checkpoint_mu_);
  // Strictly increasing issue times, even if the clock stalls.
  if (checkpoint_) {
    Checkpoint last;
    if (last.ParseFromString(checkpoint_->payload())) {
      now = std::max(now, last.issued_unix_ms() + 1);
    }
  }
  c.set_issued_unix_ms(now);
  c.set_expires_unix_ms(now + options_.checkpoint_ttl.count());
  c.set_keyring_version(keyring_version);
  checkpoint_ = SignEnvelope(kCheckpointType, c.SerializeAsString(), key_);
  return absl::OkStatus();
}

std::vector<std::string> Master::TrustWarnings() const {
  if (!chained_) return {};
  MutexLock lock(&published_mu_);
  return ExpiryWarnings(published_root_, published_keyring_ ? &*published_keyring_ : nullptr,
                        options_.clock->WallMs());
}

std::optional<Envelope> Master::checkpoint() const {
  MutexLock lock(&checkpoint_mu_);
  return checkpoint_;
}

TrustSnapshot Master::TrustRecords() const {
  TrustSnapshot out;
  {
    MutexLock lock(&published_mu_);
    out = published_chain_;
  }
  if (auto c = checkpoint()) *out.mutable_checkpoint() = *c;
  return out;
}

}  // namespace vms
