// The master's logic: the one writer of vms.
//
// Holds objects, signed releases, live records, per-app state and the
// append-only event log in one RecordStore, and the sites' reports in a
// SiteRegistry. Every acknowledged change (a release, a live flip) is one
// synced write batch holding the record, its event and the app state, so a
// crash leaves the old state or the new one. No gRPC here: the *_service.h
// adapters put this class on the wire.
//
// Every write is authorised (server/authz.h) from the caller's authenticated
// principal, which the master records as the release's publisher and the
// live record's issuer, and is written to the audit log (server/audit_log.h),
// accepted or refused. The first push of an app makes the pusher its owner,
// in the release's own batch.
//
// Thread-safe. write_mu_ serialises the writers of records and is held across
// their synced batch on purpose: the event log must be gapless and in commit
// order, and per-app state is read-modify-write. Readers never take it (the
// chain of trust a watch starts with is a copy published after each change).
// Object ingestion does not take it either.
#ifndef VMS_SERVER_MASTER_H_
#define VMS_SERVER_MASTER_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/chain.h"
#include "core/clock.h"
#include "core/counter.h"
#include "core/hash.h"
#include "core/keys.h"
#include "core/limits.h"
#include "core/object_store.h"
#include "core/sync.h"
#include "group_records.pb.h"
#include "records.pb.h"
#include "server/audit_log.h"
#include "server/authz.h"
#include "server/record_store.h"
#include "server/site_registry.h"

namespace vms {

// What the master counts (vms-master makes them, net/metrics.h); any may be
// null.
struct MasterMetrics {
  prometheus::Counter* pushes = nullptr;            // releases recorded
  prometheus::Counter* flips = nullptr;             // live records written (live, rollback)
  prometheus::Counter* objects_received = nullptr;  // new objects stored from uploads
  prometheus::Counter* bytes_received = nullptr;    // their encoded bytes
};

// A master group's log (server/master_group.h): with one, every write of
// hard state is appended there before this node stores it.
class GroupWriter {
 public:
  virtual ~GroupWriter() = default;
  // Before a release is committed: enough nodes of the group hold the
  // closure of `root` (FailedPrecondition saying why not, in time).
  virtual absl::Status HoldCopies(const Hash& root) = 0;
  // Makes `entry` the group's next one, fenced by this node's leadership;
  // the nodes that count hold its roots first (--commit-copies). Errors:
  // Unavailable when this node does not lead (nothing was appended), or
  // DeadlineExceeded when etcd did not say whether it took the entry (the
  // caller's answer is then unknown: the log says).
  virtual absl::Status Append(const GroupEntry& entry) = 0;
};

struct MasterOptions {
  std::string data_dir;
  // A commit beyond these (entries per directory, files per version) is
  // refused; depth is the client's to check (core/limits.h).
  ShapeLimits limits;
  // Uploads no release names yet, per principal (vms-master --upload-quota),
  // and the free space uploads must leave on the data dir's disk
  // (--min-free-space): a full disk stops every write, so uploads stop
  // first.
  uint64_t upload_quota_bytes = 64ull << 30;
  uint64_t min_free_bytes = 1ull << 30;
  // Stamps records (wall clock); tests inject a FakeClock.
  Clock* clock = Clock::Real();
  // The store's I/O (Db::Open); tests inject a power cut.
  rocksdb::Env* env = nullptr;
  // Who may do what. vms-master sets it from its flags; the default (no
  // identity, everything allowed) is what --insecure means, for unit tests.
  AuthzPolicy authz{.insecure = true};
  // A root of trust (../shared/DESIGN.md, "Trust"): root.pub and the keyring
  // it signed (vms-admin). Then owners sign their releases and flips, admins
  // sign ownership, and the master only sequences and signs checkpoints.
  // Empty: the master's own key signs every record (replicas and hosts then
  // trust master.pub).
  std::string trust_file;
  std::string keyring_file;
  // How long after it is signed a checkpoint is fresh.
  std::chrono::milliseconds checkpoint_ttl{std::chrono::hours(1)};
  MasterMetrics metrics;
  // Set: this master is one node of a group (null: a single master).
  GroupWriter* group = nullptr;
};

struct CommitArgs {
  std::string app;
  std::string version;
  Hash root;
  std::string principal;  // the authenticated caller: the release's publisher
  std::string message;
  // Under a root of trust: the release as the master prepared it, signed by
  // the caller's key. Without it, Commit() only prepares (CommitResult.to_sign).
  std::optional<Envelope> signed_release;
  // Only the checks that need no objects (CommitRequest.check_only).
  bool check_only = false;
};

struct CommitResult {
  bool created = false;  // false: this exact version was already there
  Envelope release;
  uint64_t seq = 0;  // the release's event seq (also when it existed)
  // Under a root of trust, asked without a signature: the release to sign
  // (no signatures); nothing was written.
  std::optional<Envelope> to_sign;
};

struct FlipArgs {
  std::string app;
  std::string version;                    // for Rollback: "" means the version live before
  std::string principal;                  // the authenticated caller: the record's issuer
  std::optional<Envelope> signed_record;  // as CommitArgs.signed_release
  // Lifecycle (core/lifecycle.h): only these known sites (any order); none
  // is the world. For Rollback they return to the world's live version
  // unless `version` names another.
  std::vector<std::string> sites;
  // SetLive only: move this label instead of live ("live" is live).
  std::string label;
  // Retire only: even if the census shows hosts using the version.
  bool force = false;
  // Retire only: no collection now (vms gc collects once after all of its
  // retirements).
  bool defer_collection = false;
};

enum class OwnersChange { kList, kAdd, kRemove, kThreshold };

struct GcReport;

struct FlipResult {
  bool changed = false;             // false: already live, nothing written
  Envelope record;                  // the new live record, or the current one
  uint64_t seq = 0;                 // event seq (0 when !changed)
  std::optional<Envelope> to_sign;  // as CommitResult.to_sign
};

struct RetireResult {
  FlipResult flip;                       // the retirement record (changed=false: already retired)
  std::vector<std::string> in_use;       // forced: the hosts the census shows using it
  SiteRegistry::CensusFreshness census;  // what that census was
  std::optional<GcSummary> gc;           // the collection that followed
};

struct OwnersResult {
  std::vector<std::string> owners;    // after the change
  std::optional<Envelope> to_sign;    // as CommitResult.to_sign, for an admin key
  std::optional<Envelope> ownership;  // under a root of trust: the newest record
};

class Master {
 public:
  // Opens DATA_DIR/db and loads or creates DATA_DIR/master.{key,pub}.
  static absl::StatusOr<std::unique_ptr<Master>> Open(MasterOptions options);

