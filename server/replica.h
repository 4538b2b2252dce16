// A site replica's logic: applies its upstream's event log, in order, to its
// own RecordStore, fetching and verifying every object first.
//
// Rules (DESIGN.md, Replication and Trust):
//  - Every record is verified against the trusted master key before it is
//    stored; one that fails is refused and nothing changes.
//  - A release is stored (and its event appended) only once its whole
//    closure is present and valid here: the replica's own event log, which
//    downstream replicas follow, only ever names complete versions.
//  - A live record is applied only for a version held complete; if it is not
//    yet, it is fetched first. Its live_seq must be above the last applied
//    for the app, so an old record replayed later is refused.
//  - A retired version is never fetched (core/lifecycle.h): not for its
//    release when the upstream shows it is retired later, not for a live
//    record of it, never for its retirement.
//  - Events keep the upstream's seq, so a replica serves the same log.
//
// Apply() and Recheck() are called by one thread (the follower); reads, via
// read_api(), are thread-safe and concurrent with them.
#ifndef VMS_SERVER_REPLICA_H_
#define VMS_SERVER_REPLICA_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/chain.h"
#include "core/clock.h"
#include "core/counter.h"
#include "core/keys.h"
#include "core/sync.h"
#include "net/upstream.h"
#include "records.pb.h"
#include "server/gc.h"
#include "server/record_store.h"

namespace vms {

// What a replica counts (vms-replica makes them, net/metrics.h); any may be
// null.
struct ReplicaMetrics {
  prometheus::Counter* objects_fetched = nullptr;        // new objects stored from upstream
  prometheus::Counter* bytes_fetched = nullptr;          // their raw bytes
  prometheus::Histogram* fetch_seconds = nullptr;        // one Fetch() of what a step lacks
  prometheus::Counter* verification_failures = nullptr;  // records, objects, corrupt on disk
};

struct ReplicaOptions {
  std::string data_dir;
  std::string site;
  Clock* clock = Clock::Real();  // judges checkpoints and expiry; tests inject a FakeClock
  rocksdb::Env* env = nullptr;   // the store's I/O (Db::Open); tests inject a power cut
  ReplicaMetrics metrics;
};

// Progress of fetching one version: raw bytes fetched / bytes this site
// lacked when it started.
using FetchProgressFn = std::function<void(const std::string& app, const std::string& version,
                                           uint64_t done, uint64_t total)>;

struct FsckReport {
  uint64_t objects = 0;       // objects checked
  uint64_t bytes = 0;         // their stored size
  std::vector<Hash> corrupt;  // do not decode to their hash
  uint64_t releases = 0;
  std::vector<std::string> incomplete;  // "app version: N objects missing"
};

struct FetchStats {
  uint64_t objects_fetched = 0;
  uint64_t bytes_fetched = 0;  // raw
  uint64_t objects_present = 0;
};

class Replica {
 public:
  // Opens DATA_DIR/db. `trust` is what --trust names (core/chain.h): a
  // root of trust, or the master's public key. The chain accepted so far is
  // kept in the store and restored on top of it.
  static absl::StatusOr<std::unique_ptr<Replica>> Open(ReplicaOptions options, TrustChain trust);

  // Applies the upstream event with seq applied_seq() + 1; older seqs are
  // ignored (OK), a gap is FailedPrecondition.
  //  - Unauthenticated: a record does not verify (against the chain of
  //    trust: a root, keyring or ownership record, or a release or live
  //    record not signed by its app's owners).
  //  - FailedPrecondition: a stale or replayed live record, or a release
  //    conflicting with one held.
  //  - other errors: the upstream failed or lacks an object; retry later.
  //
  // `retired_later`: the upstream's word (FollowMessage.retired_later) that
  // the event's version is retired further along the log, as its signed
  // RETIRE record. Checked (core/lifecycle.h), it makes the event apply as
  // records only, nothing fetched; one that does not check is ignored.
  absl::Status Apply(const Event& event, Upstream* upstream, const FetchProgressFn& progress,
                     const Envelope* retired_later = nullptr);
  // Whether the last event applied was a release applied as retired (the
  // follower reports nothing for it: no one waits for it).
  bool last_applied_retired() const { return last_applied_retired_; }

