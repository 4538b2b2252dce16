#include "fusefs/remote.h"

#include <algorithm>
#include <unordered_set>

#include "core/log.h"
#include "core/strings.h"
#include "spdlog/spdlog.h"

namespace vms {

Remote::Remote(const std::vector<std::string>& addresses, const Credentials& credentials,
               std::chrono::milliseconds deadline, prometheus::Counter* failovers)
    : credentials_(credentials), deadline_(deadline), failovers_(failovers) {
  SetAddresses(addresses);
}

bool Remote::SetAddresses(const std::vector<std::string>& addresses) {
  if (addresses.empty()) return false;
  std::vector<UpstreamClient*> list;
  {
    MutexLock lock(&mu_);
    for (const std::string& a : addresses) {
      auto& slot = pool_[a];
      if (!slot) {
        slot =
            std::make_unique<UpstreamClient>(a, credentials_, /*streams=*/2, /*rate=*/0, deadline_);
      }
      list.push_back(slot.get());
    }
    if (list == list_) return false;
    // A host that failed over stays where it went while its first choice is
    // the same: a change further down the list is no news about that one.
    const bool same_first = !list_.empty() && list_.front() == list.front();
    if (!same_first || std::find(list.begin(), list.end(), preferred_.load()) == list.end()) {
      preferred_ = list.front();
    }
    list_ = list;
  }
  return true;
}

std::vector<UpstreamClient*> Remote::clients() const {
  MutexLock lock(&mu_);
  return list_;
}

std::vector<std::string> Remote::addresses() const {
  std::vector<std::string> out;
  for (UpstreamClient* c : clients()) out.push_back(c->address());
  return out;
}

std::vector<UpstreamClient*> Remote::Order() const {
  std::vector<UpstreamClient*> list = clients();
  auto p = std::find(list.begin(), list.end(), preferred_.load());
  if (p != list.end()) std::rotate(list.begin(), p, list.end());
  return list;
}

absl::Status Remote::Fetch(std::span<const Hash> hashes, const Upstream::Sink& sink) {
  std::vector<Hash> wanted(hashes.begin(), hashes.end());
  std::string failures;
  const std::vector<UpstreamClient*> order = Order();
  for (size_t i = 0; i < order.size() && !wanted.empty(); ++i) {
    Mutex mu;
    std::unordered_set<Hash, HashHasher> got;
    absl::Status s = order[i]->Fetch(wanted, [&](std::vector<StoredObject>* batch) {
      std::vector<Hash> arrived;
      for (const StoredObject& o : *batch) arrived.push_back(o.hash);
      absl::Status st = sink(batch);
      if (st.ok()) {
        MutexLock lock(&mu);
        got.insert(arrived.begin(), arrived.end());
      }
      return st;
    });
    if (s.ok()) {
      Prefer(order[i]);
      return absl::OkStatus();
    }
    failures += StrCat(failures.empty() ? "" : "; ", order[i]->address(), ": ", s.message());
    std::erase_if(wanted, [&](const Hash& h) { return got.count(h) > 0; });
    if (!wanted.empty() && i + 1 < order.size()) {
      FuseLog()->warn("fetch from replica={} failed ({}); asking replica={} for {} objects",
                      order[i]->address(), Sv(s.message()), order[i + 1]->address(), wanted.size());
    }
  }
  if (wanted.empty()) return absl::OkStatus();
  return absl::UnavailableError(
      StrCat("no replica delivered ", wanted.size(), " objects (", failures, ")"));
}

absl::StatusOr<std::vector<Envelope>> Remote::Releases(const std::string& app) {
  std::string failures;
  for (UpstreamClient* c : Order()) {
    auto r = c->Releases(app);
    if (r.ok() || absl::IsNotFound(r.status())) {
      Prefer(c);
      return r;
    }
    failures += StrCat(failures.empty() ? "" : "; ", r.status().message());
  }
  return absl::UnavailableError(StrCat("no replica answered: ", failures));
}

absl::StatusOr<std::vector<Envelope>> Remote::History(const std::string& app) {
  std::string failures;
  for (UpstreamClient* c : Order()) {
    auto r = c->LiveHistory(app);
    if (r.ok() || absl::IsNotFound(r.status())) return r;
    failures += StrCat(failures.empty() ? "" : "; ", r.status().message());
  }
  return absl::UnavailableError(StrCat("no replica answered: ", failures));
}

absl::Status Remote::HostUsage(const HostUsageReport& report) {
  std::string failures;
  for (UpstreamClient* c : Order()) {
    absl::Status s = c->HostUsage(report);
    if (s.ok()) return s;
    failures += StrCat(failures.empty() ? "" : "; ", s.message());
  }
  return absl::UnavailableError(StrCat("no replica took the census report: ", failures));
}

std::string Remote::FirstSite(std::chrono::milliseconds deadline) {
  for (UpstreamClient* c : clients()) {
    auto info = c->SiteInfo(deadline);
    if (info.ok() && !info->site().empty()) return info->site();
  }
  return "";
}

absl::StatusOr<TrustSnapshot> Remote::Trust() {
  std::string failures;
  for (UpstreamClient* c : Order()) {
    auto r = c->Trust();
    if (r.ok()) return r;
    failures += StrCat(failures.empty() ? "" : "; ", r.status().message());
  }
  return absl::UnavailableError(StrCat("no replica answered: ", failures));
}

}  // namespace vms