  absl::StatusOr<std::vector<Hash>> MissingObjects(std::span<const Hash> hashes) const;
  // The subset of `hashes` that are trees with a complete closure here.
  absl::StatusOr<std::vector<Hash>> CompleteTrees(std::span<const Hash> hashes) const;
  // Stores uploaded objects. ResourceExhausted, storing nothing, when they
  // would take `principal`'s uploads that no release names yet past
  // options' upload_quota_bytes, or leave less than min_free_bytes free on
  // the data dir's disk. `principal` "" (in-process callers) has no quota.
  absl::StatusOr<IngestStats> PutObjects(std::vector<StoredObject>* objects,
                                         const std::string& principal = "");
  // Bytes of `principal`'s uploads that no release names yet.
  uint64_t UnreferencedUploadBytes(const std::string& principal) const;

  // Records a release once its whole closure is present and valid.
  //  - PermissionDenied: the principal may not push this app (authz.h).
  //  - InvalidArgument: bad app/version name, bad principal or message.
  //  - FailedPrecondition: objects are missing (the message says how many), or
  //    the version exists with other content (versions are immutable).
  //  - DataLoss: an object of the closure is corrupt or inconsistent.
  absl::StatusOr<CommitResult> Commit(const CommitArgs& args);

  // Makes `version` the live version of `app` with a signed live record
  // (live_seq + 1), its event and the app state in one synced batch; with
  // args.sites only at those sites (a canary: a world flip later supersedes
  // it); with args.label, moves that label instead (/dist/APP@LABEL).
  //  - NotFound: no such app, or no such version (the message lists those
  //    that exist), or an unknown site.
  //  - FailedPrecondition: a site in scope does not hold the version
  //    complete (the message names them).
  //  - InvalidArgument: a bad label or scope, or a label named like a version.
  //  - OK with changed=false: it already is what every site in scope has.
  absl::StatusOr<FlipResult> SetLive(const FlipArgs& args);
  // A new live record (higher seq) naming the version live before the
  // current one (successive rollbacks keep going back), or args.version.
  // FailedPrecondition when there is nothing to go back to, or when a site
  // lacks the version.
  absl::StatusOr<FlipResult> Rollback(const FlipArgs& args);

