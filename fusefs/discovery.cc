#include "fusefs/discovery.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <random>
#include <set>

#include "core/file_util.h"
#include "core/log.h"
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

}  // namespace

DiscoveryChoice ChooseReplicas(const SiteMap& map, const std::vector<IpAddress>& local,
                               const std::map<std::string, int64_t>& rtt_us, size_t fallbacks,
                               const std::vector<std::string>& current) {
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
  // A host no site holds stays with the replica it reads from while that is
  // in the map and answers: a nearer site appearing (perhaps one that wants
  // the host) is no cause to move.
  if (out.replicas.empty() && !current.empty()) {
    auto kept = std::find_if(others.begin(), others.end(), [&](const auto& o) {
      return o.second == current.front() && o.first != INT64_MAX;
    });
    if (kept != others.end()) std::rotate(others.begin(), kept, kept + 1);
  }
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
  // A TCP connect to each other site's replica, all at once: one round trip
  // each, and no TLS handshake (thousands of hosts learning a new map at
  // once would otherwise make every replica do thousands of them).
  struct Probe {
    std::string address;
    Fd fd;
    std::chrono::steady_clock::time_point start;
  };
  std::vector<Probe> probes;
  for (const SiteMapEntry& e : map.sites()) {
    if (e.site() == own_site || e.address().empty() || probes.size() >= kMaxProbed) continue;
    size_t colon = e.address().rfind(':');
    if (colon == std::string::npos) continue;
    std::string host = e.address().substr(0, colon), port = e.address().substr(colon + 1);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
      host = host.substr(1, host.size() - 2);
    }
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    addrinfo* res = nullptr;
    if (getaddrinfo(host.c_str(), port.c_str(), &hints, &res) != 0 || res == nullptr) continue;
    Fd fd(socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    const auto start = std::chrono::steady_clock::now();
    if (fd.valid() &&
        (connect(fd.get(), res->ai_addr, res->ai_addrlen) == 0 || errno == EINPROGRESS)) {
      probes.push_back({e.address(), std::move(fd), start});
    }
    freeaddrinfo(res);
  }
  std::map<std::string, int64_t> rtt;
  const auto deadline = std::chrono::steady_clock::now() + options_.deadline;
  std::vector<pollfd> fds;
  for (const Probe& p : probes) fds.push_back({p.fd.get(), POLLOUT, 0});
  size_t open = probes.size();
  while (open > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    int n = poll(fds.data(), fds.size(), static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    const auto now = std::chrono::steady_clock::now();
    for (size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      int err = 0;
      socklen_t len = sizeof err;
      getsockopt(fds[i].fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err == 0) {
        rtt[probes[i].address] =
            std::chrono::duration_cast<std::chrono::microseconds>(now - probes[i].start).count();
      }
      fds[i].fd = -1;  // poll skips it from now on
      --open;
    }
  }
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
      FuseLog()->warn("cannot keep the site map: {}", Sv(s.message()));
    }
  } else if (!got && !options_.cache_file.empty()) {
    auto kept = ReadFile(options_.cache_file);
    if (kept.ok() && map.ParseFromString(*kept)) {
      FuseLog()->warn("no site map from {} ({}): using the one kept in {}", Join(order), failures,
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
  DiscoveryChoice choice =
      ChooseReplicas(map, local_, MeasureRtt(map, own.empty() ? std::string() : *own.begin()),
                     options_.fallbacks, ask);
  if (choice.replicas.empty()) {
    return absl::UnavailableError(
        "the site map names no replica yet: start a vms-replica (with --serves for the "
        "networks of its hosts), or pass --replicas");
  }
  MutexLock lock(&mu_);
  known_ = map.version();
  return choice;
}

absl::StatusOr<DiscoveryChoice> Discovery::LearnPatiently(std::chrono::milliseconds patience) {
  const auto give_up = std::chrono::steady_clock::now() + patience;
  std::chrono::milliseconds backoff(500);
  for (;;) {
    auto choice = Learn();
    if (choice.ok() || std::chrono::steady_clock::now() + backoff >= give_up) return choice;
    FuseLog()->warn("{}; asking again in {} ms", Sv(choice.status().message()), backoff.count());
    std::this_thread::sleep_for(backoff);
    backoff = std::min<std::chrono::milliseconds>(backoff * 2, std::chrono::seconds(5));
  }
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
      // A moment of this host's own before it asks.
      const auto until = std::chrono::steady_clock::now() +
                         std::chrono::milliseconds(options_.jitter.count() > 0
                                                       ? std::uniform_int_distribution<int64_t>(
                                                             0, options_.jitter.count())(random_)
                                                       : 0);
      while (!stop_ && cv_.WaitUntil(until)) {
      }
      if (stop_) return;
    }
    std::vector<std::string> now = current_();
    auto choice = Learn(now);
    // At most once every few seconds, whatever is announced.
    retry_at = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    if (!choice.ok()) {
      FuseLog()->warn("site map changed, but {}; keeping replicas={}",
                      Sv(choice.status().message()), Join(now, ","));
      continue;
    }
    if (choice->replicas != now) {
      FuseLog()->info("site map version={}: site={} replicas={} (were {})", choice->map_version,
                      choice->site.empty() ? "none" : choice->site, Join(choice->replicas, ","),
                      Join(now, ","));
      on_change_(*choice);
    }
  }
}

}  // namespace vms
