// vms-fuse-holder: holds a mounted /dev/fuse descriptor between vms-fuse
// processes (see handover.h), so that a crash or an upgrade of vms-fuse never
// shows a program a dead mount. Started by vms-fuse at a fresh mount with the
// descriptor as fd 3 and its link to that vms-fuse as fd 4; one thread, no
// library beyond libc, nothing to crash on.
//
// It hands the descriptor to the next vms-fuse that asks on its socket: at
// once if none serves, or (REPLACE, a planned upgrade) after asking the
// serving one to stop, which SIGKILL ends if it has not exited within 10 s.
// It exits when the mount goes (unmounted, by anyone), or when no vms-fuse
// has served for --grace-s: then the descriptor closes and programs see the
// dead mount, as they would with no holder at all.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "fusefs/handover.h"

namespace {

using Clock = std::chrono::steady_clock;

constexpr int kFuseFd = 3, kLinkFd = 4;
constexpr size_t kMaxClients = 16;
constexpr auto kStopTimeout = std::chrono::seconds(10);

void Say(const std::string& what) { fprintf(stderr, "vms-fuse-holder: %s\n", what.c_str()); }

// A mountinfo field with its octal escapes (\040 for a space) undone.
std::string Unescape(const std::string& field) {
  std::string out;
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size()) {
      int v = 0;
      bool octal = true;
      for (size_t j = 1; j <= 3; ++j) {
        char c = field[i + j];
        if (c < '0' || c > '7') octal = false;
        v = v * 8 + (c - '0');
      }
      if (octal) {
        out.push_back(static_cast<char>(v));
        i += 3;
        continue;
      }
    }
    out.push_back(field[i]);
  }
  return out;
}

// Each line of /proc/self/mountinfo as (device "major:minor", mount point
// unescaped, the rest of the line from the filesystem type on).
template <typename Fn>
void ForEachMount(Fn fn) {
  std::ifstream in("/proc/self/mountinfo");
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::string id, parent, dev, root, point, rest;
    fields >> id >> parent >> dev >> root >> point;
    std::getline(fields, rest);
    fn(dev, Unescape(point), rest);
  }
}

// The device of the vms mount at `mountpoint`, the newest if several are
// stacked; "" if there is none.
std::string MountDevice(const std::string& mountpoint) {
  std::string found;
  ForEachMount([&](const std::string& dev, const std::string& point, const std::string& rest) {
    if (point == mountpoint && rest.find(" - fuse.vms ") != std::string::npos) found = dev;
  });
  return found;
}

bool Mounted(const std::string& dev) {
  bool found = false;
  ForEachMount([&](const std::string& d, const std::string&, const std::string&) {
    found = found || d == dev;
  });
  return found;
}

pid_t PeerPid(int sock, uid_t* uid = nullptr) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return -1;
  if (uid != nullptr) *uid = cred.uid;
  return cred.pid;
}

struct Holder {
  std::string socket_path, mountpoint;
  std::chrono::seconds grace{30};
  int listen_fd = -1;
  int serving = kLinkFd;  // the daemon serving the mount, or -1
  pid_t serving_pid = -1;
  int pending = -1;  // a REPLACE waiting for `serving` to go
  Clock::time_point idle_since, stop_asked;
  bool killed = false;
  std::vector<int> clients;

  void Drop(int fd) {
    std::erase(clients, fd);
    if (pending == fd) pending = -1;
    close(fd);
  }

  void Hand(int client) {
    std::erase(clients, client);
    if (pending == client) pending = -1;
    if (absl::Status s = vms::SendMessage(client, std::string(vms::kOk) + mountpoint, kFuseFd);
        !s.ok()) {
      Say("handing over failed: " + std::string(s.message()));
      close(client);
      idle_since = Clock::now();
      return;
    }
    serving = client;
    serving_pid = PeerPid(client);
    killed = false;
    Say("handed the mount at " + mountpoint + " to pid " + std::to_string(serving_pid));
  }

  void ServingGone() {
    close(serving);
    serving = -1;
    idle_since = Clock::now();
    if (pending >= 0) Hand(pending);
  }

  void OnClient(int client) {
    auto message = vms::ReceiveMessage(client);
    if (!message.ok() || message->empty()) {
      Drop(client);
      return;
    }
    if (serving < 0 && pending < 0) {
      Hand(client);
      return;
    }
    auto refuse = [&](const std::string& why) {
      (void)vms::SendMessage(client, std::string(vms::kError) + why);
      Drop(client);
    };
    if (*message == vms::kTakeOver) {
      refuse("the mount at " + mountpoint + " is served by vms-fuse pid " +
             std::to_string(serving_pid) +
             ": stop it first, or start the new one with --takeover to replace it");
    } else if (*message == vms::kReplace) {
      if (pending >= 0) return refuse("another vms-fuse is already taking the mount over");
      pending = client;
      stop_asked = Clock::now();
      if (!vms::SendMessage(serving, vms::kStop).ok()) ServingGone();
    } else {
      refuse("unknown request");
    }
  }