  // Retires app/version (args.version) with a signed record (LiveRecord
  // kind RETIRE, live_seq + 1), then collects the master's garbage: its
  // objects go from every store (replicas sweep when they apply it, hosts
  // drop it). Never a version live or labelled anywhere, nor one of the
  // last keep_last live versions (rollback targets, RetentionPolicy; 3 by
  // default): FailedPrecondition naming why. One the census shows in use
  // only with args.force (the hosts are named back).
  absl::StatusOr<RetireResult> Retire(const FlipArgs& args);
  // The retention policy of `app` (set: as owner); defaults when none.
  absl::StatusOr<RetentionPolicy> Policy(const std::string& principal, const std::string& app,
                                         const std::optional<RetentionPolicy>& set);
  // What the policies would retire (`app`, or every app with a policy),
  // each with why it is kept or goes; with `sweep`, the master collects its
  // garbage now (admins, or the app's owners), else reports what a
  // collection with the candidates retired would get back.
  struct GcResult {
    std::vector<GcCandidate> candidates;
    std::vector<GcSummary> stores;
  };
  absl::StatusOr<GcResult> Gc(const std::string& principal, const std::string& app, bool sweep);
  // Mark and sweep of the master's store (server/gc.h); `also_retired`
  // counts as retired (a dry run's candidates). Keeps uploads younger than
  // kUnreferencedUploadTtl; commits and flips wait only for the sweep.
  absl::StatusOr<GcSummary> CollectGarbage(
      bool dry_run, const std::set<std::pair<std::string, std::string>>& also_retired = {});
  static constexpr char kPolicyFamily[] = "policy";

  // The owners of `app` after adding or removing `who` (a principal, or a
  // bare user name), as `principal`. NotFound for an unknown app;
  // PermissionDenied unless an owner or admin; FailedPrecondition for
  // removing the last owner. kList only reads (any principal).
  // Under a root of trust a change ends in an ownership record signed by an
  // admin key: asked without `signed_record`, it is prepared (to_sign);
  // with it, checked and sequenced. Creating an app is an admin's kAdd.
  // kThreshold (under a root of trust): how many owners sign each record.
  absl::StatusOr<OwnersResult> Owners(const std::string& principal, const std::string& app,
                                      OwnersChange change, const std::string& who = "",
                                      const std::optional<Envelope>& signed_record = {},
                                      uint32_t threshold = 0);

