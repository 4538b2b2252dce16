#include "fusefs/remote.h"

#include <unordered_set>

#include "core/strings.h"
#include "core/sync.h"
#include "spdlog/spdlog.h"

namespace vms {

Remote::Remote(const std::vector<std::string>& addresses, const Credentials& credentials,
               std::chrono::milliseconds deadline, prometheus::Counter* failovers)
    : failovers_(failovers) {
  for (const std::string& a : addresses) {
    clients_.push_back(
        std::make_unique<UpstreamClient>(a, credentials, /*streams=*/2, /*rate=*/0, deadline));
  }
}

std::vector<UpstreamClient*> Remote::clients() {
  std::vector<UpstreamClient*> out;
  for (auto& c : clients_) out.push_back(c.get());
  return out;
}

absl::Status Remote::Fetch(std::span<const Hash> hashes, const Upstream::Sink& sink) {
  std::vector<Hash> wanted(hashes.begin(), hashes.end());
  std::string failures;
  for (size_t attempt = 0; attempt < clients_.size() && !wanted.empty(); ++attempt) {
    size_t i = (preferred_ + attempt) % clients_.size();
    Mutex mu;
    std::unordered_set<Hash, HashHasher> got;
    absl::Status s = clients_[i]->Fetch(wanted, [&](std::vector<StoredObject>* batch) {
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
      Prefer(i);
      return absl::OkStatus();
    }
    failures += StrCat(failures.empty() ? "" : "; ", clients_[i]->address(), ": ", s.message());
    std::erase_if(wanted, [&](const Hash& h) { return got.count(h) > 0; });
    if (!wanted.empty() && attempt + 1 < clients_.size()) {
      spdlog::warn("fetch from replica={} failed ({}); asking replica={} for {} objects",
                   clients_[i]->address(), Sv(s.message()),
                   clients_[(i + 1) % clients_.size()]->address(), wanted.size());
    }
  }
  if (wanted.empty()) return absl::OkStatus();
  return absl::UnavailableError(
      StrCat("no replica delivered ", wanted.size(), " objects (", failures, ")"));
}

absl::StatusOr<std::vector<Envelope>> Remote::Releases(const std::string& app) {
  std::string failures;
  for (size_t attempt = 0; attempt < clients_.size(); ++attempt) {
    size_t i = (preferred_ + attempt) % clients_.size();
    auto r = clients_[i]->Releases(app);
    if (r.ok() || absl::IsNotFound(r.status())) {
      Prefer(i);
      return r;
    }
    failures += StrCat(failures.empty() ? "" : "; ", r.status().message());
  }
  return absl::UnavailableError(StrCat("no replica answered: ", failures));
}

absl::StatusOr<TrustSnapshot> Remote::Trust() {
  std::string failures;
  for (size_t attempt = 0; attempt < clients_.size(); ++attempt) {
    size_t i = (preferred_ + attempt) % clients_.size();
    auto r = clients_[i]->Trust();
    if (r.ok()) return r;
    failures += StrCat(failures.empty() ? "" : "; ", r.status().message());
  }
  return absl::UnavailableError(StrCat("no replica answered: ", failures));
}

}  // namespace vms
