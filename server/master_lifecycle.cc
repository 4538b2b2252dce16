// The master's half of an app's lifecycle (../shared/DESIGN.md,
// "Lifecycle"): retiring versions, retention policies, and collecting the
// objects no remaining version references.
#include <algorithm>
#include <chrono>
#include <limits>
#include <map>

#include "core/coding.h"
#include "core/envelope.h"
#include "core/lifecycle.h"
#include "core/log.h"
#include "core/names.h"
#include "core/status_macros.h"
#include "core/strings.h"
#include "server/gc.h"
#include "server/master.h"
#include "spdlog/spdlog.h"

namespace vms {

namespace {

constexpr uint32_t kDefaultKeepLast = 3;

// The last `keep_last` versions the world's live pointer left, newest
// first, from the live history (not the rollback stack, which a rollback
// pops: the version rolled back from was live a minute ago and is kept).
std::vector<std::string> RecentlyLive(const std::vector<Envelope>& history, const AppState& state,
                                      uint32_t keep_last) {
  std::vector<std::string> out;
  for (auto it = history.rbegin(); it != history.rend() && out.size() < keep_last; ++it) {
    auto r = ParseLiveRecord(*it);
    if (!r.ok() || r->kind() == LiveRecord::RETIRE || !r->label().empty() || r->sites_size() > 0)
      continue;
    if (r->version() == state.live_version()) continue;
    if (std::find(out.begin(), out.end(), r->version()) == out.end()) out.push_back(r->version());
  }
  // The rollback targets too, whatever the history says.
  const auto& stack = state.back_stack();
  for (int i = std::max(0, stack.size() - static_cast<int>(keep_last)); i < stack.size(); ++i) {
    if (std::find(out.begin(), out.end(), stack[i]) == out.end()) out.push_back(stack[i]);
  }
  return out;
}

// Why app/version may not be retired, or "" if it may: live or labelled
// anywhere, or one of the last `keep_last` live versions (rollback targets,
// and those rolled back from: `recent`, from RecentlyLive()).
std::string Pinned(const AppState& state, const std::string& version,
                   const std::vector<std::string>& recent, uint32_t keep_last) {
  if (state.live_version() == version) return "it is live";
  for (const AppState::Pointer& p : state.pointers()) {
    if (p.version() != version) continue;
    std::string what = p.label().empty() ? "live" : StrCat("label ", p.label());
    return StrCat("it is ", what, p.site().empty() ? "" : StrCat(" at ", p.site()));
  }
  for (const std::string& v : recent) {
    if (v == version) {
      return StrCat("it is one of the last ", keep_last,
                    " live versions (a rollback target; `vms policy ", state.app(),
                    " --keep-last N` changes how many)");
    }
  }
  return "";
}

GcSummary Summary(const GcReport& r, const std::string& store) {
  GcSummary s;
  s.set_store(store);
  s.set_versions_kept(r.versions_kept);
  s.set_versions_retired(r.versions_retired);
  s.set_objects_kept(r.objects_kept);
  s.set_objects_removed(r.objects_removed);
  s.set_bytes_removed(r.bytes_removed);
  s.set_seconds(r.seconds);
  s.set_locked_seconds(r.locked_seconds);
  return s;
}

}  // namespace

absl::StatusOr<RetentionPolicy> Master::Policy(const std::string& principal, const std::string& app,
                                               const std::optional<RetentionPolicy>& set) {
  VMS_RETURN_IF_ERROR(ValidateAppName(app));
  VMS_ASSIGN_OR_RETURN(auto state, records_->LoadAppState(app));
  if (!state) return absl::NotFoundError(StrCat("no app named ", app));
  if (set) {
    VMS_ASSIGN_OR_RETURN(auto owners, LoadOwners(app));
    absl::Status allowed = authz_.Check(principal, Action::kSetPolicy, app,
                                        owners.value_or(std::vector<std::string>()));
    AuditEntry entry =
        Entry(principal, "policy", app,
              StrCat("keep-last ", set->keep_last(), " keep-days ", set->keep_days()));
    if (!allowed.ok()) {
      AuditAlone(std::move(entry), allowed);
      return allowed;
    }
    if (set->keep_last() < 1 || set->keep_last() > 10000 || set->keep_days() > 36500) {
      return absl::InvalidArgumentError(
          "--keep-last is 1-10000 (at least the live version's predecessor stays a rollback "
          "target), --keep-days 0-36500");
    }
    rocksdb::WriteBatch batch;
    batch.Put(records_->db()->Family(kPolicyFamily), app, set->SerializeAsString());
    entry.set_outcome("ok");
    audit_->Add(&batch, std::move(entry));
    MutexLock write_lock(&write_mu_);
    VMS_RETURN_IF_ERROR(Durable(&batch, 0));
    return *set;
  }
  VMS_ASSIGN_OR_RETURN(auto value, records_->db()->Get(kPolicyFamily, app));
  RetentionPolicy policy;
  policy.set_keep_last(kDefaultKeepLast);
  if (value && !policy.ParseFromString(*value)) {
    return absl::DataLossError(StrCat("stored policy of ", app, " is corrupt"));
  }
  return policy;
}

absl::StatusOr<RetireResult> Master::Retire(const FlipArgs& args) {
  auto result = [&]() -> absl::StatusOr<RetireResult> {
    VMS_RETURN_IF_ERROR(ValidateAppName(args.app));
    VMS_RETURN_IF_ERROR(ValidateVersionName(args.version));
    VMS_ASSIGN_OR_RETURN(auto policy, Policy(args.principal, args.app, std::nullopt));
    RetireResult out;
    {
      MutexLock write_lock(&write_mu_);
      VMS_ASSIGN_OR_RETURN(auto loaded, records_->LoadAppState(args.app));
      if (!loaded) return absl::NotFoundError(StrCat("no app named ", args.app));
      VMS_ASSIGN_OR_RETURN(auto owners, LoadOwners(args.app));
      VMS_RETURN_IF_ERROR(authz_.Check(args.principal, Action::kRetire, args.app,
                                       owners.value_or(std::vector<std::string>())));
      AppState state = std::move(*loaded);
      VMS_ASSIGN_OR_RETURN(auto release_env, records_->FindRelease(args.app, args.version));
      if (!release_env) {
        return absl::NotFoundError(StrCat(args.app, " has no version ", args.version));
      }
      if (IsRetired(state, args.version)) {
        AuditEntry entry = Entry(args.principal, "retire", args.app, args.version);
        entry.set_outcome("ok: already retired, nothing written");
        AuditAlone(std::move(entry), absl::OkStatus());
        return out;
      }
      VMS_ASSIGN_OR_RETURN(auto history, records_->LiveHistory(args.app));
      if (std::string why =
              Pinned(state, args.version, RecentlyLive(history, state, policy.keep_last()),
                     policy.keep_last());
          !why.empty()) {
        return absl::FailedPreconditionError(
            StrCat("cannot retire ", args.app, " ", args.version, ": ", why));
      }
      out.in_use = sites_->InUse(args.app, args.version);
      out.census = sites_->Freshness();
      if (!out.in_use.empty() && !args.force) {
        return absl::FailedPreconditionError(
            StrCat("cannot retire ", args.app, " ", args.version,
                   ": the census shows it in use on ", Join(out.in_use),
                   "; once they stop (the census says within a few minutes), retire "
                   "it again, or --force (",
                   DescribeFreshness(out.census), ")"));
      }
      VMS_ASSIGN_OR_RETURN(auto release, ParseRelease(*release_env));
      if (chained_ && !chain_->ownership(args.app)) {
        return absl::FailedPreconditionError(
            StrCat(args.app, " has no owners signed by an admin yet"));
      }
      if (state.live_seq() == std::numeric_limits<uint64_t>::max()) {
        return absl::ResourceExhaustedError(StrCat(args.app, " has used up its live_seq"));
      }
      LiveRecord record;
      record.set_app(args.app);
      record.set_version(args.version);
      record.set_root(release.root());
      record.set_live_seq(state.live_seq() + 1);
      record.set_issued_unix_ms(options_.clock->WallMs());
      record.set_issuer(args.principal);
      record.set_kind(LiveRecord::RETIRE);
      Envelope to_sign;
      VMS_ASSIGN_OR_RETURN(auto signed_env, SignLive(args, "retire", &record, &to_sign));
      if (!signed_env) {
        out.flip.to_sign = std::move(to_sign);
        return out;
      }
      AddLiveToState(record, &state);
      AuditEntry entry = Entry(args.principal, "retire", args.app, args.version);
      entry.set_outcome(out.in_use.empty() ? "ok"
                                           : StrCat("ok: forced, in use on ", Join(out.in_use)));
      VMS_ASSIGN_OR_RETURN(const uint64_t seq,
                           WriteLive(record, *signed_env, state, std::move(entry)));
      MasterLog()->info("retire app={} version={} live_seq={} seq={} issuer={}{}", args.app,
                        args.version, record.live_seq(), seq, args.principal,
                        out.in_use.empty() ? "" : StrCat(" forced, in use on ", Join(out.in_use)));
      out.flip = FlipResult{.changed = true, .record = *std::move(signed_env), .seq = seq};
    }
    // The objects no remaining version references go now (or, for vms gc,
    // once after all of its retirements).
    if (!out.flip.changed || args.defer_collection) return out;
    auto gc = CollectGarbage(/*dry_run=*/false);
    if (gc.ok()) {
      out.gc = *gc;
    } else {
      MasterLog()->error("garbage collection after retiring {} {}: {}", args.app, args.version,
                         Sv(gc.status().message()));
    }
    return out;
  }();
  if (!result.ok())
    AuditAlone(Entry(args.principal, "retire", args.app, args.version), result.status());
  return result;
}

absl::StatusOr<GcSummary> Master::CollectGarbage(
    bool dry_run, const std::set<std::pair<std::string, std::string>>& also_retired) {
  MutexLock gc_lock(&gc_mu_);  // one collection at a time
  const uint64_t ttl_ms = std::chrono::milliseconds(kUnreferencedUploadTtl).count();
  const int64_t now = options_.clock->WallMs();
  rocksdb::ColumnFamilyHandle* uploads = records_->db()->Family(kUploadsFamily);
  // An upload no release names yet survives for a day: a push in progress.
  auto keep = [&](const Hash& h) {
    std::string value;
    if (!records_->db()->raw()->Get(rocksdb::ReadOptions(), uploads, h.View(), &value).ok()) {
      return false;
    }
    return now - static_cast<int64_t>(DecodeUpload(value).at_ms) < static_cast<int64_t>(ttl_ms);
  };
  GcOptions options{.dry_run = dry_run,
                    .keep = keep,
                    .exclusive =
                        [this](const std::function<absl::Status()>& fn) {
                          MutexLock write_lock(&write_mu_);
                          absl::Status s = fn();
                          sweeps_.fetch_add(1);
                          return s;
                        },
                    .also_retired = also_retired};
  VMS_ASSIGN_OR_RETURN(auto report, vms::CollectGarbage(records_.get(), options));
  if (!dry_run && report.objects_removed > 0) {
    // Old uploads swept with the rest leave their entries: dropped here.
    rocksdb::WriteBatch batch;
    std::vector<std::string> dropped;
    auto it = records_->db()->NewIterator(kUploadsFamily);
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      auto h = Hash::FromBytes(it->key().ToStringView());
      if (!h.ok() || keep(*h)) continue;
      VMS_ASSIGN_OR_RETURN(auto missing, records_->objects().Missing({&*h, 1}));
      if (missing.empty()) continue;
      batch.Delete(uploads, it->key());
      dropped.push_back(it->value().ToString());
    }
    VMS_RETURN_IF_ERROR(FromRocks(it->status(), "read uploads"));
    VMS_RETURN_IF_ERROR(records_->db()->Write(&batch, /*sync=*/false));
    Unreference(dropped);
  }
  MasterLog()->info(
      "gc{} versions_kept={} retired={} objects_kept={} objects_removed={} bytes={} "
      "seconds={:.3f} locked_seconds={:.3f}",
      dry_run ? " (dry run)" : "", report.versions_kept, report.versions_retired,
      report.objects_kept, report.objects_removed, report.bytes_removed, report.seconds,
      report.locked_seconds);
  return Summary(report, "master");
}