  // Co-signing, under an owner threshold above 1: a push or flip signed by
  // fewer owners waits here (in memory) for kPendingTtl, the newest per app
  // and action; Commit/SetLive/Rollback then fail with FailedPrecondition
  // saying so. Pending() lists an app's; Cosign() adds the caller's
  // signature to the one whose payload `env` carries and, once enough owners
  // signed, writes it as its first caller asked.
  static constexpr std::chrono::minutes kPendingTtl{10};
  struct PendingInfo {
    std::string action;     // push, live, rollback
    std::string principal;  // who asked
    Envelope record;
    int64_t since_ms = 0;
    uint32_t owners_signed = 0, threshold = 0;
  };
  // Only the app's owners (and admins) see what waits for them.
  absl::StatusOr<std::vector<PendingInfo>> Pending(const std::string& principal,
                                                   const std::string& app) const;
  struct CosignResult {
    bool done = false;
    uint64_t seq = 0;
    std::string waiting;
  };
  absl::StatusOr<CosignResult> Cosign(const std::string& principal, const std::string& app,
                                      const Envelope& env);
  // Binds a signing key (PEM) to `principal`: what `vms owners add` puts in
  // an ownership record for them. At most kMaxKeysPerPrincipal; the oldest
  // goes.
  static constexpr size_t kMaxKeysPerPrincipal = 4;
  // Binds `pem` to `principal` (or, for an admin, to `for_principal`). A
  // principal's first key needs nothing more; a later one needs `proof`
  // (RegisterKeyMessage signed by a key registered now) or an admin caller.
  // The change is audited under every app the principal owns.
  absl::Status RegisterKey(const std::string& principal, const std::string& pem,
                           bool replace = false, const std::string& proof = "",
                           const std::string& for_principal = "");
  // Under a root of trust: signs a checkpoint of the log's head, valid for
  // checkpoint_ttl (vms-master calls it every few seconds).
  absl::Status SignCheckpoint();
  // The newest checkpoint (heartbeats carry it); nullopt without a root.
  std::optional<Envelope> checkpoint() const;
  // The chain as held (roots, keyring, ownership records) and the newest
  // checkpoint: what `vms verify` checks against root.pub.
  TrustSnapshot TrustRecords() const;
  // What is near expiry in the chain, or has expired, with what to do
  // (TrustChain::ExpiryWarnings); empty without a root.
  std::vector<std::string> TrustWarnings() const;
  bool chained() const { return chained_; }
  // Forgets a site, as `principal` (admins only): SiteRegistry::Remove().
  absl::Status RemoveSite(const std::string& principal, const std::string& site, bool force);
  // An admin adds a site that reports through another (SiteRegistry::Add).
  absl::Status AddSite(const std::string& principal, const std::string& site);
  // Assigns the networks whose hosts `site` serves (admins; vms sites serve).
  absl::Status ServeSite(const std::string& principal, const std::string& site,
                         const std::vector<std::string>& networks);
  // A site report from `principal` (SiteRegistry::Apply): only sites report.
  absl::StatusOr<SiteRegistry::Applied> Report(const std::string& principal,
                                               const SiteReport& report);
  // May `principal` upload objects (authz.h)?
  absl::Status MayUpload(const std::string& principal) const;
  // The audit log, newest first: of `app` (its owners and admins), or of
  // everything (admins).
  absl::StatusOr<std::vector<AuditEntry>> Audit(const std::string& principal,
                                                const std::string& app, size_t limit) const;

  // Uploads that no release names yet: new object -> UploadEntry (when it
  // came, its stored bytes, who sent it). A commit removes the entries of
  // its closure; what stays is what the lifecycle's garbage collection
  // reclaims once older than kUnreferencedUploadTtl.
  static constexpr char kUploadsFamily[] = "uploads";
  // app -> AppOwners.
  static constexpr char kOwnersFamily[] = "owners";
  // principal -> SigningKeys (RegisterKey).
  static constexpr char kKeysFamily[] = "keys";
  static constexpr std::chrono::hours kUnreferencedUploadTtl{24};

  // A master group's node applies the group's log (server/master_group.h):
  // `entry` is the one after group_index(), its roots held here whole
  // (else Unavailable naming what is missing). An entry already applied is
  // OK and changes nothing; one beyond the next is FailedPrecondition.
  absl::Status ApplyEntry(const GroupEntry& entry);
  // The newest entry of the group's log this store holds (0: none).
  uint64_t group_index() const;

  // A consistent view of this node's hard state (every family but
  // LocalFamilies()), for a node that starts from a copy of it.
  class HardStateCursor {
   public:
    ~HardStateCursor();
    // The next rows, about `max_bytes` of them; empty once all were given.
    absl::StatusOr<std::vector<GroupRow>> Next(size_t max_bytes);
    // The group log index the copy holds.
    uint64_t index() const { return index_; }

   private:
    friend class Master;
    Db* db_ = nullptr;
    const rocksdb::Snapshot* snapshot_ = nullptr;
    std::vector<std::string> families_;
    size_t family_ = 0;
    std::unique_ptr<rocksdb::Iterator> it_;
    uint64_t index_ = 0;
  };
  absl::StatusOr<std::unique_ptr<HardStateCursor>> CopyHardState();
  // Taking a copy: BeginCopy() deletes this node's hard state and marks the
  // store as copying (a crash before FinishCopy() leaves it so, and the
  // copy is taken again); AddCopy() writes rows; FinishCopy() sets the
  // group log index the copy holds and reloads what is kept in memory.
  absl::Status BeginCopy();
  absl::Status AddCopy(const std::vector<GroupRow>& rows);
  absl::Status FinishCopy(uint64_t index);
  // Whether the store holds an unfinished copy.
  absl::StatusOr<bool> Copying() const;
  // Marks the closure of `root` complete (its objects all held; NotFound
  // naming what is not).
  absl::Status MarkHeld(const Hash& root);
  // The families a node of a group keeps for itself: objects (each node
  // fetches them), uploads and the sites' soft state.
  static const std::set<std::string>& LocalFamilies();

