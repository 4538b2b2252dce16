#include "server/census.h"

#include <algorithm>

#include "core/limits.h"
#include "core/names.h"
#include "core/strings.h"

namespace vms {

absl::Status SiteCensus::Add(const HostUsageReport& report) {
  if (absl::Status s = ValidateSiteName(report.host()); !s.ok()) {
    return absl::InvalidArgumentError(StrCat("census: bad host name: ", s.message()));
  }
  if (static_cast<size_t>(report.versions_size()) > kMaxUsageVersions) {
    return absl::InvalidArgumentError(StrCat("a census report names at most ", kMaxUsageVersions,
                                             " versions, not ", report.versions_size()));
  }
  for (const VersionUsage& v : report.versions()) {
    if (!ValidateAppName(v.app()).ok() || !ValidateVersionName(v.version()).ok()) {
      return absl::InvalidArgumentError(
          StrCat("census: bad app or version ", Quote(v.app()), " ", Quote(v.version())));
    }
  }
  const int64_t now = clock_->WallMs();
  MutexLock lock(&mu_);
  if (!hosts_.contains(report.host()) && hosts_.size() >= kMaxCensusHosts) {
    auto oldest = std::min_element(hosts_.begin(), hosts_.end(), [](const auto& a, const auto& b) {
      return a.second.received_ms < b.second.received_ms;
    });
    hosts_.erase(oldest);
  }
  Host& h = hosts_[report.host()];
  h.report = report;
  h.report.set_interval_ms(std::clamp<int64_t>(report.interval_ms(), 1000, 3'600'000));
  h.received_ms = now;
  return absl::OkStatus();
}

std::vector<VersionUsage> SiteCensus::Sum() {
  const int64_t now = clock_->WallMs();
  std::map<std::pair<std::string, std::string>, VersionUsage> sum;
  MutexLock lock(&mu_);
  for (auto it = hosts_.begin(); it != hosts_.end();) {
    const Host& h = it->second;
    if (now - h.received_ms > kWeekMs) {
      it = hosts_.erase(it);
      continue;
    }
    const bool current = now - h.received_ms <= 3 * h.report.interval_ms();
    for (const VersionUsage& v : h.report.versions()) {
      // A host's clock may be off: its last use is at most when it reported.
      const int64_t last = std::min(v.last_use_unix_ms(), h.received_ms);
      const bool using_now = current && (v.processes() > 0 || v.open_files() > 0);
      if (!using_now && now - last > kWeekMs) continue;
      VersionUsage& s = sum[{v.app(), v.version()}];
      s.set_app(v.app());
      s.set_version(v.version());
      s.set_last_use_unix_ms(std::max(s.last_use_unix_ms(), using_now ? now : last));
      if (using_now) {
        s.set_hosts_now(s.hosts_now() + 1);
        s.set_processes(s.processes() + v.processes());
        s.set_open_files(s.open_files() + v.open_files());
        if (static_cast<size_t>(s.hosts_size()) < kMaxNamedHosts) s.add_hosts(it->first);
      }
      if (using_now || now - last <= kDayMs) s.set_hosts_day(s.hosts_day() + 1);
      s.set_hosts_week(s.hosts_week() + 1);
    }
    ++it;
  }
  std::vector<VersionUsage> out;
  for (auto& [key, v] : sum) {
    if (out.size() == kMaxUsageVersions) break;
    out.push_back(std::move(v));
  }
  return out;
}

size_t SiteCensus::hosts() const {
  MutexLock lock(&mu_);
  return hosts_.size();
}

}  // namespace vms
