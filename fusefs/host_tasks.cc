#include "fusefs/host_tasks.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include "core/log.h"
#include "core/strings.h"
#include "fusefs/handover.h"
#include "spdlog/spdlog.h"

namespace vms {

using Next = PeriodicTask::Next;

MetricsEndpoint::MetricsEndpoint(const std::string& listen, const TlsFiles& tls, Metrics* metrics,
                                 const std::string& address_file) {
  if (listen.empty()) return;
  task_ = std::make_unique<PeriodicTask>([=, this]() -> Next {
    auto served = ServeMetrics(listen, tls, metrics, address_file);
    if (served.ok()) {
      MutexLock lock(&mu_);
      server_ = *std::move(served);
      return Next::Done();
    }
    if (!absl::IsFailedPrecondition(served.status()) || ++attempts_ == kAttempts) {
      FuseLog()->error("no metrics: {}", Sv(served.status().message()));
      return Next::Done();
    }
    if (attempts_ == 1) FuseLog()->info("metrics address {} in use: retrying each second", listen);
    return Next::In(std::chrono::seconds(1));
  });
}

void MetricsEndpoint::Stop() {
  if (task_) task_->Stop();
  MutexLock lock(&mu_);
  server_.reset();
}

bool MetricsEndpoint::serving() const {
  MutexLock lock(&mu_);
  return server_ != nullptr;
}

HolderLink::HolderLink(int link, std::function<void()> on_stop, std::function<void()> hand_over)
    : link_(link) {
  int p[2];
  if (link_ < 0 || pipe2(p, O_CLOEXEC) != 0) return;
  stop_read_ = Fd(p[0]);
  stop_write_ = Fd(p[1]);
  thread_ = std::thread([this, on_stop = std::move(on_stop), hand_over = std::move(hand_over)] {
    pollfd fds[2] = {{link_, POLLIN, 0}, {stop_read_.get(), POLLIN, 0}};
    while (poll(fds, 2, -1) >= 0 || errno == EINTR) {
      if (fds[1].revents != 0) return;
      if (fds[0].revents == 0) continue;
      auto message = ReceiveMessage(link_);
      if (message.ok() && *message == kStop) {
        FuseLog()->info("a new vms-fuse takes the mount over: handing it over");
        on_stop();
        hand_over();
        return;
      }
      FuseLog()->warn(
          "the holder of the mount is gone: a crash of vms-fuse now leaves a dead "
          "mount (a restart detaches it)");
      return;
    }
  });
}

void HolderLink::Stop() {
  if (!thread_.joinable()) return;
  char c = 0;
  ssize_t n = write(stop_write_.get(), &c, 1);
  (void)n;
  thread_.join();
}

CensusReporter::CensusReporter(Scan scan, Send send, std::string host,
                               std::chrono::milliseconds interval)
    : task_(
          [this, scan = std::move(scan), send = std::move(send), host = std::move(host),
           interval]() -> Next {
            using std::chrono::milliseconds;
            const auto now = std::chrono::steady_clock::now();
            auto wait = milliseconds(0);
            const auto gap = std::min<milliseconds>(kMinGap, interval);
            if (last_sent_ != std::chrono::steady_clock::time_point{} && now - last_sent_ < gap) {
              wait = std::chrono::duration_cast<milliseconds>(gap - (now - last_sent_));
            }
            if (const int64_t cue = cue_ns_.load(); cue != 0) {
              const std::chrono::steady_clock::time_point at{
                  std::chrono::steady_clock::duration(cue)};
              if (now - at < kSettle) {
                wait =
                    std::max(wait, std::chrono::duration_cast<milliseconds>(kSettle - (now - at)));
              }
            }
            if (wait > milliseconds(0)) return Next::In(wait + milliseconds(1));
            cue_ns_ = 0;
            last_sent_ = now;
            HostUsageReport report;
            report.set_host(host);
            report.set_interval_ms(interval.count());
            for (VersionUsage& v : scan()) *report.add_versions() = std::move(v);
            absl::Status s = send(report);
            if (!s.ok() && std::string(s.message()) != last_error_) {
              FuseLog()->warn("census report not taken: {}", Sv(s.message()));
            }
            last_error_ = s.ok() ? "" : std::string(s.message());
            return Next::In(interval);
          },
          interval) {}

CacheReclaimer::CacheReclaimer(std::function<uint64_t(const Hash&)> reclaim)
    : reclaim_(std::move(reclaim)), task_([this] { return Run(); }, kRetry) {}

bool CacheReclaimer::Add(const std::string& app, const std::string& version, const Hash& root) {
  {
    MutexLock lock(&mu_);
    if (queue_.size() >= kMaxQueued) {
      FuseLog()->warn(
          "retired app={} version={}: the cache keeps it until evicted ({} reclaims "
          "waiting)",
          app, version, queue_.size());
      return false;
    }
    queue_.push_back({app, version, root});
  }
  task_.Wake();
  return true;
}

PeriodicTask::Next CacheReclaimer::Run() {
  std::vector<Hash> roots;
  {
    MutexLock lock(&mu_);
    for (const Retired& r : queue_) roots.push_back(r.root);
  }
  if (roots.empty()) return Next::WhenWoken();
  std::vector<uint64_t> bytes;
  for (const Hash& root : roots) bytes.push_back(reclaim_(root));
  MutexLock lock(&mu_);
  // Only Run() removes, so the first roots.size() are the ones tried.
  for (size_t i = 0; i < bytes.size(); ++i) {
    queue_[i].bytes += bytes[i];
    ++queue_[i].tries;
  }
  while (!queue_.empty() && queue_.front().tries >= kTries) {
    const Retired& r = queue_.front();
    FuseLog()->info("retired app={} version={}: dropped {} bytes from the cache", r.app, r.version,
                    r.bytes);
    queue_.pop_front();
  }
  return queue_.empty() ? Next::WhenWoken() : Next::In(kRetry);
}

}  // namespace vms
