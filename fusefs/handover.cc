#include "fusefs/handover.h"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <vector>

#include "core/strings.h"

extern char** environ;

namespace vms {

namespace {

bool WaitReadable(int fd, std::chrono::milliseconds timeout) {
  pollfd p{fd, POLLIN, 0};
  int rc;
  do {
    rc = poll(&p, 1, static_cast<int>(timeout.count()));
  } while (rc < 0 && errno == EINTR);
  return rc > 0;
}

}  // namespace

absl::StatusOr<sockaddr_un> UnixAddress(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    return absl::InvalidArgumentError(StrCat("socket path ", path, " is longer than ",
                                             sizeof addr.sun_path - 1,
                                             " bytes: use a shorter --cache directory"));
  }
  std::memcpy(addr.sun_path, path.data(), path.size());  // zero-filled: terminated
  return addr;
}

std::string MountpointName(const std::string& path) {
  namespace fs = std::filesystem;
  fs::path p = fs::absolute(path).lexically_normal();
  if (p.filename().empty()) p = p.parent_path();  // a trailing slash
  std::error_code ec;
  fs::path parent = fs::weakly_canonical(p.parent_path(), ec);
  return (ec ? p.parent_path() : parent) / p.filename();
}

namespace {

// sendmsg of `message` with `fd` attached (if >= 0), to `to` (if given).
ssize_t SendWithFd(int sock, std::string_view message, int fd, const sockaddr_un* to = nullptr,
                   socklen_t to_len = 0) {
  iovec iov{const_cast<char*>(message.data()), message.size()};
  msghdr msg{};
  msg.msg_name = const_cast<sockaddr_un*>(to);
  msg.msg_namelen = to_len;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  if (fd >= 0) {
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
  }
  ssize_t n;
  do {
    n = sendmsg(sock, &msg, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  return n;
}

}  // namespace

absl::Status SendMessage(int sock, std::string_view message, int fd) {
  if (SendWithFd(sock, message, fd) < 0) return ErrnoError(errno, "send to the holder");
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReceiveMessage(int sock, Fd* fd) {
  char buf[4096];
  iovec iov{buf, sizeof buf};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 4)] = {};
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  do {
    n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return ErrnoError(errno, "receive from the holder");
  if (fd != nullptr) *fd = Fd();
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; ++i) {
      int got;
      std::memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof got);
      if (fd != nullptr && !fd->valid()) {
        *fd = Fd(got);
      } else {
        close(got);  // nobody asked for it
      }
    }
  }
  return std::string(buf, static_cast<size_t>(n));
}

absl::Status CheckFuseDevice(int fd) {
  struct stat got {
  }, dev{};
  if (fstat(fd, &got) != 0) return ErrnoError(errno, "fstat of the descriptor");
  if (stat("/dev/fuse", &dev) != 0) return ErrnoError(errno, "stat /dev/fuse");
  if (!S_ISCHR(got.st_mode) || got.st_rdev != dev.st_rdev) {
    return absl::InvalidArgumentError("a descriptor that is not /dev/fuse");
  }
  return absl::OkStatus();
}

absl::Status CheckPrivateDir(const std::string& dir) {
  struct stat st {};
  if (stat(dir.c_str(), &st) != 0) return ErrnoError(errno, StrCat("stat ", dir));
  if (!S_ISDIR(st.st_mode)) return absl::InvalidArgumentError(StrCat(dir, " is not a directory"));
  if (st.st_uid != geteuid()) {
    return absl::PermissionDeniedError(StrCat(dir, " belongs to uid ", st.st_uid,
                                              ", not to us (uid ", geteuid(),
                                              "): use a cache dir of our own"));
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    char mode[8];
    snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return absl::PermissionDeniedError(
        StrCat(dir, " can be written by others (mode ", mode,
               "): another user could plant the mount's holder socket there; chmod go-w ", dir));
  }
  return absl::OkStatus();
}

