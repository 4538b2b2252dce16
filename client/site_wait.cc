#include "client/site_wait.h"

#include <algorithm>
#include <iostream>
#include <thread>
#include <vector>

#include "client/progress.h"
#include "core/strings.h"
#include "core/sync.h"

namespace vms {

namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kPoll = std::chrono::milliseconds(100);

std::string Describe(const SiteState& site, const std::string& app, const std::string& version,
                     bool* complete) {
  *complete = false;
  for (const VersionState& v : site.versions()) {
    if (v.app() != app || v.version() != version) continue;
    switch (v.state()) {
      case VersionState::COMPLETE:
        *complete = true;
        return "complete";
      case VersionState::FETCHING:
        return StrCat("fetching ", HumanBytes(v.bytes_done()), "/", HumanBytes(v.bytes_total()));
      case VersionState::FAILED:
        return StrCat("failed: ", v.error());
      default:
        return "unknown";
    }
  }
  return "not started";
}

bool TimedOut(Clock::time_point start, std::chrono::seconds timeout) {
  return timeout.count() > 0 && Clock::now() - start >= timeout;
}

}  // namespace

absl::Status WaitForVersion(MasterClient* master, const std::string& app,
                            const std::string& version, std::chrono::seconds timeout,
                            std::string_view outcome) {
  const auto start = Clock::now();
  std::string line;
  Mutex mu;
  LineReporter reporter(
      [&] {
        MutexLock lock(&mu);
        return line;
      },
      std::chrono::milliseconds(200));
  // Many sites do not fit one line: then the count, and the sites still
  // missing it. When only a few hold everyone up for a while, they are named
  // on a line of their own (in logs too, not only on a terminal).
  constexpr int kSitesPerLine = 6;
  constexpr size_t kNamedOnLine = 4;
  constexpr Clock::time_point kNever = Clock::time_point::max();
  Clock::time_point few_left_since = kNever;
  bool named = false;
  for (;;) {
    auto sites = master->ListSites(app, version);
    if (!sites.ok()) return sites.status();
    std::string now_line, lagging;
    std::vector<std::string> missing;
    for (const SiteState& site : sites->sites()) {
      bool complete;
      std::string state = Describe(site, app, version, &complete);
      now_line += StrCat(now_line.empty() ? "" : " | ", site.name(), " ", state);
      if (!complete) {
        lagging += StrCat(lagging.empty() ? "" : ", ", site.name(), " (", state, ")");
        missing.push_back(StrCat(site.name(), " (", state, ")"));
      }
    }
    if (sites->sites_size() > kSitesPerLine) {
      now_line =
          StrCat(sites->sites_size() - missing.size(), "/", sites->sites_size(), " sites complete");
      for (size_t i = 0; i < missing.size() && i < kNamedOnLine; ++i) {
        now_line += StrCat(i == 0 ? "; waiting for " : ", ", missing[i]);
      }
      if (missing.size() > kNamedOnLine) {
        now_line += StrCat(" and ", missing.size() - kNamedOnLine, " more");
      }
    }
    const bool few_left = !missing.empty() && sites->sites_size() > kSitesPerLine &&
                          missing.size() <= kNamedOnLine / 2;
    if (!few_left) {
      few_left_since = kNever;
    } else if (few_left_since == kNever) {
      few_left_since = Clock::now();
    } else if (!named && Clock::now() - few_left_since >= std::chrono::seconds(5)) {
      named = true;
      std::cerr << "every other site holds " << app << " " << version << "; waiting for " << lagging
                << "\n";
    }
    {
      MutexLock lock(&mu);
      line = now_line;
    }
    if (lagging.empty()) {
      reporter.Stop();
      double s = std::chrono::duration<double>(Clock::now() - start).count();
      if (sites->sites().empty()) {
        std::cerr << "no sites are known yet: nothing to wait for\n";
      } else {
        std::cerr << app << " " << version << " is complete at all " << sites->sites_size()
                  << " sites (" << static_cast<int>(s * 1000) << " ms)\n";
      }
      return absl::OkStatus();
    }
    if (TimedOut(start, timeout)) {
      reporter.Stop();
      return absl::DeadlineExceededError(StrCat(
          app, " ", version, " is not complete everywhere after ", timeout.count(), " s; lagging: ",
          lagging, ". ", outcome, "; `vms status ", app, " ", version, "` shows progress"));
    }
    std::this_thread::sleep_for(kPoll);
  }
}

absl::Status WaitForFlip(MasterClient* master, const std::string& app, uint64_t live_seq,
                         uint64_t seq, const std::vector<std::string>& scope,
                         int64_t issued_unix_ms, std::chrono::seconds timeout) {
  const auto start = Clock::now();
  for (;;) {
    auto sites = master->ListSites(app);
    if (!sites.ok()) return sites.status();
    std::string lagging, report;
    int waited = 0;
    for (const SiteState& site : sites->sites()) {
      if (!scope.empty() && std::find(scope.begin(), scope.end(), site.name()) == scope.end()) {
        continue;
      }
      ++waited;
      // A site at applied_seq S has applied every flip up to S.
      if (site.applied_seq() < seq) {
        lagging += StrCat(lagging.empty() ? "" : ", ", site.name());
        continue;
      }
      // The master times a flip by the report that brought it; a later
      // flip, a label, or a master restart leaves the time unknown.
      int64_t at = 0;
      for (const LiveApplied& l : site.live()) {
        if (l.app() == app && l.live_seq() == live_seq) at = l.applied_unix_ms();
      }
      report += at == 0 ? StrCat("  ", site.name(), ": applied\n")
                        : StrCat("  ", site.name(), ": applied in ",
                                 std::max<int64_t>(0, at - issued_unix_ms), " ms\n");
    }
    if (lagging.empty()) {
      if (waited == 0) {
        std::cout << "no sites are known yet\n";
      } else {
        std::cout << "applied at "
                  << (scope.empty() ? StrCat("all ", waited, " sites")
                                    : StrCat(waited, waited == 1 ? " site" : " sites"))
                  << ":\n"
                  << report;
      }
      return absl::OkStatus();
    }
    if (TimedOut(start, timeout)) {
      return absl::DeadlineExceededError(StrCat("live_seq ", live_seq, " of ", app,
                                                " not applied after ", timeout.count(),
                                                " s at: ", lagging));
    }
    std::this_thread::sleep_for(kPoll / 4);
  }
}

}  // namespace vms
