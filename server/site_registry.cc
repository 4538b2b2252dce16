#include "server/site_registry.h"

#include "core/names.h"
#include "core/strings.h"

namespace vms {

absl::StatusOr<std::unique_ptr<SiteRegistry>> SiteRegistry::Load(Db* db,
                                                                std::function<int64_t()> now_ms) {
  auto registry = std::unique_ptr<SiteRegistry>(new SiteRegistry(db, std::move(now_ms)));
  auto it = db->NewIterator(kFamily);
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    SiteState site;
    if (!site.ParseFromString(it->value().ToString())) {
      return absl::DataLossError(StrCat("stored state of site ", it->key().ToString(),
                                        " is corrupt"));
    }
    registry->sites_[site.name()] = std::move(site);
  }
  if (absl::Status s = FromRocks(it->status(), "read sites"); !s.ok()) return s;
  return registry;
}

absl::Status SiteRegistry::Apply(const SiteReport& report) {
  if (absl::Status s = ValidateSiteName(report.site()); !s.ok()) return s;
  const int64_t now = now_ms_();
  std::lock_guard lock(mu_);
  SiteState& site = sites_[report.site()];
  if (site.name().empty()) {
    site.set_name(report.site());
    site.set_first_seen_unix_ms(now);
  }
  site.set_address(report.address());
  site.set_upstream(report.upstream());
  site.set_last_seen_unix_ms(now);
  site.set_applied_seq(report.applied_seq());
  site.set_upstream_silent_ms(report.upstream_silent_ms());
  for (const VersionState& v : report.versions()) {
    VersionState* slot = nullptr;
    for (VersionState& mine : *site.mutable_versions()) {
      if (mine.app() == v.app() && mine.version() == v.version()) slot = &mine;
    }
    if (slot == nullptr) slot = site.add_versions();
    *slot = v;
    slot->set_updated_unix_ms(now);
  }
  for (const LiveApplied& l : report.live()) {
    LiveApplied* slot = nullptr;
    for (LiveApplied& mine : *site.mutable_live()) {
      if (mine.app() == l.app()) slot = &mine;
    }
    if (slot == nullptr) slot = site.add_live();
    if (slot->live_seq() >= l.live_seq() && !slot->app().empty()) continue;
    *slot = l;
    slot->set_applied_unix_ms(now);  // the master's clock, comparable to issued times
  }
  rocksdb::WriteBatch batch;
  batch.Put(db_->Family(kFamily), site.name(), site.SerializeAsString());
  return db_->Write(&batch, /*sync=*/false);
}

std::vector<SiteState> SiteRegistry::List() const {
  std::lock_guard lock(mu_);
  std::vector<SiteState> out;
  for (const auto& [name, site] : sites_) out.push_back(site);
  return out;
}

absl::Status SiteRegistry::Remove(std::string_view name) {
  {
    std::lock_guard lock(mu_);
    auto it = sites_.find(std::string(name));
    if (it == sites_.end()) {
      std::string known;
      for (const auto& [n, s] : sites_) known += StrCat(known.empty() ? "" : ", ", n);
      return absl::NotFoundError(StrCat("no site named ", name, "; known sites: ",
                                        known.empty() ? "none" : known));
    }
    sites_.erase(it);
  }
  // Synced outside mu_: reports keep flowing meanwhile.
  rocksdb::WriteBatch batch;
  batch.Delete(db_->Family(kFamily), std::string(name));
  return db_->Write(&batch, /*sync=*/true);
}

std::vector<std::string> SiteRegistry::Lacking(std::string_view app,
                                               std::string_view version) const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  for (const auto& [name, site] : sites_) {
    const VersionState* found = nullptr;
    for (const VersionState& v : site.versions()) {
      if (v.app() == app && v.version() == version) found = &v;
    }
    if (found == nullptr) {
      out.push_back(StrCat(name, " (not started)"));
    } else if (found->state() != VersionState::COMPLETE) {
      out.push_back(StrCat(name, " (", DescribeVersionState(*found), ")"));
    }
  }
  return out;
}

std::string DescribeVersionState(const VersionState& v) {
  auto mib = [](uint64_t b) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f MiB", b / 1048576.0);
    return std::string(buf);
  };
  switch (v.state()) {
    case VersionState::FETCHING:
      return StrCat("fetching ", mib(v.bytes_done()), "/", mib(v.bytes_total()));
    case VersionState::COMPLETE:
      return "complete";
    case VersionState::FAILED:
      return StrCat("failed: ", v.error());
    default:
      return "unknown";
  }
}

}  // namespace vms