  // Re-walks every release held and fetches whatever is missing (after
  // corruption was found and removed). Clears the recheck flag on success.
  absl::Status Recheck(Upstream* upstream);
  bool needs_recheck() const { return needs_recheck_; }
  // Removes a corrupt object and schedules a recheck (persisted).
  void Quarantine(const Hash& hash);
  // Verifies every object held and the closure of every release. With
  // `repair`, corrupt objects are quarantined, so the next start fetches
  // them again.
  absl::StatusOr<FsckReport> Fsck(bool repair);

  // Mark and sweep of this store (server/gc.h): Apply() waits only for the
  // sweep itself.
  absl::StatusOr<GcReport> CollectGarbage(bool dry_run = false);
  // The collection a retirement asks for: a retirement applied writes the
  // wish in the same batch, and only a collection that succeeded after it
  // clears it, so neither a restart nor a failed collection loses it.
  // nullopt: nothing wanted; else the report of the collection run now.
  absl::StatusOr<std::optional<GcReport>> CollectIfWanted();
  bool gc_wanted() const;

  uint64_t applied_seq() const { return records_->head_seq(); }
  ReadApi* read_api() { return records_.get(); }
  RecordStore& records() { return *records_; }
  const FetchStats& last_fetch() const { return last_fetch_; }
  const std::string& site() const { return options_.site; }

  // A checkpoint from upstream (Heartbeat.checkpoint): true if newer than
  // the one held (then held, and passed on downstream). Errors as
  // TrustChain::AcceptCheckpoint.
  absl::StatusOr<bool> AcceptCheckpoint(const Envelope& env);
  CheckpointState checkpoint() const;  // judged by options' clock
  std::optional<Envelope> checkpoint_envelope() const;
  // What the Read service serves as Trust and at the start of a Watch.
  TrustSnapshot TrustRecords() const;
  bool chained() const;

 private:
  Replica(ReplicaOptions options, TrustChain trust, std::unique_ptr<RecordStore> records,
          bool recheck);
  absl::Status ApplyTrust(const Event& event);
  absl::Status ApplyRelease(const Event& event, Upstream* upstream, const FetchProgressFn& progress,
                            const Envelope* retired_later);
  absl::Status ApplyLive(const Event& event, Upstream* upstream, const FetchProgressFn& progress,
                         const Envelope* retired_later);
  // `retire` checked as the retirement of app/version/root: against the
  // chain held, or, signed under an ownership record further along the log,
  // against a scratch copy extended by the upstream's chain (nothing is
  // accepted into the chain held: the log brings those records in order).
  absl::StatusOr<LiveRecord> VerifiedRetirement(const Envelope& retire, std::string_view app,
                                                std::string_view version, std::string_view root,
                                                Upstream* upstream) const;
  // Fetches what is missing of the closure of `root`; then checks it whole.
  // Returns the closure's newly complete trees to mark.
  absl::StatusOr<std::vector<std::pair<Hash, TreeTotals>>> FetchClosure(
      const Release& release, Upstream* upstream, const FetchProgressFn& progress);
  // upstream->Fetch(), timed into metrics.fetch_seconds.
  absl::Status TimedFetch(Upstream* upstream, std::span<const Hash> hashes,
                          const Upstream::Sink& sink);
  absl::StatusOr<Release> VerifiedRelease(const Envelope& env, TrustChain::Order order) const;

  ReplicaOptions options_;
  // Changed by the follower's thread (Apply), read by the Read service's.
  mutable Mutex chain_mu_;
  TrustChain chain_ ABSL_GUARDED_BY(chain_mu_);
  std::unique_ptr<RecordStore> records_;
  std::atomic<bool> needs_recheck_;
  FetchStats last_fetch_;
  // Held by Apply() and Recheck(), and by a collection's sweep.
  Mutex apply_mu_;
  bool last_applied_retired_ = false;  // the follower's thread only
};

}  // namespace vms

#endif  // VMS_SERVER_REPLICA_H_
