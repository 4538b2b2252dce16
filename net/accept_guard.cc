#include "net/accept_guard.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/sync.h"
#include "spdlog/spdlog.h"

namespace vms {
namespace {

class Guard {
 public:
  void Configure(const ConnectionLimits& limits) {
    struct rlimit files;
    if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
      files.rlim_cur = files.rlim_max;
      setrlimit(RLIMIT_NOFILE, &files);
    }
    per_peer_ = limits.per_peer;
    reserve_fds_ = limits.reserve_fds;
    TakeReserve();
    on_ = true;
  }

  int Accept(int listener, sockaddr* addr, socklen_t* addrlen, int flags) {
    for (;;) {
      int fd = static_cast<int>(syscall(SYS_accept4, listener, addr, addrlen, flags));
      if (!on_) return fd;
      if (fd >= 0) {
        const char* why = Admit(fd);
        if (why == nullptr) return fd;
        ::close(fd);
        Shed(why);
        continue;  // the next waiting one, until the queue is empty (EAGAIN)
      }
      if (errno != EMFILE && errno != ENFILE) return -1;
      // Out of descriptors all the same: shed what waits with the reserve,
      // so that the listener stays armed and comes back when fds free up.
      const bool shed = ShedWithReserve(listener);
      if (shed) {
        Shed("no descriptor left (EMFILE)");
        continue;
      }
      errno = EAGAIN;
      return -1;
    }
  }

  uint64_t shed() const { return shed_; }

 private:
  // Why `fd` may not be kept, or null.
  const char* Admit(int fd) {
    TakeReserve();
    struct rlimit files;
    if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur != RLIM_INFINITY &&
        static_cast<uint64_t>(fd) + reserve_fds_ >= files.rlim_cur) {
      return "too near the limit of open files (RLIMIT_NOFILE)";
    }
    sockaddr_storage peer;
    socklen_t len = sizeof peer;
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) != 0) return nullptr;
    std::string key;
    if (peer.ss_family == AF_INET) {
      const auto* in = reinterpret_cast<const sockaddr_in*>(&peer);
      key.assign(reinterpret_cast<const char*>(&in->sin_addr), sizeof in->sin_addr);
    } else if (peer.ss_family == AF_INET6) {
      const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&peer);
      key.assign(reinterpret_cast<const char*>(&in6->sin6_addr), sizeof in6->sin6_addr);
      if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) key = key.substr(12);
    } else {
      return nullptr;  // a unix socket: its peers are local processes
    }
    struct stat st;
    if (fstat(fd, &st) != 0) return nullptr;
    MutexLock lock(&mu_);
    if (peers_.size() > kSweepAt) {
      for (auto it = peers_.begin(); it != peers_.end();) {
        Prune(&it->second);
        it = it->second.empty() ? peers_.erase(it) : std::next(it);
      }
    }
    auto& held = peers_[key];
    Prune(&held);
    if (held.size() >= per_peer_) return "its address holds the most connections one may";
    held.push_back({fd, st.st_ino});
    return nullptr;
  }

  // Drops the descriptors that are closed (or now another file).
  static void Prune(std::vector<std::pair<int, ino_t>>* held) {
    std::erase_if(*held, [](const std::pair<int, ino_t>& e) {
      struct stat st;
      return fstat(e.first, &st) != 0 || st.st_ino != e.second;
    });
  }

  void TakeReserve() {
    if (reserve_.load() >= 0) return;
    int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    int expected = -1;
    if (fd >= 0 && !reserve_.compare_exchange_strong(expected, fd)) ::close(fd);
  }

  bool ShedWithReserve(int listener) {
    pollfd waiting{.fd = listener, .events = POLLIN, .revents = 0};
    if (poll(&waiting, 1, 0) != 1) return false;  // nothing to shed (and never block)
    int reserve = reserve_.exchange(-1);
    if (reserve < 0) return false;
    ::close(reserve);
    int fd = static_cast<int>(syscall(SYS_accept4, listener, nullptr, nullptr, SOCK_CLOEXEC));
    if (fd >= 0) ::close(fd);
    TakeReserve();
    return fd >= 0;
  }

  void Shed(const char* why) {
    ++shed_;
    // Once per 10 s at most, with how many went since.
    const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::steady_clock::now().time_since_epoch())
                            .count();
    int64_t last = last_log_s_.load();
    if (now - last < 10 || !last_log_s_.compare_exchange_strong(last, now)) return;
    const uint64_t total = shed_.load();
    spdlog::warn(
        "shedding incoming connections: {} so far, the last because {}; a shed client sees its "
        "connection closed and retries (limits: --max-connections-per-peer, the open-files "
        "limit)",
        total, why);
  }

  static constexpr size_t kSweepAt = 4096;
  std::atomic<bool> on_{false};
  std::atomic<uint32_t> per_peer_{0};
  std::atomic<uint32_t> reserve_fds_{0};
  std::atomic<int> reserve_{-1};
  std::atomic<uint64_t> shed_{0};
  std::atomic<int64_t> last_log_s_{0};
  Mutex mu_;
  std::unordered_map<std::string, std::vector<std::pair<int, ino_t>>> peers_ ABSL_GUARDED_BY(mu_);
};

Guard& TheGuard() {
  static Guard* guard = new Guard;  // never destroyed: listeners may outlive main
  return *guard;
}

}  // namespace

void GuardAccepts(const ConnectionLimits& limits) { TheGuard().Configure(limits); }

uint64_t ShedConnections() { return TheGuard().shed(); }

}  // namespace vms

// What gRPC's and cpp-httplib's listeners call (net/accept_guard.h).
extern "C" int accept4(int fd, sockaddr* addr, socklen_t* addrlen, int flags) {
  return vms::TheGuard().Accept(fd, addr, addrlen, flags);
}

extern "C" int accept(int fd, sockaddr* addr, socklen_t* addrlen) {
  return vms::TheGuard().Accept(fd, addr, addrlen, 0);
}
