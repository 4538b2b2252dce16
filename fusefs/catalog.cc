#include "fusefs/catalog.h"

#include "core/envelope.h"
#include "core/file_util.h"
#include "core/names.h"
#include "core/status_macros.h"
#include "core/strings.h"
#include "core/sync.h"
#include "spdlog/spdlog.h"

namespace vms {

absl::StatusOr<std::unique_ptr<Catalog>> Catalog::Open(std::string path, PublicKey trust,
                                                       ReleaseSource source) {
  auto catalog = std::unique_ptr<Catalog>(new Catalog(std::move(path), trust, std::move(source)));
  auto data = ReadFile(catalog->path_);
  if (!data.ok()) return catalog;  // first start
  HostCatalog stored;
  if (!stored.ParseFromString(*data)) {
    spdlog::warn("catalog {} is corrupt: starting empty", catalog->path_);
    return catalog;
  }
  MutexLock lock(&catalog->mu_);
  for (const Envelope& env : stored.releases()) {
    if (absl::Status s = catalog->AddRelease(env); !s.ok()) {
      spdlog::warn("dropping a stored release: {}", Sv(s.message()));
    }
  }
  for (const Envelope& env : stored.live()) {
    auto record = catalog->verifier_.Accept(env);
    if (!record.ok()) {
      spdlog::warn("dropping a stored live record: {}", Sv(record.status().message()));
      continue;
    }
    LiveInfo info{record->version(), record->live_seq(), *Hash::FromBytes(record->root()),
                  record->issued_unix_ms()};
    catalog->live_[record->app()] = {info, env};
  }
  return catalog;
}

absl::Status Catalog::AddRelease(const Envelope& env) { return AddNewRelease(env).status(); }

absl::StatusOr<bool> Catalog::AddNewRelease(const Envelope& env) {
  VMS_ASSIGN_OR_RETURN(auto r, OpenRelease(env, trust_));
  VMS_RETURN_IF_ERROR(ValidateAppName(r.app()));
  VMS_RETURN_IF_ERROR(ValidateVersionName(r.version()));
  auto root = Hash::FromBytes(r.root());
  if (!root.ok()) return absl::DataLossError("release with a malformed root");
  auto [it, added] = releases_.try_emplace({r.app(), r.version()});
  it->second = {
      ReleaseInfo{*root, r.created_unix_ms(), r.file_count(), r.byte_count(), r.publisher()}, env};
  return added;
}

std::pair<std::string, uint64_t> Catalog::Snapshot() {
  HostCatalog stored;
  for (const auto& [app, entry] : live_) *stored.add_live() = entry.second;
  for (const auto& [key, entry] : releases_) *stored.add_releases() = entry.second;
  return {stored.SerializeAsString(), ++generation_};
}

void Catalog::Save(const std::pair<std::string, uint64_t>& snapshot) {
  MutexLock lock(&save_mu_);
  if (snapshot.second < saved_generation_) return;
  if (absl::Status s = WriteFileAtomic(path_, snapshot.first, 0644); !s.ok()) {
    spdlog::warn("catalog not saved: {}", Sv(s.message()));
    return;
  }
  saved_generation_ = snapshot.second;
}

absl::StatusOr<bool> Catalog::ApplyLive(const Envelope& env) {
  std::pair<std::string, uint64_t> snapshot;
  {
    MutexLock lock(&mu_);
    VMS_ASSIGN_OR_RETURN(auto parsed, OpenLiveRecord(env, trust_));
    auto it = live_.find(parsed.app());
    if (it != live_.end() && it->second.first.live_seq == parsed.live_seq()) return false;
    auto record = verifier_.Accept(env);
    if (!record.ok()) return record.status();
    auto root = Hash::FromBytes(record->root());
    if (!root.ok()) return absl::DataLossError("live record with a malformed root");
    live_[record->app()] = {
        LiveInfo{record->version(), record->live_seq(), *root, record->issued_unix_ms()}, env};
    snapshot = Snapshot();
  }
  Save(snapshot);
  return true;
}

std::map<std::string, LiveInfo> Catalog::LiveApps() const {
  MutexLock lock(&mu_);
  std::map<std::string, LiveInfo> out;
  for (const auto& [app, entry] : live_) out[app] = entry.first;
  return out;
}

std::optional<LiveInfo> Catalog::Live(const std::string& app) const {
  MutexLock lock(&mu_);
  auto it = live_.find(app);
  if (it == live_.end()) return std::nullopt;
  return it->second.first;
}

absl::StatusOr<std::optional<ReleaseInfo>> Catalog::Release(const std::string& app,
                                                            const std::string& version) {
  {
    MutexLock lock(&mu_);
    auto it = releases_.find({app, version});
    if (it != releases_.end()) return it->second.first;
    auto fetched = fetched_.find(app);
    if (fetched != fetched_.end() &&
        std::chrono::steady_clock::now() - fetched->second < kMissTtl) {
      return std::nullopt;  // asked a moment ago: it had no such version
    }
  }
  // Not known: ask (without the lock: this is a network call).
  auto envs = source_(app);
  if (absl::IsNotFound(envs.status())) {
    MutexLock lock(&mu_);
    fetched_[app] = std::chrono::steady_clock::now();
    return std::nullopt;
  }
  if (!envs.ok()) return envs.status();
  std::optional<ReleaseInfo> found;
  std::optional<std::pair<std::string, uint64_t>> snapshot;
  {
    MutexLock lock(&mu_);
    bool added = false;
    for (const Envelope& env : *envs) {
      auto fresh = AddNewRelease(env);
      if (!fresh.ok()) {
        spdlog::error("refusing a release from the replica: {}", Sv(fresh.status().message()));
      } else {
        added |= *fresh;
      }
    }
    if (fetched_.size() > 4096) fetched_.clear();  // bounded; it is only a cache of misses
    fetched_[app] = std::chrono::steady_clock::now();
    if (added) snapshot = Snapshot();
    if (auto it = releases_.find({app, version}); it != releases_.end()) found = it->second.first;
  }
  if (snapshot) Save(*snapshot);
  return found;
}

}  // namespace vms
