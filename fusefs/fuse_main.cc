// vms-fuse: /dist on a host. See dist_fs.h for the namespace.
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <iostream>
#include <sstream>

#include "CLI/CLI.hpp"
#include "core/chain.h"
#include "core/keys.h"
#include "core/strings.h"
#include "fusefs/catalog.h"
#include "fusefs/content.h"
#include "fusefs/dist_fs.h"
#include "fusefs/fuse_ops.h"
#include "fusefs/object_cache.h"
#include "fusefs/remote.h"
#include "fusefs/watcher.h"
#include "net/daemon.h"
#include "spdlog/spdlog.h"

namespace {

// Forks into the background before any thread exists (RocksDB's, gRPC's and
// ours do not survive a fork). The parent waits until the child reports
// whether it mounted, and exits with that status; returns the child's end of
// the pipe (one byte: 0 mounted, 1 failed).
int Daemonize() {
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) {
    perror("vms-fuse: pipe");
    exit(1);
  }
  pid_t pid = fork();
  if (pid < 0) {
    perror("vms-fuse: fork");
    exit(1);
  }
  if (pid > 0) {
    close(pipe_fds[1]);
    char status = 1;
    if (read(pipe_fds[0], &status, 1) != 1) status = 1;
    _exit(status);
  }
  close(pipe_fds[0]);
  setsid();
  if (chdir("/") != 0) perror("vms-fuse: chdir /");
  int null_fd = open("/dev/null", O_RDWR);
  if (null_fd >= 0) {
    dup2(null_fd, STDIN_FILENO);
    dup2(null_fd, STDOUT_FILENO);
    dup2(null_fd, STDERR_FILENO);
    if (null_fd > STDERR_FILENO) close(null_fd);
  }
  return pipe_fds[1];
}

// Tells the waiting parent (if any) how the start went.
void Report(int fd, bool mounted) {
  if (fd < 0) return;
  char status = mounted ? 0 : 1;
  ssize_t n = write(fd, &status, 1);
  (void)n;  // the parent treats a missing byte as a failure
  close(fd);
}

}  // namespace

int main(int argc, char** argv) {
  std::string replicas, cache_dir, trust_file, mountpoint;
  uint64_t cache_size = 10ull << 30;
  int fetch_timeout_ms = 10000;
  bool foreground = false, allow_other = geteuid() == 0;
  vms::LogOptions log;
  vms::TlsFiles tls;
  CLI::App app{
      "vms-fuse: mounts /dist on a host. /dist/APP is a symlink to APP@VERSION, the live "
      "version; /dist/APP@VERSION/ is the immutable tree of any version the site holds. "
      "Read-only, nosuid, nodev. Objects are fetched from the replicas on demand, verified, and "
      "kept in a bounded on-disk cache that survives restarts."};
  vms::AddDaemonFlags(&app, "vms-fuse", &log, &tls);
  app.add_option("--replicas", replicas,
                 "Replica addresses host:port[,host:port...], in order of preference; the next "
                 "is tried when one does not answer")
      ->required();
  app.add_option("--cache", cache_dir, "Cache directory (objects, catalog); created if missing")
      ->required();
  app.add_option("--trust", trust_file,
                 "The root of trust (root.pub, from vms-admin root init), or before one, the "
                 "master's public key (master.pub)")
      ->required();
  app.add_option("--cache-size", cache_size,
                 "Bound on cached bytes (suffixes K, M, G: 1024-based); open files are never "
                 "evicted")
      ->transform(CLI::AsSizeValue(false))
      ->capture_default_str();
  app.add_option("--fetch-timeout-ms", fetch_timeout_ms,
                 "Give up on a replica after this long; with none answering, uncached reads "
                 "fail with EIO")
      ->check(CLI::Range(100, 600000))
      ->capture_default_str();
  app.add_flag("-f,--foreground", foreground, "Stay in the foreground (else daemonize)");
  app.add_flag("--allow-other,!--no-allow-other", allow_other,
               "Let every user of the host use the mount (default when run as root)");
  app.add_option("mountpoint", mountpoint, "Where to mount, e.g. /dist")->required();
  CLI11_PARSE(app, argc, argv);

  // Many objects, streams and splices at once: take every descriptor allowed.
  struct rlimit files;
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
  }
  if (absl::Status s = vms::InitLogging("fuse", log); !s.ok()) {
    std::cerr << "vms-fuse: " << vms::Sv(s.message()) << "\n";
    return 2;
  }
  std::vector<std::string> addresses;
  std::stringstream list(replicas);
  for (std::string a; std::getline(list, a, ',');) {
    if (!a.empty()) addresses.push_back(a);
  }
  if (addresses.empty()) {
    std::cerr << "vms-fuse: --replicas needs at least one host:port\n";
    return 2;
  }
  auto trust = vms::LoadTrust(trust_file);
  if (!trust.ok()) {
    std::cerr << "vms-fuse: --trust: " << vms::Sv(trust.status().message()) << "\n";
    return 2;
  }
  auto credentials = vms::LoadDaemonCredentials(tls, vms::PrincipalKind::kHost);
  if (!credentials.ok()) {
    std::cerr << "vms-fuse: " << vms::Sv(credentials.status().message()) << "\n";
    return 2;
  }
  // Only arguments were checked so far; threads start below, so this is the
  // last moment to fork. The log file (if any) is opened again after.
  int ready_fd = foreground ? -1 : Daemonize();
  auto cache = vms::ObjectCache::Open(cache_dir, cache_size);
  if (!cache.ok()) {
    std::cerr << "vms-fuse: " << vms::Sv(cache.status().message()) << "\n";
    spdlog::error("{}", vms::Sv(cache.status().message()));
    Report(ready_fd, false);
    return 1;
  }
  vms::Remote remote(addresses, *credentials, std::chrono::milliseconds(fetch_timeout_ms));
  auto catalog = vms::Catalog::Open(
      cache_dir + "/catalog", *std::move(trust),
      [&remote](const std::string& app) { return remote.Releases(app); },
      [&remote] { return remote.Trust(); });
  if (!catalog.ok()) {
    std::cerr << "vms-fuse: " << vms::Sv(catalog.status().message()) << "\n";
    spdlog::error("{}", vms::Sv(catalog.status().message()));
    Report(ready_fd, false);
    return 1;
  }
  vms::Content content(cache->get(),
                       [&remote](std::span<const vms::Hash> h, const vms::Upstream::Sink& sink) {
                         return remote.Fetch(h, sink);
                       });
  vms::DistFs fs(catalog->get(), &content);

  auto mount = vms::FuseMount::Mount(
      &fs, {.mountpoint = mountpoint, .allow_other = allow_other, .cache = cache->get()});
  if (!mount.ok()) {
    std::cerr << "vms-fuse: " << vms::Sv(mount.status().message()) << "\n";
    spdlog::error("{}", vms::Sv(mount.status().message()));
    Report(ready_fd, false);
    return 1;
  }
  Report(ready_fd, true);
  vms::Watcher watcher(catalog->get(), &remote,
                       [m = mount->get()](const std::string& app) { m->InvalidateRootEntry(app); });
  watcher.Start();
  spdlog::info("mounted at={} replicas={} cache={} cache_size={}", mountpoint, replicas, cache_dir,
               cache_size);
  absl::Status s = (*mount)->Run();
  watcher.Stop();
  mount->reset();  // unmounts
  spdlog::info("unmounted at={}", mountpoint);
  if (!s.ok()) {
    spdlog::error("{}", vms::Sv(s.message()));
    return 1;
  }
  return 0;
}
