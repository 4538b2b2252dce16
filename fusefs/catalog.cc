#include "fusefs/catalog.h"

#include <set>

#include "core/clock.h"
#include "core/envelope.h"
#include "core/file_util.h"
#include "core/lifecycle.h"
#include "core/log.h"
#include "core/names.h"
#include "core/status_macros.h"
#include "core/strings.h"
#include "core/sync.h"
#include "spdlog/spdlog.h"

namespace vms {

absl::StatusOr<std::unique_ptr<Catalog>> Catalog::Open(std::string path, TrustChain trust,
                                                       ReleaseSource source,
                                                       TrustSource trust_source, Clock* clock) {
  auto catalog = std::unique_ptr<Catalog>(new Catalog(
      std::move(path), std::move(trust), std::move(source), std::move(trust_source), clock));
  auto data = ReadFile(catalog->path_);
  if (!data.ok()) return catalog;  // first start
  HostCatalog stored;
  if (!stored.ParseFromString(*data)) {
    FuseLog()->warn("catalog {} is corrupt: starting empty", catalog->path_);
    return catalog;
  }
  MutexLock lock(&catalog->mu_);
  catalog->site_ = stored.site();
  // The chain first: what the records are checked against. A record that
  // no longer verifies ends it; what came before stays.
  if (absl::Status s = catalog->chain_.Restore(stored.trust(), catalog->clock_->WallMs());
      !s.ok()) {
    FuseLog()->warn("dropping part of the stored chain of trust: {}", Sv(s.message()));
  }
  for (const Envelope& env : stored.releases()) {
    if (absl::Status s = catalog->AddRelease(env); !s.ok()) {
      FuseLog()->warn("dropping a stored release: {}", Sv(s.message()));
    }
  }
  for (const Envelope& env : stored.live()) {
    if (auto held = catalog->AcceptLive(env); !held.ok()) {
      FuseLog()->warn("dropping a stored live record: {}", Sv(held.status().message()));
    }
  }
  return catalog;
}

absl::StatusOr<bool> Catalog::AcceptLive(const Envelope& env) {
  VMS_ASSIGN_OR_RETURN(auto record, chain_.VerifyLive(env, TrustChain::Order::kHeld));
  auto root = Hash::FromBytes(record.root());
  if (!root.ok()) return absl::DataLossError("live record with a malformed root");
  if (record.kind() == LiveRecord::RETIRE) {
    retired_[{record.app(), record.version()}] = {record.issued_unix_ms(), env};
    return true;
  }
  if (!AppliesTo(record, site_)) return false;
  std::pair<std::string, std::string> key{record.app(), record.label()};
  auto it = live_.find(key);
  if (it != live_.end() && record.live_seq() <= it->second.first.live_seq) {
    return absl::FailedPreconditionError(
        StrCat("stale live record for ", PointerName(record.app(), record.label()), ": live_seq ",
               record.live_seq(), " is not above ", it->second.first.live_seq,
               ", already accepted (replayed or out of order)"));
  }
  live_[key] = {LiveInfo{record.version(), record.live_seq(), *root, record.issued_unix_ms()}, env};
  return true;
}

void Catalog::SetSite(std::string site) {
  std::pair<std::string, uint64_t> snapshot;
  {
    MutexLock lock(&mu_);
    bool dropped = site_ != site;  // saved with the catalog
    site_ = std::move(site);
    for (auto it = live_.begin(); it != live_.end();) {
      auto r = ParseLiveRecord(it->second.second);
      if (r.ok() && AppliesTo(*r, site_)) {
        ++it;
      } else {
        it = live_.erase(it);
        dropped = true;
      }
    }
    if (!dropped) return;
    snapshot = Snapshot();
  }
  Save(snapshot);
}

std::string Catalog::site() const {
  MutexLock lock(&mu_);
  return site_;
}

absl::StatusOr<bool> Catalog::ApplyTrust(const Envelope& env) {
  std::pair<std::string, uint64_t> snapshot;
  {
    MutexLock lock(&mu_);
    VMS_ASSIGN_OR_RETURN(bool accepted, chain_.Accept(env));
    if (!accepted) return false;
    snapshot = Snapshot();
  }
  Save(snapshot);
  return true;
}

absl::StatusOr<bool> Catalog::AcceptCheckpoint(const Envelope& env) {
  std::pair<std::string, uint64_t> snapshot;
  {
    MutexLock lock(&mu_);
    VMS_ASSIGN_OR_RETURN(bool accepted, chain_.AcceptCheckpoint(env, clock_->WallMs()));
    if (!accepted) return false;
    snapshot = Snapshot();
  }
  Save(snapshot);
  return true;
}

CheckpointState Catalog::checkpoint() const {
  MutexLock lock(&mu_);
  return chain_.checkpoint(clock_->WallMs());
}

bool Catalog::chained() const {
  MutexLock lock(&mu_);
  return chain_.chained();
}

absl::Status Catalog::AddRelease(const Envelope& env) { return AddNewRelease(env).status(); }

absl::StatusOr<bool> Catalog::AddNewRelease(const Envelope& env) {
  VMS_ASSIGN_OR_RETURN(auto r, chain_.VerifyRelease(env, TrustChain::Order::kHeld));
  auto root = Hash::FromBytes(r.root());
  if (!root.ok()) return absl::DataLossError("release with a malformed root");
  auto [it, added] = releases_.try_emplace({r.app(), r.version()});
  it->second = {
      ReleaseInfo{*root, r.created_unix_ms(), r.file_count(), r.byte_count(), r.publisher()}, env};
  return added;
}

std::pair<std::string, uint64_t> Catalog::Snapshot() {
  HostCatalog stored;
  for (const auto& [key, entry] : live_) *stored.add_live() = entry.second;
  for (const auto& [key, entry] : retired_) *stored.add_live() = entry.second;
  for (const auto& [key, entry] : releases_) *stored.add_releases() = entry.second;
  if (chain_.chained()) *stored.mutable_trust() = chain_.Snapshot();
  stored.set_site(site_);
  return {stored.SerializeAsString(), ++generation_};
}

void Catalog::Save(const std::pair<std::string, uint64_t>& snapshot) {
  MutexLock lock(&save_mu_);
  if (snapshot.second < saved_generation_) return;
  if (absl::Status s = WriteFileAtomic(path_, snapshot.first, 0644); !s.ok()) {
    FuseLog()->warn("catalog not saved: {}", Sv(s.message()));
    return;
  }
  saved_generation_ = snapshot.second;
}

absl::StatusOr<bool> Catalog::ApplyLive(const Envelope& env) {
  std::pair<std::string, uint64_t> snapshot;
  {
    MutexLock lock(&mu_);
    VMS_ASSIGN_OR_RETURN(auto parsed, ParseLiveRecord(env));
    if (parsed.kind() == LiveRecord::RETIRE) {
      if (retired_.contains({parsed.app(), parsed.version()})) return false;
    } else if (auto it = live_.find({parsed.app(), parsed.label()});
               it != live_.end() && it->second.first.live_seq == parsed.live_seq() &&
               it->second.second.payload() == env.payload()) {
      return false;  // the one held, sent again
    }
    VMS_ASSIGN_OR_RETURN(bool held, AcceptLive(env));
    if (!held) return false;
    snapshot = Snapshot();
  }
  Save(snapshot);
  return true;
}

std::map<std::string, LiveInfo> Catalog::LiveApps() const {
  MutexLock lock(&mu_);
  std::map<std::string, LiveInfo> out;
  for (const auto& [key, entry] : live_) {
    if (key.second.empty()) out[key.first] = entry.first;
  }
  return out;
}

std::optional<LiveInfo> Catalog::Live(const std::string& app) const { return Label(app, ""); }

std::optional<LiveInfo> Catalog::Label(const std::string& app, const std::string& label) const {
  MutexLock lock(&mu_);
  auto it = live_.find({app, label});
  if (it == live_.end()) return std::nullopt;
  return it->second.first;
}

std::vector<LiveInfo> Catalog::Pointers() const {
  MutexLock lock(&mu_);
  std::vector<LiveInfo> out;
  for (const auto& [key, entry] : live_) out.push_back(entry.first);
  return out;
}

std::optional<int64_t> Catalog::RetiredAt(const std::string& app,
                                          const std::string& version) const {
  MutexLock lock(&mu_);
  auto it = retired_.find({app, version});
  if (it == retired_.end()) return std::nullopt;
  return it->second.first;
}

void Catalog::SetHistorySource(HistorySource source) {
  MutexLock lock(&mu_);
  history_source_ = std::move(source);
}

absl::StatusOr<std::optional<LiveInfo>> Catalog::LiveAsOf(const std::string& app, int64_t unix_ms) {
  HistorySource source;
  std::vector<LiveRecord> records;
  bool fresh = false;
  {
    MutexLock lock(&mu_);
    // An app this host holds no record of (none live, no label, nothing
    // retired) had no history here: asking a replica for each made-up name
    // under /dist/.at would cost one request per lookup.
    auto held = live_.lower_bound({app, ""});
    auto gone = retired_.lower_bound({app, ""});
    if ((held == live_.end() || held->first.first != app) &&
        (gone == retired_.end() || gone->first.first != app)) {
      return absl::NotFoundError(StrCat("no record of ", app, " here"));
    }
    source = history_source_;
    if (auto it = history_.find(app); it != history_.end()) {
      records = it->second.records;
      fresh = clock_->Now() - it->second.fetched < kHistoryTtl;
    }
  }
  if (!fresh) {
    if (!source) return absl::UnavailableError("no replica to ask for the history");
    auto envs = source(app);  // a network call: no lock held
    if (envs.ok()) {
      MutexLock lock(&mu_);
      records.clear();
      for (const Envelope& env : *envs) {
        auto r = chain_.VerifyLive(env, TrustChain::Order::kHeld);
        if (!r.ok()) {
          FuseLog()->error("refusing a record of {}'s history: {}", app, Sv(r.status().message()));
          continue;
        }
        if (r->app() == app) records.push_back(*std::move(r));
      }
      if (history_.size() > 1024) history_.clear();  // bounded: only a cache
      history_[app] = {records, clock_->Now()};
    } else if (records.empty()) {
      return envs.status();  // nothing held to answer from
    }
  }
  std::vector<LiveRecord> before;
  std::set<std::string> retired;
  for (const LiveRecord& r : records) {
    if (r.kind() == LiveRecord::RETIRE) retired.insert(r.version());
    if (r.issued_unix_ms() <= unix_ms && r.label().empty()) before.push_back(r);
  }
  {
    MutexLock lock(&mu_);
    for (const auto& [key, entry] : retired_) {
      if (key.first == app) retired.insert(key.second);
    }
    auto in_effect = InEffect(before, site_);
    auto it = in_effect.find("");
    if (it == in_effect.end() || retired.contains(it->second.version())) return std::nullopt;
    auto root = Hash::FromBytes(it->second.root());
    if (!root.ok()) return absl::DataLossError("live record with a malformed root");
    return LiveInfo{it->second.version(), it->second.live_seq(), *root,
                    it->second.issued_unix_ms()};
  }
}

absl::StatusOr<std::optional<ReleaseInfo>> Catalog::Release(const std::string& app,
                                                            const std::string& version) {
  {
    MutexLock lock(&mu_);
    auto it = releases_.find({app, version});
    if (it != releases_.end()) return it->second.first;
    auto fetched = fetched_.find(app);
    if (fetched != fetched_.end() && clock_->Now() - fetched->second < kMissTtl) {
      return std::nullopt;  // asked a moment ago: it had no such version
    }
  }
  // Not known: ask (without the lock: this is a network call).
  auto envs = source_(app);
  if (absl::IsNotFound(envs.status())) {
    MutexLock lock(&mu_);
    fetched_[app] = clock_->Now();
    return std::nullopt;
  }
  if (!envs.ok()) return envs.status();
  // Releases may be newer than what the watch brought of the chain (an app
  // made a moment ago): then the replica's chain is asked for, once, and
  // taken record by record, and what failed is tried again.
  std::optional<ReleaseInfo> found;
  std::optional<std::pair<std::string, uint64_t>> snapshot;
  bool added = false;
  std::vector<const Envelope*> failed;
  {
    MutexLock lock(&mu_);
    for (const Envelope& env : *envs) {
      auto fresh = AddNewRelease(env);
      if (!fresh.ok()) {
        failed.push_back(&env);
      } else {
        added |= *fresh;
      }
    }
  }
  std::optional<TrustSnapshot> chain;
  if (!failed.empty() && trust_source_ && chained()) {
    auto fetched = trust_source_();
    if (fetched.ok()) chain = *std::move(fetched);
  }
  {
    MutexLock lock(&mu_);
    if (chain) {
      for (const Envelope& env : chain->records()) {
        auto accepted = chain_.Accept(env);
        if (!accepted.ok()) {
          FuseLog()->error("refusing a trust record from the replica: {}",
                           Sv(accepted.status().message()));
          break;
        }
        added |= *accepted;
      }
    }
    for (const Envelope* env : failed) {
      auto fresh = AddNewRelease(*env);
      if (!fresh.ok()) {
        FuseLog()->error("refusing a release from the replica: {}", Sv(fresh.status().message()));
      } else {
        added |= *fresh;
      }
    }
    if (fetched_.size() > 4096) fetched_.clear();  // bounded; it is only a cache of misses
    fetched_[app] = clock_->Now();
    if (added) snapshot = Snapshot();
    if (auto it = releases_.find({app, version}); it != releases_.end()) found = it->second.first;
  }
  if (snapshot) Save(*snapshot);
  return found;
}

}  // namespace vms