  const RecordStore& records() const { return *records_; }
  // Where a group's node stores what it fetches (server/master_group.h).
  ObjectStore& mutable_objects() { return records_->mutable_objects(); }
  // About how many objects the store holds (RocksDB's estimate).
  uint64_t ObjectCountEstimate() const;
  ReadApi* read_api() { return records_.get(); }
  SiteRegistry& sites() { return *sites_; }
  const AuditLog& audit() const { return *audit_; }
  const Authorizer& authz() const { return authz_; }
  const PublicKey& public_key() const { return key_.public_key(); }

 private:
  Master(MasterOptions options, Authorizer authz, std::unique_ptr<RecordStore> records,
         std::unique_ptr<SiteRegistry> sites, std::unique_ptr<AuditLog> audit, SigningKey key);
  absl::StatusOr<CommitResult> DoCommit(const CommitArgs& args);
  absl::StatusOr<OwnersResult> DoOwners(const std::string& principal, const std::string& app,
                                        OwnersChange change, const std::string& who,
                                        const std::optional<Envelope>& signed_record,
                                        uint32_t threshold);
  // The chained half of DoOwners: the new record for `owners`, prepared or
  // checked and written. write_mu_ held.
  absl::StatusOr<OwnersResult> SignedOwners(const std::string& principal, const std::string& app,
                                            const std::vector<std::string>& owners,
                                            const std::string& action, const std::string& target,
                                            const std::optional<Envelope>& signed_record,
                                            bool refresh_target, uint32_t threshold)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // Loads the chain (meta "trust"), takes a newer root or keyring from the
  // files, checks master.key is the keyring's master key.
  absl::Status OpenTrust();
  // Appends a TRUST_CHANGED event for `env` (accepted by `chain`, chain_
  // or the copy that replaces it once the batch is durable) with that
  // chain stored (TrustStore) to `batch`; returns the event seq. write_mu_
  // held.
  absl::StatusOr<uint64_t> PutTrustEvent(rocksdb::WriteBatch* batch, const std::string& app,
                                         const Envelope& env, const TrustChain& chain)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // What TrustRecords() serves from now on: a copy of chain_'s records, so
  // that a watch starting never waits for write_mu_ (held across synced
  // commits and collections).
  void PublishChain() ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // Checks what a caller signed against what the master prepared now
  // (`prepared`): the same record but for its issue time, within the skew,
  // and signed as the chain requires. Adds the master's signature.
  // Signed by some owners but fewer than the threshold: kept in pending_
  // (with `args`, to be written as asked once co-signed), FailedPrecondition.
  absl::StatusOr<Envelope> CheckSigned(const Envelope& signed_env, const Envelope& prepared,
                                       const std::string& action, const std::string& principal,
                                       const std::optional<CommitArgs>& commit,
                                       const std::optional<FlipArgs>& flip)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  struct PendingEntry {
    PendingInfo info;
    std::optional<CommitArgs> commit;
    std::optional<FlipArgs> flip;
    Clock::TimePoint since;  // options_.clock
  };
  // The owners of `app`: nullopt when it does not exist; empty for an app
  // from before owners.
  absl::StatusOr<std::optional<std::vector<std::string>>> LoadOwners(const std::string& app) const;
  // Puts back an entry a Cosign took, when what it wrote was refused (a
  // refusal changes nothing); not over a newer one of the same action.
  void RestorePending(const std::string& app, PendingEntry entry);
  void PutOwners(rocksdb::WriteBatch* batch, const std::string& app,
                 const std::vector<std::string>& owners);
  // What an audit entry says of a write.
  static AuditEntry Entry(const std::string& principal, std::string action, const std::string& app,
                          const std::string& target);
  // Logs a write that wrote nothing (refused, failed, or already done),
  // unsynced; the outcome is `status`'s unless the entry has one.
  void AuditAlone(AuditEntry entry, const absl::Status& status);
  // Flip to `target` (or, for a rollback with an empty target, to the top of
  // the back stack). Takes write_mu_.
  absl::StatusOr<FlipResult> Flip(const FlipArgs& args, LiveRecord::Kind kind);
  // The envelope of a live record: signed by the master's key, or under a
  // root of trust checked as the caller signed it (CheckSigned; `action`
  // names it), then `record` is what was signed. Asked without a signature,
  // nullopt with `to_sign` the record prepared. write_mu_ held.
  absl::StatusOr<std::optional<Envelope>> SignLive(const FlipArgs& args, const std::string& action,
                                                   LiveRecord* record, Envelope* to_sign)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // Writes a signed live record in one synced batch: its event, the record,
  // the app's new `state`, the audit entry (outcome set). Returns the seq.
  // write_mu_ held.
  absl::StatusOr<uint64_t> WriteLive(const LiveRecord& record, const Envelope& env,
                                     const AppState& state, AuditEntry entry)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // Makes a write of hard state durable: a single master commits `batch`;
  // a group's node appends it to the group's log first (with `roots`, the
  // trees every node must hold). write_mu_ held.
  absl::Status Durable(rocksdb::WriteBatch* batch, uint64_t new_head,
                       std::span<const Hash> roots = {}) ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // An event with the next seq for `batch`. write_mu_ held.
  Event NextEvent(Event::Type type, const std::string& app, const std::string& version,
                  const Envelope& env) const;

