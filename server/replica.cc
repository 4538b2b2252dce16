#include "server/replica.h"

#include <unordered_map>
#include <unordered_set>

#include "core/clock.h"
#include "core/closure.h"
#include "core/envelope.h"
#include "core/file_util.h"
#include "core/lifecycle.h"
#include "core/log.h"
#include "core/names.h"
#include "core/status_macros.h"
#include "core/strings.h"
#include "core/sync.h"
#include "core/tree.h"
#include "server/trust_store.h"
#include "spdlog/spdlog.h"

namespace vms {

namespace {

constexpr char kRecheckKey[] = "recheck";
// The seq of the newest retirement applied that no collection has followed
// yet (decimal): the follower's collection is owed until it is cleared.
constexpr char kGcWantedMeta[] = "gc.wanted";

using HashSet = std::unordered_set<Hash, HashHasher>;

// Fetched objects pass through RocksDB's write-ahead log before they settle
// in blob files, so a fetch needs up to twice its size while the log lasts
// (it is bounded by the objects' memtables, 4 x 128 MiB), and room besides
// for the store's own files.
constexpr uint64_t kWalBound = 512ull << 20;
constexpr uint64_t kSpareBytes = 64ull << 20;

std::string Mib(uint64_t bytes) { return StrCat(bytes >> 20, " MiB"); }

absl::Status NoSpace(const std::string& dir, std::string_view detail) {
  return absl::ResourceExhaustedError(
      StrCat("no space left on ", dir, ": ", detail,
             "; free some space or grow the disk, and the replica goes on by itself"));
}

}  // namespace

absl::StatusOr<std::unique_ptr<Replica>> Replica::Open(ReplicaOptions options, TrustChain trust) {
  VMS_RETURN_IF_ERROR(ValidateSiteName(options.site));
  VMS_RETURN_IF_ERROR(MakeDirs(options.data_dir));
  VMS_ASSIGN_OR_RETURN(auto records, RecordStore::Open(options.data_dir + "/db", {}, options.env));
  VMS_ASSIGN_OR_RETURN(auto recheck, records->GetMeta(kRecheckKey));
  if (trust.chained()) {
    // The chain starts at the first root this replica was given (a newer
    // root.pub given later is one it already holds, or refused).
    TrustStore store(records.get());
    VMS_ASSIGN_OR_RETURN(TrustChain held, store.Load(trust.first_root(), options.clock->WallMs()));
    if (held.root().record.version() < trust.root().record.version()) {
      ReplicaLog()->warn(
          "--trust names root version {}, but this replica holds version {}: it "
          "takes a newer root only from the master's log",
          trust.root().record.version(), held.root().record.version());
    }
    trust = std::move(held);
  }
  return std::unique_ptr<Replica>(
      new Replica(std::move(options), std::move(trust), std::move(records), recheck.has_value()));
}

Replica::Replica(ReplicaOptions options, TrustChain trust, std::unique_ptr<RecordStore> records,
                 bool recheck)
    : options_(std::move(options)),
      chain_(std::move(trust)),
      records_(std::move(records)),
      needs_recheck_(recheck) {}

absl::StatusOr<GcReport> Replica::CollectGarbage(bool dry_run) {
  auto report = vms::CollectGarbage(
      records_.get(),
      {.dry_run = dry_run, .exclusive = [this](const std::function<absl::Status()>& fn) {
         MutexLock lock(&apply_mu_);
         return fn();
       }});
  if (report.ok()) {
    ReplicaLog()->info(
        "gc{} versions_kept={} retired={} objects_kept={} objects_removed={} bytes={} "
        "seconds={:.3f} locked_seconds={:.3f}",
        dry_run ? " (dry run)" : "", report->versions_kept, report->versions_retired,
        report->objects_kept, report->objects_removed, report->bytes_removed, report->seconds,
        report->locked_seconds);
  }
  return report;
}

absl::StatusOr<std::optional<GcReport>> Replica::CollectIfWanted() {
  VMS_ASSIGN_OR_RETURN(auto wanted, records_->GetMeta(kGcWantedMeta));
  if (!wanted) return std::nullopt;
  VMS_ASSIGN_OR_RETURN(auto report, CollectGarbage());
  // A retirement applied during the collection may have freed more than
  // its mark saw: only the wish this collection answered is cleared.
  MutexLock apply_lock(&apply_mu_);
  VMS_ASSIGN_OR_RETURN(auto now, records_->GetMeta(kGcWantedMeta));
  if (now == wanted) {
    rocksdb::WriteBatch batch;
    records_->DeleteMeta(&batch, kGcWantedMeta);
    VMS_RETURN_IF_ERROR(records_->Commit(&batch, 0));
  }
  return report;
}

bool Replica::gc_wanted() const {
  auto wanted = records_->GetMeta(kGcWantedMeta);
  return !wanted.ok() || wanted->has_value();
}

absl::StatusOr<LiveRecord> Replica::VerifiedRetirement(const Envelope& retire, std::string_view app,
                                                       std::string_view version,
                                                       std::string_view root,
                                                       Upstream* upstream) const {
  absl::StatusOr<LiveRecord> record;
  std::optional<TrustChain> scratch;
  {
    MutexLock lock(&chain_mu_);
    record = chain_.VerifyLive(retire, TrustChain::Order::kHeld);
    if (!record.ok() && chain_.chained()) scratch = chain_;
  }
  if (scratch) {
    auto theirs = upstream->Trust();
    if (!theirs.ok()) return record.status();
    for (const Envelope& env : theirs->records()) {
      if (!scratch->Accept(env).ok()) break;
    }
    record = scratch->VerifyLive(retire, TrustChain::Order::kHeld);
  }
  if (!record.ok()) return record.status();
  VMS_RETURN_IF_ERROR(RetirementMatches(*record, app, version, root));
  return record;
}

absl::Status Replica::Apply(const Event& event, Upstream* upstream, const FetchProgressFn& progress,
                            const Envelope* retired_later) {
  MutexLock apply_lock(&apply_mu_);
  last_applied_retired_ = false;
  uint64_t applied = applied_seq();
  if (event.seq() <= applied) return absl::OkStatus();  // a resend after reconnecting
  if (event.seq() != applied + 1) {
    return absl::FailedPreconditionError(
        StrCat("upstream skipped events: got seq ", event.seq(), " after ", applied));
  }
  absl::Status s;
  switch (event.type()) {
    case Event::RELEASE_ADDED:
      s = ApplyRelease(event, upstream, progress, retired_later);
      break;
    case Event::LIVE_CHANGED:
      s = ApplyLive(event, upstream, progress, retired_later);
      break;
    case Event::TRUST_CHANGED:
      s = ApplyTrust(event);
      break;
    default: {
      // A kind this build does not know: keep the log gapless and go on.
      rocksdb::WriteBatch batch;
      records_->PutEvent(&batch, event);
      s = records_->Commit(&batch, event.seq());
    }
  }
  // A record that does not verify, or an object that does not match its hash.
  if (absl::IsUnauthenticated(s) || absl::IsDataLoss(s)) {
    Count(options_.metrics.verification_failures);
  }
  return s;
}

absl::Status Replica::ApplyTrust(const Event& event) {
  rocksdb::WriteBatch batch;
  {
    MutexLock lock(&chain_mu_);
    if (chain_.chained()) {
      // A record held is a no-op; an older or different one is refused.
      auto accepted = chain_.Accept(event.envelope());
      if (!accepted.ok()) {
        return absl::Status(accepted.status().code(),
                            StrCat("refusing trust record of event ", event.seq(), ": ",
                                   accepted.status().message()));
      }
      if (*accepted) {
        ReplicaLog()->info("trust seq={} accepted {}", event.seq(),
                           event.envelope().payload_type());
      }
      VMS_RETURN_IF_ERROR(TrustStore(records_.get()).Put(&batch, chain_));
    }
  }
  records_->PutEvent(&batch, event);
  return records_->Commit(&batch, event.seq());
}

absl::StatusOr<Release> Replica::VerifiedRelease(const Envelope& env,
                                                 TrustChain::Order order) const {
  absl::StatusOr<Release> release;
  {
    MutexLock lock(&chain_mu_);
    release = chain_.VerifyRelease(env, order);
  }
  if (!release.ok()) return release.status();
  if (release->root().size() != Hash::kSize) {
    return absl::DataLossError(
        StrCat("release ", release->app(), " ", release->version(), " has a malformed root"));
  }
  return release;
}

absl::Status Replica::ApplyRelease(const Event& event, Upstream* upstream,
                                   const FetchProgressFn& progress, const Envelope* retired_later) {
  auto release = VerifiedRelease(event.envelope(), TrustChain::Order::kCurrent);
  if (!release.ok()) return release.status();
  if (release->app() != event.app() || release->version() != event.version()) {
    return absl::UnauthenticatedError(StrCat("event ", event.seq(), " names ", event.app(), " ",
                                             event.version(), " but carries a release of ",
                                             release->app(), " ", release->version()));
  }
  auto held = records_->FindRelease(release->app(), release->version());
  if (!held.ok()) return held.status();
  bool store_release = true;
  if (*held) {
    VMS_ASSIGN_OR_RETURN(auto mine, ParseRelease(**held));
    if (mine.root() != release->root()) {
      return absl::FailedPreconditionError(StrCat("release ", release->app(), " ",
                                                  release->version(),
                                                  " conflicts with the one held here"));
    }
    store_release = false;  // fetched earlier, for a live record
  }
  VMS_ASSIGN_OR_RETURN(auto state, records_->LoadAppState(release->app()));
  AppState s = state.value_or(AppState());
  if (retired_later != nullptr && !IsRetired(s, release->version())) {
    // Retired further along the log: its objects are gone, or going, from
    // every store. Held as a record only, it is never fetched or reported.
    auto retire = VerifiedRetirement(*retired_later, release->app(), release->version(),
                                     release->root(), upstream);
    if (retire.ok()) {
      rocksdb::WriteBatch batch;
      records_->PutEvent(&batch, event);
      if (store_release) {
        AddReleaseToState(*release, &s);
        records_->PutRelease(&batch, *release, event.envelope());
      }
      s.add_retired_ahead(release->version());
      records_->PutAppState(&batch, s);
      records_->PutRetiredAhead(&batch, release->app(), release->version(), *retired_later);
      VMS_RETURN_IF_ERROR(records_->Commit(&batch, event.seq()));
      last_applied_retired_ = true;
      ReplicaLog()->info(
          "applied app={} version={} seq={} without its objects: retired at live_seq {}",
          release->app(), release->version(), event.seq(), retire->live_seq());
      return absl::OkStatus();
    }
    ReplicaLog()->warn("seq={}: upstream says {} {} is retired later, but: {}; fetching it",
                       event.seq(), release->app(), release->version(),
                       Sv(retire.status().message()));
  }
  VMS_ASSIGN_OR_RETURN(auto marks, FetchClosure(*release, upstream, progress));

  rocksdb::WriteBatch batch;
  records_->PutEvent(&batch, event);
  if (store_release) {
    AddReleaseToState(*release, &s);
    records_->PutRelease(&batch, *release, event.envelope());
    records_->PutAppState(&batch, s);
  }
  for (const auto& [tree, totals] : marks) records_->objects().MarkComplete(&batch, tree, totals);
  VMS_RETURN_IF_ERROR(records_->Commit(&batch, event.seq()));
  ReplicaLog()->info(
      "complete app={} version={} seq={} fetched_objects={} fetched_bytes={} present={}",
      release->app(), release->version(), event.seq(), last_fetch_.objects_fetched,
      last_fetch_.bytes_fetched, last_fetch_.objects_present);
  return absl::OkStatus();
}

absl::Status Replica::ApplyLive(const Event& event, Upstream* upstream,
                                const FetchProgressFn& progress, const Envelope* retired_later) {
  absl::StatusOr<LiveRecord> record;
  {
    MutexLock lock(&chain_mu_);
    record = chain_.VerifyLive(event.envelope(), TrustChain::Order::kCurrent);
  }
  if (!record.ok()) return record.status();
  if (record->app() != event.app() || record->version() != event.version()) {
    return absl::UnauthenticatedError(
        StrCat("event ", event.seq(), " does not match the live record it carries"));
  }
  VMS_ASSIGN_OR_RETURN(auto state, records_->LoadAppState(record->app()));
  AppState s = state.value_or(AppState());
  if (record->live_seq() <= s.live_seq()) {
    return absl::FailedPreconditionError(StrCat("stale live record for ", record->app(),
                                                ": live_seq ", record->live_seq(), " is not above ",
                                                s.live_seq(), ", already applied (replayed?)"));
  }

  // Never flip to a version not held whole: fetch it first if need be. But
  // never fetch a version only to retire it, or one retired later (a
  // record of it moves no pointer anyone follows by then).
  rocksdb::WriteBatch batch;
  auto held = records_->FindRelease(record->app(), record->version());
  if (!held.ok()) return held.status();
  bool retired = record->kind() == LiveRecord::RETIRE || IsRetired(s, record->version());
  if (!retired && !*held && retired_later != nullptr) {
    auto retire = VerifiedRetirement(*retired_later, record->app(), record->version(),
                                     record->root(), upstream);
    retired = retire.ok();
    if (!retire.ok()) {
      ReplicaLog()->warn("seq={}: upstream says {} {} is retired later, but: {}; fetching it",
                         event.seq(), record->app(), record->version(),
                         Sv(retire.status().message()));
    }
  }
  if (!*held && !retired) {
    VMS_ASSIGN_OR_RETURN(auto releases, upstream->Releases(record->app()));
    const Envelope* found = nullptr;
    for (const Envelope& env : releases) {
      auto r = ParseRelease(env);
      if (r.ok() && r->version() == record->version()) found = &env;
    }
    if (found == nullptr) {
      return absl::NotFoundError(StrCat("upstream has no release ", record->app(), " ",
                                        record->version(), " for live record ",
                                        record->live_seq()));
    }
    VMS_ASSIGN_OR_RETURN(auto release, VerifiedRelease(*found, TrustChain::Order::kHeld));
    VMS_ASSIGN_OR_RETURN(auto marks, FetchClosure(release, upstream, progress));
    AddReleaseToState(release, &s);
    records_->PutRelease(&batch, release, *found);
    for (const auto& [tree, totals] : marks) {
      records_->objects().MarkComplete(&batch, tree, totals);
    }
    held = std::optional<Envelope>(*found);
  }
  if (*held) {
    auto release = ParseRelease(**held);
    if (!release.ok()) return release.status();
    if (release->root() != record->root()) {
      return absl::UnauthenticatedError(StrCat("live record ", record->live_seq(), " of ",
                                               record->app(), " names another root than release ",
                                               record->version()));
    }
  }
  AddLiveToState(*record, &s);
  records_->PutEvent(&batch, event);
  records_->PutLive(&batch, *record, event.envelope());
  records_->PutAppState(&batch, s);
  if (record->kind() == LiveRecord::RETIRE) {
    records_->DeleteRetiredAhead(&batch, record->app(), record->version());
    records_->PutMeta(&batch, kGcWantedMeta, StrCat(event.seq()));
  }
  if (absl::Status st = records_->Commit(&batch, event.seq()); !st.ok()) return st;
  if (record->kind() == LiveRecord::RETIRE) {
    ReplicaLog()->info("retire app={} version={} live_seq={} seq={}", record->app(),
                       record->version(), record->live_seq(), event.seq());
    return absl::OkStatus();
  }
  ReplicaLog()->info("live app={} version={} live_seq={} seq={}", record->app(), record->version(),
                     record->live_seq(), event.seq());
  return absl::OkStatus();
}

absl::StatusOr<bool> Replica::AcceptCheckpoint(const Envelope& env) {
  absl::StatusOr<bool> accepted;
  {
    MutexLock lock(&chain_mu_);
    accepted = chain_.AcceptCheckpoint(env, options_.clock->WallMs());
  }
  if (accepted.ok() && *accepted) {
    // Kept across restarts (not synced: losing one only means waiting for
    // the next), so an old one replayed after a restart is refused too.
    if (absl::Status s = TrustStore(records_.get()).PutCheckpoint(env); !s.ok()) {
      ReplicaLog()->warn("checkpoint not stored: {}", Sv(s.message()));
    }
  }
  return accepted;
}

CheckpointState Replica::checkpoint() const {
  MutexLock lock(&chain_mu_);
  return chain_.checkpoint(options_.clock->WallMs());
}

std::optional<Envelope> Replica::checkpoint_envelope() const {
  MutexLock lock(&chain_mu_);
  return chain_.checkpoint_envelope();
}

TrustSnapshot Replica::TrustRecords() const {
  MutexLock lock(&chain_mu_);
  if (!chain_.chained()) return TrustSnapshot();
  return chain_.Snapshot();
}

bool Replica::chained() const {
  MutexLock lock(&chain_mu_);
  return chain_.chained();
}

absl::StatusOr<std::vector<std::pair<Hash, TreeTotals>>> Replica::FetchClosure(
    const Release& release, Upstream* upstream, const FetchProgressFn& progress) {
  ObjectStore& store = records_->mutable_objects();
  last_fetch_ = {};
  Mutex stats_mu;
  uint64_t done = 0, total = 0;
  auto sink = [&](std::vector<StoredObject>* batch) -> absl::Status {
    uint64_t raw = 0;
    for (const StoredObject& o : *batch) raw += o.raw_size;
    auto stats = store.Ingest(batch);
    if (absl::IsResourceExhausted(stats.status())) {
      return NoSpace(options_.data_dir, Sv(stats.status().message()));
    }
    if (!stats.ok()) return stats.status();
    Count(options_.metrics.objects_fetched, stats->stored);
    Count(options_.metrics.bytes_fetched, raw);
    MutexLock lock(&stats_mu);
    last_fetch_.objects_fetched += stats->stored;
    last_fetch_.objects_present += stats->present;
    last_fetch_.bytes_fetched += raw;
    done += raw;
    if (progress) progress(release.app(), release.version(), done, total);
    return absl::OkStatus();
  };
  auto fetch_missing = [&](const std::vector<Hash>& hashes) -> absl::Status {
    VMS_ASSIGN_OR_RETURN(auto missing, store.Missing(hashes));
    last_fetch_.objects_present += hashes.size() - missing.size();
    if (missing.empty()) return absl::OkStatus();
    return TimedFetch(upstream, missing, sink);
  };

  // Walk the trees level by level, fetching each level's missing trees in one
  // go; subtrees already complete here are skipped whole.
  VMS_ASSIGN_OR_RETURN(const Hash root, Hash::FromBytes(release.root()));
  std::vector<Hash> level = {root};
  HashSet seen_trees = {root};
  std::unordered_map<Hash, uint64_t, HashHasher> leaves;  // blob or chunk -> size
  while (!level.empty()) {
    VMS_RETURN_IF_ERROR(fetch_missing(level));
    VMS_ASSIGN_OR_RETURN(auto complete, store.CompleteTrees(level));
    std::vector<Hash> next, chunk_lists;
    for (size_t i = 0; i < level.size(); ++i) {
      if (complete[i]) continue;
      VMS_ASSIGN_OR_RETURN(auto raw, store.GetRaw(level[i]));
      VMS_ASSIGN_OR_RETURN(auto entries, DecodeTree(raw));
      for (const TreeEntry& e : entries) {
        if (e.type == EntryType::kDir) {
          if (seen_trees.insert(e.hash).second) next.push_back(e.hash);
        } else if (e.type == EntryType::kFile) {
          if (e.chunked) {
            chunk_lists.push_back(e.hash);
          } else {
            leaves.emplace(e.hash, e.size);
          }
        }
      }
    }
    VMS_RETURN_IF_ERROR(fetch_missing(chunk_lists));
    for (const Hash& h : chunk_lists) {
      VMS_ASSIGN_OR_RETURN(auto raw, store.GetRaw(h));
      VMS_ASSIGN_OR_RETURN(auto chunks, DecodeChunkList(raw));
      for (const ChunkRef& c : chunks) leaves.emplace(c.hash, c.size);
    }
    level = std::move(next);
  }

  std::vector<Hash> wanted;
  wanted.reserve(leaves.size());
  for (const auto& [h, size] : leaves) wanted.push_back(h);
  auto sizes = store.Sizes(wanted);
  if (!sizes.ok()) return sizes.status();
  std::vector<Hash> missing;
  for (size_t i = 0; i < wanted.size(); ++i) {
    if ((*sizes)[i]) continue;
    missing.push_back(wanted[i]);
    total += leaves[wanted[i]];
  }
  last_fetch_.objects_present += wanted.size() - missing.size();
  // Refused before a byte is written: a fetch that cannot finish would only
  // fill the disk (and a failed write leaves RocksDB in an error state).
  if (total > 0) {
    auto free = FreeBytes(options_.data_dir);
    if (!free.ok()) return free.status();
    const uint64_t need = total + std::min(total, kWalBound) + kSpareBytes;
    if (*free < need) {
      return NoSpace(options_.data_dir,
                     StrCat(release.app(), " ", release.version(), " needs about ", Mib(need),
                            " to fetch its ", Mib(total), ", and ", Mib(*free), " are free"));
    }
  }
  if (progress) progress(release.app(), release.version(), 0, total);
  if (!missing.empty()) {
    VMS_RETURN_IF_ERROR(TimedFetch(upstream, missing, sink));
  }

  // Everything should be here now: prove it (sizes, structure) before
  // anything names this version.
  VMS_ASSIGN_OR_RETURN(auto closure, WalkClosure(store, root));
  if (!closure.missing.empty()) {
    return absl::UnavailableError(
        StrCat(closure.missing.size(), " objects of ", release.app(), " ", release.version(),
               " still missing after the fetch (first: ", closure.missing.front().Short(), ")"));
  }
  return std::move(closure.newly_complete);
}

absl::Status Replica::Recheck(Upstream* upstream) {
  MutexLock apply_lock(&apply_mu_);
  needs_recheck_ = false;  // a Quarantine() from now on asks again
  {
    // No complete mark is trusted: one written by a fetch that raced a
    // Quarantine() (its walk saw the object, its commit came after the
    // removal) would hide the removed object from this walk for good.
    rocksdb::WriteBatch batch;
    records_->objects().ForgetComplete(&batch);
    VMS_RETURN_IF_ERROR(records_->Commit(&batch, 0));
  }
  VMS_ASSIGN_OR_RETURN(auto apps, records_->ListApps());
  for (const AppState& app : apps) {
    auto versions = records_->ListVersions(app.app());
    if (absl::IsNotFound(versions.status())) continue;
    if (!versions.ok()) return versions.status();
    for (const Envelope& env : *versions) {
      VMS_ASSIGN_OR_RETURN(auto release, ParseRelease(env));
      if (IsRetired(app, release.version())) continue;  // gone upstream too
      VMS_ASSIGN_OR_RETURN(auto marks, FetchClosure(release, upstream, nullptr));
      rocksdb::WriteBatch batch;
      for (const auto& [tree, totals] : marks) {
        records_->objects().MarkComplete(&batch, tree, totals);
      }
      VMS_RETURN_IF_ERROR(records_->Commit(&batch, 0));
    }
  }
  if (needs_recheck_) return absl::OkStatus();
  rocksdb::WriteBatch batch;
  records_->DeleteMeta(&batch, kRecheckKey);
  VMS_RETURN_IF_ERROR(records_->Commit(&batch, 0));
  ReplicaLog()->info("recheck done: every release held is complete");
  return absl::OkStatus();
}

absl::StatusOr<FsckReport> Replica::Fsck(bool repair) {
  FsckReport report;
  const ObjectStore& store = records_->objects();
  VMS_RETURN_IF_ERROR(
      store.CheckAll([&](const Hash& hash, uint64_t stored, const absl::Status& check) {
        ++report.objects;
        report.bytes += stored;
        if (!check.ok()) report.corrupt.push_back(hash);
      }));
  if (repair) {
    for (const Hash& h : report.corrupt) Quarantine(h);
  }
  VMS_ASSIGN_OR_RETURN(auto apps, records_->ListApps());
  for (const AppState& app : apps) {
    auto versions = records_->ListVersions(app.app());
    if (!versions.ok()) continue;
    for (const Envelope& env : *versions) {
      VMS_ASSIGN_OR_RETURN(auto release, ParseRelease(env));
      if (IsRetired(app, release.version())) continue;  // its objects are not held
      ++report.releases;
      auto root = Hash::FromBytes(release.root());
      if (!root.ok()) {
        report.incomplete.push_back(
            StrCat(release.app(), " ", release.version(), ": malformed root"));
        continue;
      }
      auto closure = WalkClosure(store, *root);
      if (!closure.ok()) {
        report.incomplete.push_back(
            StrCat(release.app(), " ", release.version(), ": ", closure.status().message()));
      } else if (!closure->missing.empty()) {
        report.incomplete.push_back(StrCat(release.app(), " ", release.version(), ": ",
                                           closure->missing.size(), " objects missing"));
      }
    }
  }
  return report;
}

absl::Status Replica::TimedFetch(Upstream* upstream, std::span<const Hash> hashes,
                                 const Upstream::Sink& sink) {
  const auto start = std::chrono::steady_clock::now();
  absl::Status s = upstream->Fetch(hashes, sink);
  Observe(options_.metrics.fetch_seconds,
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return s;
}

void Replica::Quarantine(const Hash& hash) {
  ReplicaLog()->error("corrupt object={} found on disk: removed, it will be fetched again",
                      hash.Hex());
  Count(options_.metrics.verification_failures);
  rocksdb::WriteBatch batch;
  records_->PutMeta(&batch, kRecheckKey, "1");
  absl::Status s = records_->Commit(&batch, 0);
  if (s.ok()) s = records_->mutable_objects().Remove(hash);
  if (!s.ok()) ReplicaLog()->error("cannot quarantine object={}: {}", hash.Hex(), Sv(s.message()));
  needs_recheck_ = true;
}

}  // namespace vms
