#include "fusefs/discovery.h"

#include <algorithm>
#include <atomic>
#include <set>

#include "core/file_util.h"
#include "core/strings.h"
#include "net/upstream_client.h"
#include "spdlog/spdlog.h"

namespace vms {

namespace {

// The sites whose declared networks hold one of `local`, the longest prefix
// winning (several on a tie).
std::set<std::string> OwnSites(const SiteMap& map, const std::vector<IpAddress>& local) {
  std::map<std::string, int> best;
  int longest = -1;
  for (const SiteMapEntry& e : map.sites()) {
    for (const std::string& n : e.networks()) {
      auto net = ParseCidr(n);
      if (!net.ok()) continue;  // the master checked it; a newer form is skipped
      for (const IpAddress& a : local) {
        if (!net->Contains(a)) continue;
        best[e.site()] = std::max(best[e.site()], net->specificity());
        longest = std::max(longest, net->specificity());
      }
    }
  }
  std::set<std::string> out;
  for (const auto& [site, bits] : best) {
    if (bits == longest) out.insert(site);
  }
  return out;
}

// Sites probed for their round trip, at most: a world has tens of sites.
constexpr size_t kMaxProbed = 256;
constexpr size_t kProbeThreads = 16;

}  // namespace

DiscoveryChoice ChooseReplicas(const SiteMap& map, const std::vector<IpAddress>& local,
                               const std::map<std::string, int64_t>& rtt_us, size_t fallbacks) {
  DiscoveryChoice out;
  out.map_version = map.version();
  const std::set<std::string> own = OwnSites(map, local);
  std::vector<std::pair<int64_t, std::string>> others;
  for (const SiteMapEntry& e : map.sites()) {
    if (e.address().empty()) continue;
    if (own.contains(e.site())) {
      if (out.site.empty()) out.site = e.site();
      out.replicas.push_back(e.address());
      continue;
    }
    auto rtt = rtt_us.find(e.address());
    others.emplace_back(rtt == rtt_us.end() ? INT64_MAX : rtt->second, e.address());
  }
  // Nearest first; on a tie (or none answering), map order.
  std::stable_sort(others.begin(), others.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  // A host no site claims takes one more of the nearest.
  size_t take = fallbacks + (out.replicas.empty() ? 1 : 0);
  for (size_t i = 0; i < others.size() && i < take; ++i) out.replicas.push_back(others[i].second);
  return out;
}

Discovery::Discovery(Options options)
    : options_(std::move(options)),
      local_(options_.local.empty() ? LocalAddresses() : options_.local) {}

Discovery::~Discovery() { Stop(); }

std::map<std::string, int64_t> Discovery::MeasureRtt(const SiteMap& map,
                                                     const std::string& own_site) {
  std::vector<std::string> targets;
  for (const SiteMapEntry& e : map.sites()) {
    if (e.site() != own_site && !e.address().empty() && targets.size() < kMaxProbed) {
      targets.push_back(e.address());
    }
  }
  Mutex mu;
  std::map<std::string, int64_t> rtt;
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i; (i = next.fetch_add(1)) < targets.size();) {
      UpstreamClient client(targets[i], options_.credentials, 1, 0, options_.deadline);
      const auto start = std::chrono::steady_clock::now();
      if (!client.SiteInfo(options_.deadline).ok()) continue;
      int64_t us = std::chrono::duration_cast<std::chrono::microseconds>(
                       std::chrono::steady_clock::now() - start)
                       .count();
      MutexLock lock(&mu);
      rtt[targets[i]] = us;
    }
  };
  std::vector<std::thread> threads;
  for (size_t i = 0; i < std::min(kProbeThreads, targets.size()); ++i) threads.emplace_back(worker);
  for (std::thread& t : threads) t.join();
  return rtt;
}

absl::StatusOr<DiscoveryChoice> Discovery::Learn(const std::vector<std::string>& ask) {
  std::vector<std::string> order;
  for (const auto* list : {&ask, &options_.seeds}) {
    for (const std::string& a : *list) {
      if (std::find(order.begin(), order.end(), a) == order.end()) order.push_back(a);
    }
  }
  std::string failures;
  SiteMap map;
  bool got = false;
  for (const std::string& address : order) {
    UpstreamClient client(address, options_.credentials, 1, 0, options_.deadline);
    auto m = client.SiteMap(options_.deadline);
    if (m.ok()) {
      map = *std::move(m);
      got = true;
      break;
    }
    failures += StrCat(failures.empty() ? "" : "; ", m.status().message());
  }
  if (got && !options_.cache_file.empty()) {
    // Not synced: a host that loses it asks again.
    if (absl::Status s = WriteFileAtomic(options_.cache_file, map.SerializeAsString(), 0644,
                                         /*durable=*/false);
        !s.ok()) {
      spdlog::warn("cannot keep the site map: {}", Sv(s.message()));
    }
  } else if (!got && !options_.cache_file.empty()) {
    auto kept = ReadFile(options_.cache_file);
    if (kept.ok() && map.ParseFromString(*kept)) {
      spdlog::warn("no site map from {} ({}): using the one kept in {}", Join(order), failures,
                   options_.cache_file);
      got = true;
    }
  }
  if (!got) {
    return absl::UnavailableError(StrCat(
        "cannot learn where the replicas are: ", failures,
        options_.cache_file.empty() ? "" : "; and no site map kept in ", options_.cache_file));
  }
  const std::set<std::string> own = OwnSites(map, local_);
  DiscoveryChoice choice = ChooseReplicas(
      map, local_, MeasureRtt(map, own.empty() ? std::string() : *own.begin()), options_.fallbacks);
  if (choice.replicas.empty()) {
    return absl::UnavailableError(
        "the site map names no replica yet: start a vms-replica (with --serves for the "
        "networks of its hosts), or pass --replicas");
  }
  MutexLock lock(&mu_);
  known_ = map.version();
  return choice;
}

void Discovery::Start(std::function<std::vector<std::string>()> current,
                      std::function<void(const DiscoveryChoice&)> on_change) {
  current_ = std::move(current);
  on_change_ = std::move(on_change);
  thread_ = std::thread([this] { Loop(); });
}

void Discovery::Stop() {
  {
    MutexLock lock(&mu_);
    if (stop_) return;
    stop_ = true;
  }
  cv_.SignalAll();
  if (thread_.joinable()) thread_.join();
}

void Discovery::Announced(uint64_t version) {
  MutexLock lock(&mu_);
  if (version == announced_) return;
  announced_ = version;
  if (announced_ != known_) cv_.SignalAll();
}

void Discovery::Loop() {
  auto retry_at = std::chrono::steady_clock::now();
  for (;;) {
    {
      MutexLock lock(&mu_);
      while (!stop_ && (announced_ == 0 || announced_ == known_ ||
                        std::chrono::steady_clock::now() < retry_at)) {
        if (announced_ != 0 && announced_ != known_) {
          cv_.WaitUntil(retry_at);
        } else {
          cv_.Wait();
        }
      }
      if (stop_) return;
    }
    std::vector<std::string> now = current_();
    auto choice = Learn(now);
    // At most once every few seconds, whatever is announced.
    retry_at = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    if (!choice.ok()) {
      spdlog::warn("site map changed, but {}; keeping replicas={}", Sv(choice.status().message()),
                   Join(now, ","));
      continue;
    }
    if (choice->replicas != now) {
      spdlog::info("site map version={}: site={} replicas={} (were {})", choice->map_version,
                   choice->site.empty() ? "none" : choice->site, Join(choice->replicas, ","),
                   Join(now, ","));
      on_change_(*choice);
    }
  }
}

}  // namespace vms