absl::StatusOr<Master::GcResult> Master::Gc(const std::string& principal, const std::string& app,
                                            bool sweep) {
  std::vector<std::string> apps;
  if (!app.empty()) {
    VMS_RETURN_IF_ERROR(ValidateAppName(app));
    apps.push_back(app);
  } else {
    auto it = records_->db()->NewIterator(kPolicyFamily);
    for (it->SeekToFirst(); it->Valid(); it->Next()) apps.push_back(it->key().ToString());
    VMS_RETURN_IF_ERROR(FromRocks(it->status(), "read policies"));
  }
  // A collection (even a dry run: a mark of every version) is costly: the
  // admins, or the owners of every app it is about. Without an app, an
  // owner's run is about the apps with a policy that it owns.
  bool allowed = authz_.IsAdmin(principal) || !apps.empty();
  std::vector<std::string> mine;
  for (const std::string& a : apps) {
    VMS_ASSIGN_OR_RETURN(auto owners, LoadOwners(a));
    const bool may =
        authz_.Check(principal, Action::kCollect, a, owners.value_or(std::vector<std::string>()))
            .ok();
    allowed = allowed && may;
    if (may) mine.push_back(a);
  }
  if (!allowed && app.empty() && !mine.empty()) {
    apps = std::move(mine);
    allowed = true;
  }
  if (!allowed) {
    return absl::PermissionDeniedError(StrCat(principal, " may not collect garbage",
                                              app.empty() ? "" : StrCat(" for ", app),
                                              ": the app's owners and admins do (`vms owners ",
                                              app.empty() ? "APP" : app, "` lists them)"));
  }
  GcResult out;
  std::set<std::pair<std::string, std::string>> retiring;
  const int64_t now = options_.clock->WallMs();
  for (const std::string& a : apps) {
    VMS_ASSIGN_OR_RETURN(auto policy, Policy(principal, a, std::nullopt));
    VMS_ASSIGN_OR_RETURN(auto state, records_->LoadAppState(a));
    if (!state) return absl::NotFoundError(StrCat("no app named ", a));
    VMS_ASSIGN_OR_RETURN(auto envs, records_->ListVersions(a));
    std::vector<Release> releases;
    for (const Envelope& env : envs) {
      VMS_ASSIGN_OR_RETURN(auto r, ParseRelease(env));
      if (!IsRetired(*state, r.version())) releases.push_back(std::move(r));
    }
    std::sort(releases.begin(), releases.end(), [](const Release& x, const Release& y) {
      return x.created_unix_ms() > y.created_unix_ms();  // newest first
    });
    // When each version was last live (a flip to it, or one away from it).
    std::map<std::string, int64_t> last_live;
    VMS_ASSIGN_OR_RETURN(auto history, records_->LiveHistory(a));
    for (const Envelope& env : history) {
      auto r = ParseLiveRecord(env);
      if (!r.ok() || r->kind() == LiveRecord::RETIRE) continue;
      last_live[r->version()] = std::max(last_live[r->version()], r->issued_unix_ms());
      if (!r->previous_version().empty()) {
        last_live[r->previous_version()] =
            std::max(last_live[r->previous_version()], r->issued_unix_ms());
      }
    }
    const std::vector<std::string> recent = RecentlyLive(history, *state, policy.keep_last());
    const int64_t horizon = now - static_cast<int64_t>(policy.keep_days()) * 86'400'000;
    for (size_t i = 0; i < releases.size(); ++i) {
      const Release& r = releases[i];
      GcCandidate c;
      c.set_app(a);
      c.set_version(r.version());
      c.set_created_unix_ms(r.created_unix_ms());
      c.set_bytes(r.byte_count());
      std::string why;
      if (i < policy.keep_last()) {
        why = StrCat("one of the newest ", policy.keep_last());
      } else if (r.created_unix_ms() >= horizon ||
                 (last_live.contains(r.version()) && last_live[r.version()] >= horizon)) {
        why = StrCat("pushed or live in the last ", policy.keep_days(), " days");
      } else if (std::string pinned = Pinned(*state, r.version(), recent, policy.keep_last());
                 !pinned.empty()) {
        why = pinned;
      } else if (auto in_use = sites_->InUse(a, r.version()); !in_use.empty()) {
        why = StrCat("in use on ", Join(in_use));
      }
      c.set_retire(why.empty());
      c.set_why(why.empty() ? StrCat("older than the newest ", policy.keep_last(), " and ",
                                     policy.keep_days(), " days")
                            : why);
      if (c.retire()) retiring.insert({a, r.version()});
      out.candidates.push_back(std::move(c));
    }
  }
  if (sweep) {
    VMS_ASSIGN_OR_RETURN(auto summary, CollectGarbage(/*dry_run=*/false));
    out.stores.push_back(std::move(summary));
  } else {
    VMS_ASSIGN_OR_RETURN(auto summary, CollectGarbage(/*dry_run=*/true, retiring));
    out.stores.push_back(std::move(summary));
  }
  return out;
}

}  // namespace vms