  int Run() {
    int mountinfo = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
    const std::string dev = MountDevice(mountpoint);
    if (dev.empty() || mountinfo < 0) {
      (void)vms::SendMessage(kLinkFd, "no vms mount at " + mountpoint);
      return 1;
    }
    serving_pid = PeerPid(kLinkFd);
    (void)vms::SendMessage(kLinkFd, vms::kOk);
    while (true) {
      std::vector<pollfd> fds = {{listen_fd, POLLIN, 0}, {mountinfo, POLLPRI, 0}};
      if (serving >= 0) fds.push_back({serving, POLLIN, 0});
      for (int c : clients) fds.push_back({c, POLLIN, 0});
      int timeout = -1;
      auto now = Clock::now();
      auto until = [&](Clock::time_point t) {
        auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t - now).count();
        return static_cast<int>(std::max<int64_t>(ms, 0) + 1);
      };
      if (serving < 0) timeout = until(idle_since + grace);
      if (pending >= 0 && !killed) timeout = until(stop_asked + kStopTimeout);
      int rc = poll(fds.data(), fds.size(), timeout);
      if (rc < 0 && errno != EINTR) {
        Say(std::string("poll: ") + strerror(errno));
        return 1;
      }
      now = Clock::now();
      if (fds[1].revents & (POLLPRI | POLLERR)) {
        if (!Mounted(dev)) {
          Say("the mount at " + mountpoint + " is gone: exiting");
          return 0;
        }
      }
      // Descriptors may close below: act on what poll saw, by value.
      std::vector<int> ready;
      for (size_t i = 2; i < fds.size(); ++i) {
        if (fds[i].revents != 0) ready.push_back(fds[i].fd);
      }
      for (int fd : ready) {
        if (fd == serving) {
          // A serving daemon says nothing; any read ends it (EOF: it exited).
          auto message = vms::ReceiveMessage(serving);
          if (!message.ok() || message->empty()) ServingGone();
        } else if (std::find(clients.begin(), clients.end(), fd) != clients.end()) {
          OnClient(fd);
        }
      }
      if (fds[0].revents & POLLIN) {
        int c = accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
        uid_t uid = 0;
        if (c >= 0 && (PeerPid(c, &uid) < 0 || (uid != 0 && uid != getuid()) ||
                       clients.size() >= kMaxClients)) {
          close(c);  // only its owner (or root) may take the mount
        } else if (c >= 0) {
          clients.push_back(c);
        }
      }
      if (serving < 0 && pending < 0 && now >= idle_since + grace) {
        Say("no vms-fuse took the mount at " + mountpoint + " over within " +
            std::to_string(grace.count()) + " s: letting it go");
        return 0;
      }
      if (pending >= 0 && serving >= 0 && !killed && now >= stop_asked + kStopTimeout) {
        Say("vms-fuse pid " + std::to_string(serving_pid) +
            " did not stop within 10 s: killing it");
        if (serving_pid > 0) kill(serving_pid, SIGKILL);
        killed = true;
      }
    }
  }
};

}  // namespace

int main(int argc, char** argv) {
  Holder h;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--socket") {
      h.socket_path = value;
    } else if (flag == "--mountpoint") {
      h.mountpoint = value;
    } else if (flag == "--grace-s") {
      h.grace = std::chrono::seconds(std::max(1, atoi(value.c_str())));
    } else {
      Say("unknown flag " + flag + " (it is started by vms-fuse, not by hand)");
      return 2;
    }
  }
  if (h.socket_path.empty() || h.mountpoint.empty() || fcntl(kFuseFd, F_GETFD) < 0 ||
      fcntl(kLinkFd, F_GETFD) < 0) {
    Say("usage: vms-fuse-holder --socket PATH --mountpoint DIR [--grace-s N], with the "
        "/dev/fuse descriptor as fd 3 and the link to vms-fuse as fd 4 (vms-fuse starts it)");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  signal(SIGINT, SIG_IGN);
  fcntl(kFuseFd, F_SETFD, FD_CLOEXEC);
  fcntl(kLinkFd, F_SETFD, FD_CLOEXEC);
  h.listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  auto addr = vms::UnixAddress(h.socket_path);
  if (!addr.ok()) {
    (void)vms::SendMessage(kLinkFd, std::string(addr.status().message()));
    return 1;
  }
  unlink(h.socket_path.c_str());  // a dead holder's
  umask(077);
  if (h.listen_fd < 0 ||
      bind(h.listen_fd, reinterpret_cast<const sockaddr*>(&*addr), sizeof *addr) != 0 ||
      listen(h.listen_fd, 8) != 0) {
    (void)vms::SendMessage(kLinkFd, "cannot listen on " + h.socket_path + ": " + strerror(errno));
    return 1;
  }
  struct stat bound {};
  stat(h.socket_path.c_str(), &bound);
  int rc = h.Run();
  // Ours only: a holder for a newer mount may have bound the path since.
  struct stat now {};
  if (stat(h.socket_path.c_str(), &now) == 0 && now.st_ino == bound.st_ino &&
      now.st_dev == bound.st_dev) {
    unlink(h.socket_path.c_str());
  }
  return rc;
}