std::string HolderSocketPath(const std::string& cache_dir) { return cache_dir + "/fuse.holder"; }

absl::StatusOr<TakenOver> TakeOverFromHolder(const std::string& socket,
                                             const std::string& mountpoint, bool replace,
                                             std::chrono::milliseconds timeout) {
  auto addr = UnixAddress(socket);
  if (!addr.ok()) return addr.status();
  Fd sock(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  if (!sock.valid()) return ErrnoError(errno, "socket");
  if (connect(sock.get(), reinterpret_cast<const sockaddr*>(&*addr), sizeof *addr) != 0) {
    if (errno == ENOENT || errno == ECONNREFUSED) {
      return absl::NotFoundError(StrCat("no holder at ", socket));
    }
    return ErrnoError(errno, StrCat("connect to the holder at ", socket));
  }
  // Only a holder we (or root) started may hand us a mount: another user's
  // socket planted in the cache dir would otherwise get to speak FUSE to us
  // or have us unmount /dist.
  ucred peer{};
  socklen_t peer_len = sizeof peer;
  if (getsockopt(sock.get(), SOL_SOCKET, SO_PEERCRED, &peer, &peer_len) != 0) {
    return ErrnoError(errno, StrCat("credentials of the holder at ", socket));
  }
  if (peer.uid != 0 && peer.uid != geteuid()) {
    return absl::PermissionDeniedError(
        StrCat("the holder at ", socket, " runs as uid ", peer.uid, ", not as us (uid ", geteuid(),
               ") or root: refusing it; remove the socket and check who can write the cache dir"));
  }
  if (absl::Status s = SendMessage(sock.get(), replace ? kReplace : kTakeOver); !s.ok()) return s;
  if (!WaitReadable(sock.get(), timeout)) {
    return absl::DeadlineExceededError(StrCat(
        "the holder at ", socket, " did not hand the mount over within ", timeout.count(), " ms"));
  }
  Fd fuse;
  auto reply = ReceiveMessage(sock.get(), &fuse);
  if (!reply.ok()) return reply.status();
  if (reply->starts_with(kError)) {
    return absl::FailedPreconditionError(reply->substr(kError.size()));
  }
  if (!reply->starts_with(kOk) || !fuse.valid()) {
    return absl::UnavailableError(
        StrCat("the holder at ", socket, " closed without handing the mount over"));
  }
  if (absl::Status s = CheckFuseDevice(fuse.get()); !s.ok()) {
    return absl::PermissionDeniedError(
        StrCat("the holder at ", socket, " handed over ", s.message()));
  }
  std::string held = reply->substr(kOk.size());
  if (MountpointName(held) != MountpointName(mountpoint)) {
    return absl::FailedPreconditionError(
        StrCat("the holder at ", socket, " holds the mount at ", held, ", not ", mountpoint));
  }
  return TakenOver{std::move(fuse), std::move(sock)};
}

absl::StatusOr<Fd> SpawnHolder(const std::string& socket, const std::string& mountpoint,
                               int fuse_fd, std::chrono::seconds grace, std::string holder) {
  std::string bin = std::move(holder);
  if (bin.empty()) {
    char self[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (len <= 0) return ErrnoError(errno, "readlink /proc/self/exe");
    self[len] = '\0';
    bin = (std::filesystem::path(self).parent_path() / "vms-fuse-holder").string();
  }
  if (access(bin.c_str(), X_OK) != 0) {
    return absl::NotFoundError(StrCat(bin, " is missing: it is installed beside vms-fuse"));
  }
  int pair[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) {
    return ErrnoError(errno, "socketpair");
  }
  Fd ours(pair[0]), theirs(pair[1]);
  constexpr int kFuseFd = 3, kLinkFd = 4;
  // Both first go above the numbers they land on: with stdin closed (a
  // daemon), the socket pair can be 0 and 3, and dup2(fuse_fd, 3) would
  // replace the link before it is copied to 4.
  Fd fuse_high(fcntl(fuse_fd, F_DUPFD_CLOEXEC, 10));
  if (fuse_high.get() < 0) return ErrnoError(errno, "dup the FUSE descriptor");
  Fd link_high(fcntl(theirs.get(), F_DUPFD_CLOEXEC, 10));
  if (link_high.get() < 0) return ErrnoError(errno, "dup the holder's socket");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  // dup2 clears close-on-exec on the copies; the originals stay ours.
  posix_spawn_file_actions_adddup2(&actions, fuse_high.get(), kFuseFd);
  posix_spawn_file_actions_adddup2(&actions, link_high.get(), kLinkFd);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // Its own session: a terminal's or a process group's signals for vms-fuse
  // are not for it.
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID);
  std::vector<std::string> args = {bin,
                                   "--socket",
                                   socket,
                                   "--mountpoint",
                                   mountpoint,
                                   "--grace-s",
                                   std::to_string(grace.count())};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid;
  int rc = posix_spawn(&pid, bin.c_str(), &actions, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return ErrnoError(rc, StrCat("start ", bin));
  // It says "OK" once it listens: a successor started right after us finds it.
  if (!WaitReadable(ours.get(), std::chrono::seconds(10))) {
    return absl::DeadlineExceededError(StrCat(bin, " did not start within 10 s"));
  }
  auto ready = ReceiveMessage(ours.get());
  if (!ready.ok()) return ready.status();
  if (!ready->starts_with(kOk)) {
    return absl::InternalError(StrCat(bin, ": ", ready->empty() ? "exited" : *ready));
  }
  return ours;
}

bool SystemdPresent() {
  const char* s = getenv("NOTIFY_SOCKET");
  return s != nullptr && *s != '\0';
}

absl::Status SystemdStoreFd(int fd) {
  const char* path = getenv("NOTIFY_SOCKET");
  if (path == nullptr || *path == '\0') return absl::FailedPreconditionError("no NOTIFY_SOCKET");
  std::string p = path;
  if (p[0] == '@') p[0] = '\0';  // abstract namespace
  auto addr = UnixAddress(p);
  if (!addr.ok()) return absl::InvalidArgumentError("NOTIFY_SOCKET too long");
  Fd sock(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!sock.valid()) return ErrnoError(errno, "socket");
  std::string message = fd >= 0 ? "FDSTORE=1\nFDNAME=fuse\n" : "FDSTOREREMOVE=1\nFDNAME=fuse\n";
  auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + p.size());
  if (SendWithFd(sock.get(), message, fd, &*addr, len) < 0) {
    return ErrnoError(errno, "notify systemd");
  }
  return absl::OkStatus();
}

int SystemdPassedFd() {
  const char* pid = getenv("LISTEN_PID");
  const char* fds = getenv("LISTEN_FDS");
  if (pid == nullptr || fds == nullptr || atol(pid) != getpid()) return -1;
  int count = atoi(fds);
  std::vector<std::string> names;
  if (const char* n = getenv("LISTEN_FDNAMES"); n != nullptr) {
    std::string all = n;
    for (size_t at = 0;;) {
      size_t colon = all.find(':', at);
      names.push_back(all.substr(at, colon - at));
      if (colon == std::string::npos) break;
      at = colon + 1;
    }
  }
  // Read once (as sd_listen_fds does): a reload's new image, which has the
  // same pid, must not take these numbers for descriptors again.
  unsetenv("LISTEN_PID");
  unsetenv("LISTEN_FDS");
  unsetenv("LISTEN_FDNAMES");
  constexpr int kFirst = 3;  // SD_LISTEN_FDS_START
  int found = -1;
  for (int i = 0; i < count; ++i) {
    fcntl(kFirst + i, F_SETFD, FD_CLOEXEC);
    if (found < 0 && i < static_cast<int>(names.size()) && names[i] == "fuse") found = kFirst + i;
  }
  return found;
}

}  // namespace vms
