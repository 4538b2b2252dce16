// vms-fuse: /dist on a host. See dist_fs.h for the namespace.
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cctype>
#include <iostream>
#include <optional>
#include <sstream>
#include <thread>

#include "CLI/CLI.hpp"
#include "core/chain.h"
#include "core/clock.h"
#include "core/keys.h"
#include "core/log.h"
#include "core/principal.h"
#include "core/process.h"
#include "core/strings.h"
#include "fusefs/catalog.h"
#include "fusefs/content.h"
#include "fusefs/discovery.h"
#include "fusefs/dist_fs.h"
#include "fusefs/fuse_ops.h"
#include "fusefs/handover.h"
#include "fusefs/host_tasks.h"
#include "fusefs/object_cache.h"
#include "fusefs/remote.h"
#include "fusefs/watcher.h"
#include "net/daemon.h"
#include "net/metrics.h"
#include "spdlog/spdlog.h"

namespace {

// Gauges read from state at each scrape: the cache, each app's live seq,
// the replica in use.
void AddScrapeGauges(vms::Metrics* metrics, vms::ObjectCache* cache, vms::Catalog* catalog,
                     vms::Remote* remote, vms::Watcher* watcher) {
  // An app is a label value: past this many apps, the rest are not shown.
  constexpr size_t kMaxApps = 1000;
  metrics->OnScrape(
      [=, apps = std::map<std::string, prometheus::Gauge*>(),
       in_use = std::map<vms::UpstreamClient*, prometheus::Gauge*>(),
       bytes = &metrics->Gauge("vms_fuse_cache_bytes", "Bytes in the host cache"),
       max = &metrics->Gauge("vms_fuse_cache_max_bytes", "The host cache's bound (--cache-size)"),
       pinned = &metrics->Gauge("vms_fuse_cache_pinned_objects",
                                "Objects of open files, which are never evicted"),
       watching = &metrics->Gauge("vms_fuse_watch_connected",
                                  "1 while the stream of live records is open")]() mutable {
        bytes->Set(static_cast<double>(cache->bytes()));
        max->Set(static_cast<double>(cache->max_bytes()));
        pinned->Set(static_cast<double>(cache->pinned()));
        watching->Set(watcher->connected() ? 1 : 0);
        // Replicas ever used (a re-learned site map may drop some: they show 0).
        for (vms::UpstreamClient* c : remote->clients()) {
          if (!in_use.contains(c)) {
            in_use[c] = &metrics->Gauge("vms_fuse_replica_in_use",
                                        "1 for the replica this host fetches from now",
                                        {{"replica", c->address()}});
          }
        }
        for (const auto& [c, gauge] : in_use) gauge->Set(remote->preferred() == c ? 1 : 0);
        for (const auto& [app, live] : catalog->LiveApps()) {
          auto it = apps.find(app);
          if (it == apps.end()) {
            if (apps.size() >= kMaxApps) continue;
            it = apps.emplace(app, &metrics->Gauge("vms_fuse_app_live_seq",
                                                   "The live_seq of each app's live record here",
                                                   {{"app", app}}))
                     .first;
          }
          it->second->Set(static_cast<double>(live.live_seq));
        }
      });
}

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

// The host's name in the census: its certificate's (vms://host/NAME), else
// --host-name, else the system's host name made a valid name.
std::string CensusHostName(const vms::Credentials& credentials, const std::string& flag) {
  if (auto p = vms::ParsePrincipal(credentials.principal()); p.ok()) return p->name;
  if (!flag.empty()) return flag;
  char buf[256] = {};
  gethostname(buf, sizeof buf - 1);
  std::string name;
  for (char c : std::string(buf)) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    name +=
        (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.') ? c : '-';
  }
  if (name.empty() || !std::isalnum(static_cast<unsigned char>(name[0]))) name = "h" + name;
  return name.substr(0, 64);
}

// This binary's path, read at start: an upgrade that replaces the file is
// what a reload (SIGHUP) executes.
std::string SelfPath() {
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "";
  buf[n] = '\0';
  return buf;
}

// argv for a new copy of this program that takes over `fuse_fd` (and the
// holder link, if any): the same flags, in the foreground (the process is
// already what it should be), without those of a previous takeover.
std::vector<std::string> ReloadArgs(int argc, char** argv, int fuse_fd, int link_fd) {
  std::vector<std::string> out;
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--takeover-fd" || a == "--holder-fd") {
      ++i;
      continue;
    }
    if (a.starts_with("--takeover-fd=") || a.starts_with("--holder-fd=") || a == "--takeover") {
      continue;
    }
    out.push_back(a);
  }
  out.insert(out.begin() + 1, {"-f", "--takeover-fd", std::to_string(fuse_fd)});
  if (link_fd >= 0) out.insert(out.begin() + 1, {"--holder-fd", std::to_string(link_fd)});
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  vms::ProcessDefaults();
  std::string replicas, discover, cache_dir, trust_file, mountpoint, site, host_name;
  int census_interval_s = 60;
  uint64_t cache_size = 10ull << 30;
  int fetch_timeout_ms = 10000;
  bool foreground = false, allow_other = geteuid() == 0, takeover = false;
  int takeover_fd = -1, holder_fd = -1, holder_grace_s = 60;
  const std::string self = SelfPath();
  vms::LogOptions log;
  vms::TlsFiles tls;
  std::string metrics_listen;
  CLI::App app{
      "vms-fuse: mounts /dist on a host. /dist/APP is a symlink to APP@VERSION, the live "
      "version; /dist/APP@VERSION/ is the immutable tree of any version the site holds. "
      "Read-only, nosuid, nodev. Objects are fetched from the replicas on demand, verified, and "
      "kept in a bounded on-disk cache that survives restarts."};
  vms::AddDaemonFlags(&app, "vms-fuse", &log, &tls, &metrics_listen);
  auto* replicas_opt =
      app.add_option("--replicas", replicas,
                     "Replica addresses host:port[,host:port...], in order of preference; the "
                     "next is tried when one does not answer");
  app.add_option("--discover", discover,
                 "Instead of --replicas: any replica's or the master's host:port[,...]. The "
                 "site map they serve gives this host its own site's replica (the site whose "
                 "vms-replica --serves a network holding this host's address) and the nearest "
                 "others by round-trip time as fallbacks; learned again when the map changes")
      ->excludes(replicas_opt);
  app.add_option("--site", site,
                 "This host's site: flips scoped to other sites (canaries) do not concern it. "
                 "Default: the site --discover found, else the first replica's own");
  app.add_option("--census-interval-s", census_interval_s,
                 "How often this host tells its replica which versions it uses (the usage "
                 "census: processes, open files, last use; 0: never)")
      ->capture_default_str();
  app.add_option("--host-name", host_name,
                 "This host's name in the census when its certificate names none (--insecure); "
                 "default: the system's host name");
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
  app.add_flag("--takeover", takeover,
               "Replace the vms-fuse serving the mountpoint (a planned upgrade): it stops taking "
               "requests and hands the mount over; programs using /dist never notice. Without "
               "it, a mount whose vms-fuse died is taken over, and a served one is refused");
  app.add_option("--holder-grace-s", holder_grace_s,
                 "How long the holder of the mount waits for a new vms-fuse after one dies, "
                 "before programs see the mount dead")
      ->check(CLI::Range(1, 86400))
      ->capture_default_str();
  app.add_option("--takeover-fd", takeover_fd, "(internal: a reload's mounted descriptor)")
      ->group("");
  app.add_option("--holder-fd", holder_fd, "(internal: a reload's link to the holder)")->group("");
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
  auto split = [](const std::string& list) {
    std::vector<std::string> out;
    std::stringstream in(list);
    for (std::string a; std::getline(in, a, ',');) {
      if (!a.empty()) out.push_back(a);
    }
    return out;
  };
  std::vector<std::string> addresses = split(replicas);
  const std::vector<std::string> seeds = split(discover);
  if (addresses.empty() && seeds.empty()) {
    std::cerr << "vms-fuse: --replicas (or --discover) needs at least one host:port\n";
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
  // The cache dir holds the socket that hands out the mount: nobody else may
  // write there.
  if (absl::Status s = vms::MakeDirs(cache_dir, 0700); !s.ok()) {
    std::cerr << "vms-fuse: --cache: " << vms::Sv(s.message()) << "\n";
    return 2;
  }
  if (absl::Status s = vms::CheckPrivateDir(cache_dir); !s.ok()) {
    std::cerr << "vms-fuse: --cache: " << vms::Sv(s.message()) << "\n";
    return 2;
  }
  // Only arguments were checked so far; threads start below, so this is the
  // last moment to fork. The log file (if any) is opened again after.
  int ready_fd = foreground ? -1 : Daemonize();
  std::optional<vms::Discovery> discovery;
  std::string discovery_site;
  if (!seeds.empty()) {
    discovery.emplace(vms::Discovery::Options{
        .seeds = seeds, .credentials = *credentials, .cache_file = cache_dir + "/site-map"});
    auto choice = discovery->LearnPatiently(std::chrono::seconds(60));
    if (!choice.ok()) {
      std::cerr << "vms-fuse: --discover: " << vms::Sv(choice.status().message()) << "\n";
      vms::FuseLog()->error("--discover: {}", vms::Sv(choice.status().message()));
      Report(ready_fd, false);
      return 1;
    }
    addresses = choice->replicas;
    discovery_site = choice->site;
    replicas = vms::Join(addresses, ",");
    vms::FuseLog()->info("discovered site={} replicas={} (site map version={})",
                         choice->site.empty() ? "none" : choice->site, replicas,
                         choice->map_version);
  }
  vms::Metrics metrics;
  vms::Remote remote(addresses, *credentials, std::chrono::milliseconds(fetch_timeout_ms),
                     &metrics.Counter("vms_fuse_failovers_total",
                                      "Changes of the replica this host fetches from"));
  auto fail = [&](const absl::Status& s) {
    std::cerr << "vms-fuse: " << vms::Sv(s.message()) << "\n";
    vms::FuseLog()->error("{}", vms::Sv(s.message()));
    Report(ready_fd, false);
    return 1;
  };
  // The mount to serve: one a reload or systemd passed in, one a holder
  // hands over, or a new one.
  vms::Fd fuse_fd, link;
  std::string taken_from;
  if (takeover_fd >= 0) {
    fcntl(takeover_fd, F_SETFD, FD_CLOEXEC);
    fuse_fd = vms::Fd(takeover_fd);
    if (holder_fd >= 0) {
      fcntl(holder_fd, F_SETFD, FD_CLOEXEC);
      link = vms::Fd(holder_fd);
    }
    taken_from = "reload";
  } else if (int fd = vms::SystemdPassedFd(); fd >= 0) {
    fuse_fd = vms::Fd(fd);
    taken_from = "systemd";
  } else {
    auto taken = vms::TakeOverFromHolder(vms::HolderSocketPath(cache_dir), mountpoint, takeover,
                                         std::chrono::seconds(30));
    if (taken.ok()) {
      fuse_fd = std::move(taken->fuse);
      link = std::move(taken->link);
      taken_from = "holder";
    } else if (!absl::IsNotFound(taken.status())) {
      return fail(taken.status());
    }
  }
  const auto took_at = std::chrono::steady_clock::now();
  auto cache = vms::ObjectCache::Open(
      cache_dir, cache_size,
      &metrics.Counter("vms_fuse_cache_evictions_total", "Objects evicted from the host cache"));
  if (!cache.ok()) return fail(cache.status());
  auto catalog = vms::Catalog::Open(
      cache_dir + "/catalog", *std::move(trust),
      [&remote](const std::string& app) { return remote.Releases(app); },
      [&remote] { return remote.Trust(); });
  if (!catalog.ok()) return fail(catalog.status());
  if (site.empty() && discovery) site = discovery_site;
  if (site.empty()) site = remote.FirstSite(std::chrono::seconds(2));
  if (site.empty()) site = (*catalog)->site();  // kept from the last run
  (*catalog)->SetSite(site);
  (*catalog)->SetHistorySource([&remote](const std::string& app) { return remote.History(app); });
  vms::FuseLog()->info("site={}", site.empty() ? "unknown (only the world's flips apply)" : site);
  vms::Content content(
      cache->get(),
      [&remote](std::span<const vms::Hash> h, const vms::Upstream::Sink& sink) {
        return remote.Fetch(h, sink);
      },
      64 << 20,
      {.hits = &metrics.Counter("vms_fuse_cache_hits_total",
                                "Objects a read or an open found in the host cache"),
       .misses = &metrics.Counter("vms_fuse_cache_misses_total",
                                  "Objects a read or an open had to fetch first"),
       .fetched_objects =
           &metrics.Counter("vms_fuse_objects_fetched_total", "Objects fetched from replicas"),
       .fetched_bytes = &metrics.Counter("vms_fuse_fetched_bytes_total",
                                         "Raw bytes of the objects fetched from replicas"),
       .fetch_seconds = &metrics.Histogram("vms_fuse_fetch_duration_seconds",
                                           "Time of one request for objects to the replicas")});
  vms::FuseRequestCounters requests;
  for (uint32_t op = 0; op <= vms::kFuseOpcodes; ++op) {
    requests[op] =
        &metrics.Counter("vms_fuse_requests_total", "Requests from the kernel, by FUSE operation",
                         {{"op", vms::FuseOpName(op)}});
  }
  vms::DistFs fs(catalog->get(), &content);
  vms::HostCensus census(mountpoint, vms::Clock::Real());
  fs.SetCensus(&census);
  const std::string journal = cache_dir + "/inodes";
  const vms::MountOptions mount_options = {.mountpoint = mountpoint,
                                           .allow_other = allow_other,
                                           .cache = cache->get(),
                                           .requests = &requests};
  absl::StatusOr<std::unique_ptr<vms::FuseMount>> mount;
  if (fuse_fd.valid()) {
    auto init = fs.ResumeJournal(journal);
    if (init.ok()) {
      mount = vms::FuseMount::Adopt(&fs, mount_options, std::move(fuse_fd), *init);
    } else {
      mount = init.status();
    }
    if (!mount.ok()) {
      // Serving it without knowing what the kernel holds would answer its
      // programs wrongly: let it go, and mount afresh below.
      vms::FuseLog()->error(
          "cannot take the mount at {} over ({}): detaching it and mounting again", mountpoint,
          vms::Sv(mount.status().message()));
      fuse_fd = vms::Fd();
      link = vms::Fd();
      if (umount2(mountpoint.c_str(), MNT_DETACH) != 0) {
        (void)vms::RunQuietly({"fusermount3", "-u", "-z", "--", mountpoint});
      }
      taken_from.clear();
    }
  }
  if (taken_from.empty()) {
    if (absl::Status s = fs.StartJournal(journal); !s.ok()) return fail(s);
    mount = vms::FuseMount::Mount(&fs, mount_options);
    if (!mount.ok()) return fail(mount.status());
    if (vms::SystemdPresent()) {
      if (absl::Status s = vms::SystemdStoreFd((*mount)->fd()); !s.ok()) {
        vms::FuseLog()->warn(
            "systemd does not keep the mount's descriptor ({}): a crash of vms-fuse "
            "will leave a dead mount",
            vms::Sv(s.message()));
      }
    } else {
      auto spawned =
          vms::SpawnHolder(vms::HolderSocketPath(cache_dir), vms::MountpointName(mountpoint),
                           (*mount)->fd(), std::chrono::seconds(holder_grace_s));
      if (spawned.ok()) {
        link = *std::move(spawned);
      } else {
        vms::FuseLog()->warn(
            "no holder for the mount ({}): a crash of vms-fuse will leave a dead mount",
            vms::Sv(spawned.status().message()));
      }
    }
  }
  Report(ready_fd, true);
  prometheus::Counter& flips = metrics.Counter("vms_fuse_live_records_applied_total",
                                               "Live records that changed an app's live version");
  vms::CacheReclaimer reclaimer([&fs](const vms::Hash& root) { return fs.ReclaimVersion(root); });
  vms::Watcher watcher(
      catalog->get(), &remote,
      [m = mount->get(), &flips](const std::string& app) {
        flips.Increment();
        m->InvalidateRootEntry(app);
      },
      {.on_site_map_version =
           [&discovery](uint64_t v) {
             if (discovery) discovery->Announced(v);
           },
       .on_retire = [&reclaimer](const std::string& app, const std::string& version,
                                 const vms::Hash& root) { reclaimer.Add(app, version, root); }});
  watcher.Start();
  if (discovery) {
    discovery->Start([&remote] { return remote.addresses(); },
                     [&remote, &watcher](const vms::DiscoveryChoice& choice) {
                       if (remote.SetAddresses(choice.replicas)) watcher.ReplicasChanged();
                     });
  }
  std::optional<vms::CensusReporter> census_reporter;
  if (census_interval_s > 0) {
    census_reporter.emplace(
        [&census] { return census.Scan(); },
        [&remote](const vms::HostUsageReport& r) { return remote.HostUsage(r); },
        CensusHostName(*credentials, host_name), std::chrono::seconds(census_interval_s));
    census.SetOnNewUse([r = &*census_reporter] { r->Soon(); });
  }
  // Before the reporter goes (destroyed in reverse order), the census stops
  // calling it.
  struct StopCensusCalls {
    vms::HostCensus* census;
    ~StopCensusCalls() { census->SetOnNewUse(nullptr); }
  } stop_census_calls{&census};
  AddScrapeGauges(&metrics, cache->get(), catalog->get(), &remote, &watcher);
  vms::MetricsEndpoint metrics_endpoint(metrics_listen, tls, &metrics,
                                        cache_dir + "/metrics-address");
  if (taken_from.empty()) {
    vms::FuseLog()->info("mounted at={} replicas={} cache={} cache_size={}", mountpoint, replicas,
                         cache_dir, cache_size);
  } else {
    vms::FuseLog()->info(
        "mounted at={} replicas={} cache={} cache_size={} taken_over_from={} in={}ms", mountpoint,
        replicas, cache_dir, cache_size, taken_from,
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                              took_at)
            .count());
  }
  // The successor opens the cache after we close it: what is in memory is
  // written out now, while we still serve, so that it has no log to replay.
  vms::HolderLink holder(
      link.get(),
      [&cache] {
        if (absl::Status s = (*cache)->Flush(); !s.ok())
          vms::FuseLog()->warn("{}", vms::Sv(s.message()));
      },
      [m = mount->get()] { m->HandOver(); });
  absl::StatusOr<vms::FuseMount::Ended> ended = (*mount)->Run();
  holder.Stop();
  census_reporter.reset();
  if (discovery) discovery->Stop();
  watcher.Stop();
  metrics_endpoint.Stop();
  if (ended.ok() && *ended == vms::FuseMount::Ended::kReload) {
    // Everything goes but the descriptor and the link, which the new copy of
    // this binary takes over.
    int keep = dup((*mount)->fd());
    int keep_link = link.valid() ? dup(link.get()) : -1;
    mount->reset();
    catalog->reset();
    cache->reset();
    std::vector<std::string> args = ReloadArgs(argc, argv, keep, keep_link);
    std::vector<char*> exec_argv;
    for (std::string& a : args) exec_argv.push_back(a.data());
    exec_argv.push_back(nullptr);
    vms::FuseLog()->info("reloading: {} takes the mount at {} over", self, mountpoint);
    spdlog::default_logger()->flush();
    execv(self.c_str(), exec_argv.data());
    vms::FuseLog()->error("cannot execute {} for the reload: {}", self, strerror(errno));
    return 1;  // the holder or systemd still has the mount: a restart takes it over
  }
  if (ended.ok() && *ended == vms::FuseMount::Ended::kHandedOver) {
    mount->reset();  // closes our descriptor, unmounts nothing
    vms::FuseLog()->info("handed the mount at={} over", mountpoint);
    return 0;  // the rest closes on the way out; the link last, which tells the holder
  }
  if (vms::SystemdPresent()) (void)vms::SystemdStoreFd(-1);
  mount->reset();  // unmounts
  vms::FuseLog()->info("unmounted at={}", mountpoint);
  absl::Status s = ended.status();
  if (!s.ok()) {
    vms::FuseLog()->error("{}", vms::Sv(s.message()));
    return 1;
  }
  return 0;
}