  MasterOptions options_;
  std::unique_ptr<RecordStore> records_;
  std::unique_ptr<SiteRegistry> sites_;
  std::unique_ptr<AuditLog> audit_;
  const Authorizer authz_;
  SigningKey key_;
  mutable Mutex write_mu_;
  bool chained_ = false;  // set by Open, then constant
  uint64_t group_index_ ABSL_GUARDED_BY(write_mu_) = 0;
  std::unique_ptr<TrustChain> chain_ ABSL_GUARDED_BY(write_mu_);
  mutable Mutex published_mu_;  // never held with another lock
  TrustSnapshot published_chain_ ABSL_GUARDED_BY(published_mu_);
  RootRecord published_root_ ABSL_GUARDED_BY(published_mu_);
  std::optional<KeyringRecord> published_keyring_ ABSL_GUARDED_BY(published_mu_);
  // app -> waiting for co-signers (at most one per action; kMaxPending apps).
  static constexpr size_t kMaxPending = 1024;
  std::map<std::string, std::vector<PendingEntry>> pending_ ABSL_GUARDED_BY(write_mu_);
  // One garbage collection at a time; sweeps_ counts those done, so that a
  // commit whose closure walk raced one walks again (Commit).
  Mutex gc_mu_;
  std::atomic<uint64_t> sweeps_{0};
  // An entry of kUploadsFamily: BE at, BE bytes, principal (an entry of
  // before quotas is BE at alone).
  struct UploadEntry {
    uint64_t at_ms = 0;
    uint64_t bytes = 0;
    std::string principal;
  };
  static std::string EncodeUpload(const UploadEntry& e);
  static UploadEntry DecodeUpload(std::string_view value);
  // Per principal, the bytes its upload entries hold (rebuilt at Open).
  mutable Mutex quota_mu_;
  std::map<std::string, uint64_t> unreferenced_ ABSL_GUARDED_BY(quota_mu_);
  // Twice the bytes of the uploads being written now (PutObjects).
  uint64_t uploading_ ABSL_GUARDED_BY(quota_mu_) = 0;
  // Takes the entries in `batch`'s keys off the counts (they are being
  // deleted); `values` as read before.
  void Unreference(const std::vector<std::string>& values);
  mutable Mutex checkpoint_mu_;
  std::optional<Envelope> checkpoint_ ABSL_GUARDED_BY(checkpoint_mu_);
  uint64_t checkpoint_seq_ ABSL_GUARDED_BY(checkpoint_mu_) = 0;
};

}  // namespace vms

#endif  // VMS_SERVER_MASTER_H_
