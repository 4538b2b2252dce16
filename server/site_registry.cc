#include "server/site_registry.h"

#include <algorithm>

#include "core/cidr.h"
#include "core/hash.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/names.h"
#include "core/status_macros.h"
#include "core/strings.h"
#include "core/sync.h"

namespace vms {

namespace {

// Refuses a report beyond the limits of core/limits.h, naming what is wrong.
absl::Status CheckReport(const SiteReport& r) {
  VMS_RETURN_IF_ERROR(ValidateSiteName(r.site()));
  auto too_long = [](std::string_view what, size_t size, size_t limit) {
    return absl::InvalidArgumentError(
        StrCat("a site report's ", what, " is at most ", limit, " bytes, this one ", size));
  };
  if (r.address().size() > kMaxAddressBytes) {
    return too_long("address", r.address().size(), kMaxAddressBytes);
  }
  if (r.upstream().size() > kMaxAddressBytes) {
    return too_long("upstream", r.upstream().size(), kMaxAddressBytes);
  }
  if (static_cast<size_t>(r.upstreams_size()) > kMaxUpstreams) {
    return absl::InvalidArgumentError(StrCat("a site report names at most ", kMaxUpstreams,
                                             " upstreams, this one ", r.upstreams_size()));
  }
  for (const std::string& u : r.upstreams()) {
    if (u.size() > kMaxAddressBytes) return too_long("upstreams", u.size(), kMaxAddressBytes);
  }
  if (static_cast<size_t>(r.networks_size()) > kMaxSiteNetworks) {
    return absl::InvalidArgumentError(StrCat("a site serves at most ", kMaxSiteNetworks,
                                             " networks, this report names ", r.networks_size()));
  }
  for (const std::string& n : r.networks()) VMS_RETURN_IF_ERROR(ParseCidr(n).status());
  if (r.problem().size() > kMaxErrorBytes) {
    return too_long("problem", r.problem().size(), kMaxErrorBytes);
  }
  if (static_cast<size_t>(r.usage_size()) > kMaxUsageVersions) {
    return absl::InvalidArgumentError(StrCat("a site's census names at most ", kMaxUsageVersions,
                                             " versions, this one ", r.usage_size()));
  }
  for (const VersionUsage& u : r.usage()) {
    VMS_RETURN_IF_ERROR(ValidateAppName(u.app()));
    VMS_RETURN_IF_ERROR(ValidateVersionName(u.version()));
    if (static_cast<size_t>(u.hosts_size()) > 16) {
      return absl::InvalidArgumentError("a site's census names at most 16 hosts per version");
    }
    for (const std::string& h : u.hosts()) VMS_RETURN_IF_ERROR(ValidateSiteName(h));
  }
  if (static_cast<size_t>(r.via_size()) >= kMaxRelayDepth) {
    return absl::InvalidArgumentError(StrCat("a site report was relayed by at most ",
                                             kMaxRelayDepth - 1, " sites, this one ",
                                             r.via_size()));
  }
  for (const std::string& v : r.via()) VMS_RETURN_IF_ERROR(ValidateSiteName(v));
  if (static_cast<size_t>(r.versions_size()) > kMaxReportVersions) {
    return absl::InvalidArgumentError(StrCat("a site report carries at most ", kMaxReportVersions,
                                             " version states, this one ", r.versions_size(),
                                             "; send the rest in another report"));
  }
  if (static_cast<size_t>(r.live_size()) > kMaxReportLive) {
    return absl::InvalidArgumentError(StrCat("a site report carries at most ", kMaxReportLive,
                                             " flips, this one ", r.live_size(),
                                             "; send the rest in another report"));
  }
  for (int i = 0; i < r.versions_size(); ++i) {
    const VersionState& v = r.versions(i);
    absl::Status s = ValidateAppName(v.app());
    if (s.ok()) s = ValidateVersionName(v.version());
    if (!s.ok()) return absl::InvalidArgumentError(StrCat("version state #", i, ": ", s.message()));
    if (v.error().size() > kMaxErrorBytes) {
      return too_long(StrCat("error of version state #", i), v.error().size(), kMaxErrorBytes);
    }
  }
  for (int i = 0; i < r.live_size(); ++i) {
    absl::Status s = ValidateAppName(r.live(i).app());
    if (s.ok()) s = ValidateVersionName(r.live(i).version());
    if (!s.ok()) return absl::InvalidArgumentError(StrCat("flip #", i, ": ", s.message()));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<SiteRegistry>> SiteRegistry::Load(Db* db, const RecordStore* records,
                                                                 Clock* clock) {
  auto registry = std::unique_ptr<SiteRegistry>(new SiteRegistry(db, records, clock));
  auto it = db->NewIterator(kFamily);
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    SiteState stored;
    if (!stored.ParseFromString(it->value().ToString())) {
      return absl::DataLossError(
          StrCat("stored state of site ", Quote(it->key().ToString()), " is corrupt"));
    }
    Site site;
    site.base = stored;
    site.base.clear_versions();
    site.base.clear_live();
    // Stores written before states were derived also hold COMPLETE entries
    // and flips: applied_seq says those now.
    for (const VersionState& v : stored.versions()) {
      if (v.state() == VersionState::COMPLETE) continue;
      VMS_ASSIGN_OR_RETURN(auto seq, records->ReleaseSeq(v.app(), v.version()));
      if (seq != 0) site.in_flight[{v.app(), v.version()}] = {v, seq};
    }
    Prune(&site);
    MutexLock lock(&registry->mu_);  // no one else sees it yet; the analysis asks
    registry->sites_[stored.name()] = std::move(site);
  }
  VMS_RETURN_IF_ERROR(FromRocks(it->status(), "read sites"));
  MutexLock lock(&registry->mu_);
  registry->RebuildMap();
  return registry;
}

bool SiteRegistry::Prune(Site* site) {
  const size_t before = site->in_flight.size();
  std::erase_if(site->in_flight,
                [&](const auto& kv) { return kv.second.seq <= site->base.applied_seq(); });
  if (site->in_flight.size() > kMaxReportVersions) {
    std::vector<std::pair<int64_t, VersionKey>> by_age;
    for (const auto& [key, in] : site->in_flight) {
      by_age.emplace_back(in.state.updated_unix_ms(), key);
    }
    std::sort(by_age.begin(), by_age.end());
    for (size_t i = 0; i < by_age.size() - kMaxReportVersions; ++i) {
      site->in_flight.erase(by_age[i].second);
    }
  }
  return site->in_flight.size() != before;
}

absl::Status SiteRegistry::Persist(const Site& site) const {
  SiteState stored = site.base;
  for (const auto& [key, in] : site.in_flight) *stored.add_versions() = in.state;
  rocksdb::WriteBatch batch;
  batch.Put(db_->Family(kFamily), stored.name(), stored.SerializeAsString());
  return db_->Write(&batch, /*sync=*/false);
}

absl::StatusOr<SiteRegistry::Applied> SiteRegistry::Apply(
    const SiteReport& report, const std::optional<std::string>& sender) {
  VMS_RETURN_IF_ERROR(CheckReport(report));
  // The path from the site up to the master: who relayed it, then who sent
  // it here. It must start at the site the report is about.
  std::string parent;
  if (sender) {
    std::vector<std::string> path(report.via().begin(), report.via().end());
    path.push_back(*sender);
    if (path.front() != report.site()) {
      return absl::PermissionDeniedError(StrCat(
          "vms://site/", *sender, " may not report about site ", report.site(),
          path.size() == 1
              ? ": a site reports only about itself"
              : StrCat(": the report came from ", path.front(), ", not from ", report.site())));
    }
    if (path.size() > 1) parent = path[1];
  }
  // A replica applies only events this master wrote, so its applied_seq is
  // at most the head (the master commits before it streams). Beyond it, the
  // site holds another history: a master restored from an older backup, or
  // a replica pointed at the wrong master. What it "holds" would be wrong.
  if (const uint64_t head = records_->head_seq(); report.applied_seq() > head) {
    return absl::FailedPreconditionError(StrCat(
        "site ", report.site(), " reports applied seq ", report.applied_seq(),
        ", beyond this master's head ", head,
        ": it follows another history (a master restored "
        "from an older backup, or another master); point it at the right master, or give it a "
        "fresh data directory"));
  }
  // Lookups first, outside mu_: each bounded by the limits just checked.
  std::vector<std::pair<VersionKey, InFlight>> in_flight;
  std::vector<VersionKey> complete;
  for (const VersionState& v : report.versions()) {
    VersionKey key{v.app(), v.version()};
    if (v.state() == VersionState::COMPLETE) {
      complete.push_back(std::move(key));
      continue;
    }
    VMS_ASSIGN_OR_RETURN(auto seq, records_->ReleaseSeq(v.app(), v.version()));
    if (seq == 0) continue;  // not a version of this master's
    in_flight.emplace_back(std::move(key), InFlight{v, seq});
  }
  std::vector<const LiveApplied*> flips;
  for (const LiveApplied& l : report.live()) {
    // Only a flip the site's applied_seq covers is real.
    VMS_ASSIGN_OR_RETURN(auto at, records_->LiveAsOf(l.app(), report.applied_seq()));
    if (at && at->live_seq() >= l.live_seq()) flips.push_back(&l);
  }

  const int64_t now = clock_->WallMs();
  Applied ack;
  MutexLock lock(&mu_);
  // A site speaking for itself is believed; a relay does not take over a
  // running site, unless the site named it among its upstreams in a report
  // that came the way already accepted (it failed over). The list of
  // upstreams a site names is taken only from the site itself, through a
  // relay it named, or at its first report: a relay that took a quiet site
  // over cannot rewrite it, so the site's own path can always take it back.
  bool keep_upstreams = false;
  if (sender && report.via_size() > 0) {
    auto known = sites_.find(report.site());
    if (known != sites_.end()) {
      Site& k = known->second;
      const bool declared = IsDeclaredUpstream(k.base, parent);
      const bool first = k.base.upstreams().empty() && k.base.parent().empty();
      keep_upstreams = !declared && !first;
      if (k.base.parent() != parent && !declared &&
          clock_->Now() - k.last_report < std::chrono::milliseconds(kRecentMs)) {
        const std::string& was = k.base.parent();
        std::string why = StrCat(
            "vms://site/", *sender, " may not report about site ", report.site(), ": it follows ",
            was.empty() ? std::string("the master") : StrCat("site ", was),
            " and reported within the last minute, and it does not name ", parent,
            " among its upstreams; a site that moved is taken over once it has been quiet for a "
            "minute");
        // Said once a minute per site, not at every report.
        if (k.last_refusal_logged == Clock::TimePoint{} ||
            clock_->Now() - k.last_refusal_logged >= std::chrono::milliseconds(kRecentMs)) {
          k.last_refusal_logged = clock_->Now();
          MasterLog()->warn("refused a site report: {}", why);
        }
        return absl::PermissionDeniedError(why);
      }
      if (k.base.parent() != parent && !declared && !first) {
        MasterLog()->warn(
            "site {} is now reported through {} (it was quiet for a minute through {}); the "
            "upstreams it named stay as they were until it reports through one of them",
            report.site(), parent, k.base.parent().empty() ? "the master" : k.base.parent());
      }
    }
  }
  if (!sites_.contains(report.site())) {
    if (sender && report.via_size() > 0) {
      return absl::PermissionDeniedError(StrCat(
          "vms://site/", *sender, " may not report about site ", report.site(),
          ": it is not known to this master. A site that reports through another is added once "
          "by an admin (vms sites add ",
          report.site(), "); a site that follows the master makes itself known"));
    }
    VMS_RETURN_IF_ERROR(RoomForOneMore());
  }
  auto [it, inserted] = sites_.try_emplace(report.site());
  Site& site = it->second;
  bool changed = inserted;
  if (inserted) {
    site.base.set_name(report.site());
    site.base.set_first_seen_unix_ms(now);
    ack.need_full = !report.full();
  }
  // The networks a site serves are an admin's to assign (Serve()): what it
  // reports is a claim, shown and not used. Only an --insecure master, which
  // cannot tell sites apart anyway, takes them as reported.
  bool map_changed = inserted || site.base.address() != report.address();
  if (!std::equal(site.base.claimed_networks().begin(), site.base.claimed_networks().end(),
                  report.networks().begin(), report.networks().end())) {
    *site.base.mutable_claimed_networks() = report.networks();
    changed = true;
  }
  if (!sender && !std::equal(site.base.networks().begin(), site.base.networks().end(),
                             report.networks().begin(), report.networks().end())) {
    *site.base.mutable_networks() = report.networks();
    map_changed = changed = true;
  }
  if (site.base.address() != report.address() || site.base.upstream() != report.upstream() ||
      site.base.applied_seq() != report.applied_seq() || site.base.parent() != parent) {
    site.base.set_address(report.address());
    site.base.set_upstream(report.upstream());
    site.base.set_parent(parent);
    site.base.set_applied_seq(report.applied_seq());
    changed = true;
  }
  site.base.set_last_seen_unix_ms(now);
  site.last_report = clock_->Now();
  site.base.set_upstream_silent_ms(report.upstream_silent_ms());
  site.base.set_checkpoint_issued_unix_ms(report.checkpoint_issued_unix_ms());
  site.base.set_problem(report.problem());
  if (!keep_upstreams && !std::equal(site.base.upstreams().begin(), site.base.upstreams().end(),
                                     report.upstreams().begin(), report.upstreams().end())) {
    *site.base.mutable_upstreams() = report.upstreams();
    changed = true;
  }
  if (report.full() && !site.in_flight.empty()) {
    site.in_flight.clear();
    changed = true;
  }
  for (const VersionKey& key : complete) changed |= site.in_flight.erase(key) > 0;
  for (auto& [key, in] : in_flight) {
    in.state.set_updated_unix_ms(now);
    site.in_flight[key] = std::move(in);
    changed = true;
  }
  changed |= Prune(&site);
  for (const LiveApplied* l : flips) {
    LiveApplied& slot = site.flips[l->app()];
    if (!slot.app().empty() && slot.live_seq() >= l->live_seq()) continue;
    slot = *l;
    slot.set_applied_unix_ms(now);  // the master's clock, comparable to issued times
  }
  if (report.has_usage()) {
    site.usage.assign(report.usage().begin(), report.usage().end());
    site.usage_ms = now;
  }
  if (map_changed) RebuildMap();
  if (changed) {
    VMS_RETURN_IF_ERROR(Persist(site));
  }
  return ack;
}

void SiteRegistry::RebuildMap() {
  auto map = std::make_shared<vms::SiteMap>();
  for (const auto& [name, site] : sites_) {
    SiteMapEntry* e = map->add_sites();
    e->set_site(name);
    e->set_address(site.base.address());
    *e->mutable_networks() = site.base.networks();
  }
  // A fingerprint of the entries (0 means "none", so never 0).
  Hash h = Sha256(map->SerializeAsString());
  uint64_t version = 0;
  for (int i = 0; i < 8; ++i) version = version << 8 | static_cast<uint8_t>(h.View()[i]);
  map->set_version(version == 0 ? 1 : version);
  map_version_ = map->version();
  map_ = std::move(map);
}

std::shared_ptr<const vms::SiteMap> SiteRegistry::SiteMap() const {
  MutexLock lock(&mu_);
  return map_;
}

bool SiteRegistry::IsDeclaredUpstream(const SiteState& site, const std::string& parent) const {
  auto p = sites_.find(parent);
  if (p == sites_.end() || p->second.base.address().empty()) return false;
  return std::find(site.upstreams().begin(), site.upstreams().end(), p->second.base.address()) !=
         site.upstreams().end();
}

absl::StatusOr<std::vector<SiteState>> SiteRegistry::List(std::string_view app,
                                                          std::string_view version) const {
  VMS_ASSIGN_OR_RETURN(Page page, ListPage(app, version, "", SIZE_MAX));
  return std::move(page.sites);
}

size_t SiteRegistry::size() const {
  MutexLock lock(&mu_);
  return sites_.size();
}

absl::StatusOr<SiteRegistry::Page> SiteRegistry::ListPage(std::string_view app,
                                                          std::string_view version,
                                                          std::string_view after,
                                                          size_t max_bytes) const {
  // What LiveAt adds to each site below: one LiveApplied, names bounded.
  constexpr size_t kLiveBytes = 512;
  std::vector<std::pair<std::string, uint64_t>> asked;  // version, release seq
  if (!app.empty()) {
    VMS_RETURN_IF_ERROR(ValidateAppName(app));
    if (!version.empty()) {
      VMS_RETURN_IF_ERROR(ValidateVersionName(version));
      VMS_ASSIGN_OR_RETURN(auto seq, records_->ReleaseSeq(app, version));
      if (seq == 0) return absl::NotFoundError(StrCat(app, " has no version ", version));
      asked.emplace_back(version, seq);
    } else {
      VMS_ASSIGN_OR_RETURN(auto seqs, records_->ReleaseSeqs(app));
      asked = std::move(seqs);
    }
  }

  Page page;
  std::vector<SiteState>& out = page.sites;
  std::vector<LiveApplied> reported;  // per site: the app's last reported flip
  size_t bytes = 0;
  {
    MutexLock lock(&mu_);
    for (auto it = sites_.upper_bound(std::string(after)); it != sites_.end(); ++it) {
      const Site& site = it->second;
      SiteState& s = out.emplace_back(site.base);
      for (const VersionUsage& u : site.usage) {
        if (!app.empty() && u.app() == app) *s.add_usage() = u;
      }
      s.set_usage_unix_ms(site.usage_ms);
      if (app.empty()) {
        for (const auto& [key, in] : site.in_flight) *s.add_versions() = in.state;
      } else {
        AddStates(site, app, asked, &s);
        auto flip = site.flips.find(std::string(app));
        reported.push_back(flip == site.flips.end() ? LiveApplied() : flip->second);
      }
      if (max_bytes == SIZE_MAX) continue;  // one list of every site: nothing to measure
      const size_t size = s.ByteSizeLong() + kLiveBytes;
      if (out.size() > 1 && bytes + size > max_bytes) {
        out.pop_back();
        if (!app.empty()) reported.pop_back();
        page.more = true;
        break;
      }
      bytes += size;
    }
  }
  if (app.empty()) return page;
  for (size_t i = 0; i < out.size(); ++i) {
    VMS_ASSIGN_OR_RETURN(auto live, records_->LiveAt(app, out[i].name(), out[i].applied_seq()));
    if (!live) continue;
    LiveApplied* l = out[i].add_live();
    *l = std::move(*live);
    if (reported[i].live_seq() == l->live_seq())
      l->set_applied_unix_ms(reported[i].applied_unix_ms());
  }
  return page;
}

void SiteRegistry::AddStates(const Site& site, std::string_view app,
                             const std::vector<std::pair<std::string, uint64_t>>& asked,
                             SiteState* s) {
  for (const auto& [asked_version, seq] : asked) {
    if (seq <= site.base.applied_seq()) {
      VersionState* v = s->add_versions();
      v->set_app(std::string(app));
      v->set_version(asked_version);
      v->set_state(VersionState::COMPLETE);
    } else if (auto f = site.in_flight.find({std::string(app), asked_version});
               f != site.in_flight.end()) {
      *s->add_versions() = f->second.state;
    }
  }
}

absl::Status SiteRegistry::RoomForOneMore() const {
  if (sites_.size() < kMaxSites) return absl::OkStatus();
  return absl::ResourceExhaustedError(StrCat("this master knows ", sites_.size(),
                                             " sites, its limit: forget decommissioned ones "
                                             "(vms sites remove NAME)"));
}

absl::Status SiteRegistry::Add(std::string_view name) {
  VMS_RETURN_IF_ERROR(ValidateSiteName(name));
  Site added;
  {
    MutexLock lock(&mu_);
    if (sites_.contains(std::string(name))) {
      return absl::AlreadyExistsError(StrCat("site ", name, " is known already"));
    }
    VMS_RETURN_IF_ERROR(RoomForOneMore());
    Site& site = sites_[std::string(name)];
    site.base.set_name(std::string(name));
    site.base.set_first_seen_unix_ms(clock_->WallMs());
    added = site;
    RebuildMap();
  }
  return Persist(added);
}

absl::Status SiteRegistry::Serve(std::string_view name, const std::vector<std::string>& networks) {
  VMS_RETURN_IF_ERROR(ValidateSiteName(name));
  if (networks.size() > kMaxSiteNetworks) {
    return absl::InvalidArgumentError(
        StrCat("a site serves at most ", kMaxSiteNetworks, " networks, not ", networks.size()));
  }
  for (const std::string& n : networks) VMS_RETURN_IF_ERROR(ParseCidr(n).status());
  Site changed;
  {
    MutexLock lock(&mu_);
    if (!sites_.contains(std::string(name))) VMS_RETURN_IF_ERROR(RoomForOneMore());
    auto [it, inserted] = sites_.try_emplace(std::string(name));
    Site& site = it->second;
    if (inserted) {
      site.base.set_name(std::string(name));
      site.base.set_first_seen_unix_ms(clock_->WallMs());
    }
    site.base.mutable_networks()->Assign(networks.begin(), networks.end());
    changed = site;
    RebuildMap();
  }
  return Persist(changed);
}

absl::Status SiteRegistry::Remove(std::string_view name, bool force) {
  {
    MutexLock lock(&mu_);
    auto it = sites_.find(std::string(name));
    if (it == sites_.end()) {
      std::string known;
      for (const auto& [n, s] : sites_) known += StrCat(known.empty() ? "" : ", ", n);
      return absl::NotFoundError(
          StrCat("no site named ", Quote(name), "; known sites: ", known.empty() ? "none" : known));
    }
    const auto last = it->second.last_report;
    const int64_t ago =
        last == std::chrono::steady_clock::time_point{}
            ? kRecentMs  // not heard from since the master started
            : std::chrono::duration_cast<std::chrono::milliseconds>(clock_->Now() - last).count();
    if (!force && ago < kRecentMs) {
      return absl::FailedPreconditionError(StrCat(
          "site ", name, " reported ", std::max<int64_t>(0, ago) / 1000,
          " s ago: its replica is running and comes back with its next report. Stop it first, "
          "or pass --force to forget it anyway"));
    }
    sites_.erase(it);
    RebuildMap();
  }
  // Synced outside mu_: reports keep flowing meanwhile.
  rocksdb::WriteBatch batch;
  batch.Delete(db_->Family(kFamily), std::string(name));
  return db_->Write(&batch, /*sync=*/true);
}

std::vector<std::string> SiteRegistry::InUse(std::string_view app, std::string_view version) const {
  MutexLock lock(&mu_);
  std::vector<std::string> out;
  for (const auto& [name, site] : sites_) {
    for (const VersionUsage& u : site.usage) {
      if (u.app() != app || u.version() != version || u.hosts_now() == 0) continue;
      for (const std::string& h : u.hosts()) out.push_back(StrCat(name, "/", h));
      if (u.hosts_now() > static_cast<uint32_t>(u.hosts_size())) {
        out.push_back(StrCat(name, ": ", u.hosts_now() - u.hosts_size(), " more"));
      }
    }
  }
  return out;
}

SiteRegistry::CensusFreshness SiteRegistry::Freshness() const {
  const int64_t now = clock_->WallMs();
  MutexLock lock(&mu_);
  CensusFreshness out;
  out.sites = sites_.size();
  for (const auto& [name, site] : sites_) {
    if (site.usage_ms == 0) continue;
    ++out.with_census;
    out.oldest_ms = std::max(out.oldest_ms, now - site.usage_ms);
  }
  return out;
}

std::vector<std::string> SiteRegistry::Names() const {
  MutexLock lock(&mu_);
  std::vector<std::string> out;
  for (const auto& [name, site] : sites_) out.push_back(name);
  return out;
}

absl::StatusOr<std::vector<std::string>> SiteRegistry::Lacking(
    std::string_view app, std::string_view version, const std::vector<std::string>* only) const {
  VMS_ASSIGN_OR_RETURN(auto seq, records_->ReleaseSeq(app, version));
  if (seq == 0) return absl::NotFoundError(StrCat(app, " has no version ", version));
  MutexLock lock(&mu_);
  std::vector<std::string> out;
  for (const auto& [name, site] : sites_) {
    if (site.base.applied_seq() >= seq) continue;
    if (only && std::find(only->begin(), only->end(), name) == only->end()) continue;
    auto f = site.in_flight.find({std::string(app), std::string(version)});
    out.push_back(StrCat(
        name, " (",
        f == site.in_flight.end() ? "not started" : DescribeVersionState(f->second.state), ")"));
  }
  return out;
}

std::string DescribeFreshness(const SiteRegistry::CensusFreshness& f) {
  if (f.with_census == 0) return StrCat("no site has sent a census yet, of ", f.sites);
  return StrCat("the census of ", f.with_census, " of ", f.sites, " sites, the oldest ",
                f.oldest_ms / 1000, " s old");
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
