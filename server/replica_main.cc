// vms-replica: a site's full copy. See server/replica.h and follower.h.
#include <chrono>
#include <iostream>
#include <optional>

#include "CLI/CLI.hpp"
#include "core/chain.h"
#include "core/cidr.h"
#include "core/clock.h"
#include "core/file_util.h"
#include "core/keys.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/status_macros.h"
#include "core/strings.h"
#include "core/thread_pool.h"
#include "net/daemon.h"
#include "net/metrics.h"
#include "server/census.h"
#include "server/follower.h"
#include "server/read_service.h"
#include "server/replica.h"
#include "server/sites_service.h"
#include "spdlog/spdlog.h"

namespace {

int RunFsck(vms::Replica* replica, bool repair) {
  auto report = replica->Fsck(repair);
  if (!report.ok()) {
    std::cerr << "vms-replica: fsck failed: " << vms::Sv(report.status().message()) << "\n";
    return 2;
  }
  std::cout << "checked " << report->objects << " objects (" << report->bytes / 1048576
            << " MiB stored) and " << report->releases << " releases\n";
  for (const vms::Hash& h : report->corrupt) {
    std::cout << "corrupt object " << h.Hex() << (repair ? ": removed, will be fetched again" : "")
              << "\n";
  }
  for (const std::string& r : report->incomplete) std::cout << "incomplete release " << r << "\n";
  if (report->corrupt.empty() && report->incomplete.empty()) {
    std::cout << "OK\n";
    return 0;
  }
  if (!repair) std::cout << "run again with --repair, then start the replica to fetch them again\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  vms::ProcessDefaults();
  vms::BlockShutdownSignals();

  std::string site, data_dir, trust_file;
  std::vector<std::string> upstreams, networks;
  std::string listen = "127.0.0.1:7800";
  int heartbeat_ms = 1000, fetch_streams = 4;
  uint64_t fetch_rate = 0;
  bool fsck = false, repair = false;
  vms::LogOptions log;
  vms::TlsFiles tls;
  std::string metrics_listen;
  CLI::App app{
      "vms-replica: a site's full copy of every version. Follows its upstream (the master or "
      "another replica), fetches and verifies every object, applies live flips only for "
      "versions it holds whole, and serves the same read API to hosts and other replicas.\n"
      "Writes the bound address to DATA/address."};
  vms::AddDaemonFlags(&app, "vms-replica", &log, &tls, &metrics_listen);
  vms::ConnectionLimits connection_limits;
  vms::AddConnectionFlags(&app, &connection_limits);
  app.add_option("--site", site, "This site's name, e.g. ny: [a-z0-9][a-z0-9._-]{0,63}")
      ->required();
  app.add_option("--upstream", upstreams,
                 "REQUIRED (but with --fsck). What to follow: the master's or a replica's "
                 "host:port, or several, comma-separated, in order of preference: when the one "
                 "followed is unreachable or silent, the next is followed from the applied seq, "
                 "and the preferred one again once it is back")
      ->delimiter(',');
  app.add_option("--serves", networks,
                 "The networks whose hosts this site serves, comma-separated CIDRs (e.g. "
                 "10.1.0.0/16,fd00:1::/32): vms-fuse --discover picks the site whose network "
                 "holds the host's address (the longest prefix)")
      ->delimiter(',');
  app.add_option("--data", data_dir, "Data directory (RocksDB); created if missing")->required();
  app.add_option("--listen", listen, "gRPC listen address host:port (port 0 picks a free one)")
      ->capture_default_str();
  app.add_option(
      "--trust", trust_file,
      "REQUIRED (but with --fsck). The root of trust (root.pub, from vms-admin root init), or "
      "before one, the master's public key: master.pub, which the "
      "master writes to its data directory");
  app.add_option("--heartbeat-ms", heartbeat_ms, "Heartbeat interval on idle streams it serves")
      ->check(CLI::Range(50, 60000))
      ->capture_default_str();
  app.add_option("--fetch-streams", fetch_streams, "Parallel object streams per fetch")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  app.add_option("--fetch-rate", fetch_rate,
                 "Cap fetch bandwidth, bytes per second (suffixes K, M, G: 1024-based)")
      ->transform(CLI::AsSizeValue(false));
  app.add_flag("--fsck", fsck, "Check every object and release in DATA, report, and exit");
  app.add_flag("--repair", repair, "With --fsck: remove corrupt objects so they are fetched again");
  CLI11_PARSE(app, argc, argv);
  vms::GuardAccepts(connection_limits);

  if (absl::Status s = vms::InitLogging("replica", log); !s.ok()) {
    std::cerr << "vms-replica: " << vms::Sv(s.message()) << "\n";
    return 2;
  }
  if (!fsck && (upstreams.empty() || trust_file.empty())) {
    std::cerr << "vms-replica: --upstream and --trust are required (except with --fsck)\n";
    return 2;
  }
  if (upstreams.size() > vms::kMaxUpstreams) {
    std::cerr << "vms-replica: --upstream names at most " << vms::kMaxUpstreams << " upstreams\n";
    return 2;
  }
  if (networks.size() > vms::kMaxSiteNetworks) {
    std::cerr << "vms-replica: --serves names at most " << vms::kMaxSiteNetworks << " networks\n";
    return 2;
  }
  for (const std::string& n : networks) {
    if (auto c = vms::ParseCidr(n); !c.ok()) {
      std::cerr << "vms-replica: --serves: " << vms::Sv(c.status().message()) << "\n";
      return 2;
    }
  }
  for (const std::string& u : upstreams) {
    if (u.empty() || u.size() > vms::kMaxAddressBytes) {
      std::cerr << "vms-replica: --upstream: '" << u << "' is not a host:port\n";
      return 2;
    }
  }
  // fsck checks hashes and structure only; signatures were checked on entry.
  auto trust = trust_file.empty() ? absl::StatusOr<vms::TrustChain>(vms::TrustChain::MasterKeyOnly(
                                        vms::SigningKey::Generate().public_key()))
                                  : vms::LoadTrust(trust_file);
  if (!trust.ok()) {
    vms::ReplicaLog()->error("--trust: {}", vms::Sv(trust.status().message()));
    return 2;
  }
  vms::Metrics metrics;
  auto replica = vms::Replica::Open(
      {.data_dir = data_dir,
       .site = site,
       .metrics = {.objects_fetched = &metrics.Counter("vms_replica_objects_fetched_total",
                                                       "New objects stored from upstream"),
                   .bytes_fetched = &metrics.Counter("vms_replica_fetched_bytes_total",
                                                     "Raw bytes of the objects fetched"),
                   .fetch_seconds = &metrics.Histogram(
                       "vms_replica_fetch_duration_seconds",
                       "Time to fetch what one step of a version lacks (one tree level, or its "
                       "files)"),
                   .verification_failures = &metrics.Counter(
                       "vms_replica_verification_failures_total",
                       "Records that did not verify, objects that did not match their hash "
                       "(from upstream or on disk)")}},
      *std::move(trust));
  if (!replica.ok()) {
    vms::ReplicaLog()->error("cannot open data_dir={}: {}", data_dir,
                             vms::Sv(replica.status().message()));
    return 1;
  }
  if (fsck) return RunFsck(replica->get(), repair);

  auto credentials = vms::LoadDaemonCredentials(tls, vms::PrincipalKind::kSite, site);
  if (!credentials.ok()) {
    vms::ReplicaLog()->error("{}", vms::Sv(credentials.status().message()));
    return 2;
  }
  // Joined after the server stops and before the services go: a task in
  // flight may still use them.
  std::optional<vms::ThreadPool> pool;
  pool.emplace(std::max(4, 2 * vms::CpuCount()));
  vms::SiteCensus census(vms::Clock::Real());
  vms::Follower follower(replica->get(), {.upstreams = upstreams,
                                          .credentials = *credentials,
                                          .fetch_streams = fetch_streams,
                                          .fetch_rate = fetch_rate,
                                          .networks = networks,
                                          .site_map_file = data_dir + "/site-map",
                                          .usage = [&census] { return census.Sum(); }});
  vms::ReadService read(
      (*replica)->read_api(), &*pool,
      {.heartbeat = std::chrono::milliseconds(heartbeat_ms),
       .on_corrupt =
           [r = replica->get(), &follower](const vms::Hash& h) {
             r->Quarantine(h);
             follower.RequestRecheck();
           },
       .site_info = [&follower] { return follower.Info(); },
       .trust = [r = replica->get()] { return r->TrustRecords(); },
       .checkpoint = [r = replica->get()] { return r->checkpoint_envelope(); },
       .objects_served = &metrics.Counter("vms_replica_objects_served_total",
                                          "Objects sent to hosts and replicas"),
       .bytes_served = &metrics.Counter("vms_replica_served_bytes_total",
                                        "Stored (encoded) bytes of the objects sent"),
       .site_map = [&follower] { return follower.site_map(); },
       .site_map_version = [&follower] { return follower.site_map_version(); }});
  vms::SitesService sites(
      &*pool,
      [&follower, insecure = credentials->insecure()](
          const std::string& principal, vms::SiteReport report) -> absl::StatusOr<vms::ReportAck> {
        VMS_RETURN_IF_ERROR(vms::AcceptForRelay(principal, insecure, &report));
        return follower.Relay(report);
      },
      &census, credentials->insecure());
  grpc::ServerBuilder builder;
  metrics.CountRpcs(&builder);
  builder.RegisterService(&read);
  builder.RegisterService(&sites);
  auto server = vms::StartServer(&builder, listen, *credentials, data_dir + "/address");
  if (!server.ok()) {
    vms::ReplicaLog()->error("{}", vms::Sv(server.status().message()));
    return 1;
  }
  metrics.OnScrape(
      [r = replica->get(), &follower, &read,
       applied = &metrics.Gauge("vms_replica_applied_seq", "Seq of the last event applied here"),
       head = &metrics.Gauge("vms_replica_upstream_head_seq",
                             "Newest seq the upstream is known to have"),
       lag_events = &metrics.Gauge("vms_replica_upstream_lag_events",
                                   "Events the upstream has that are not applied here"),
       lag_seconds =
           &metrics.Gauge("vms_replica_upstream_lag_seconds",
                          "How long this replica has been behind its upstream (0: in step)"),
       silent = &metrics.Gauge("vms_replica_upstream_silent_seconds",
                               "Since the last message (event or heartbeat) from "
                               "upstream"),
       connected = &metrics.Gauge("vms_replica_upstream_connected",
                                  "1 while the Follow stream to upstream is open"),
       fetching = &metrics.Gauge("vms_replica_versions", "Versions here, by state",
                                 {{"state", "fetching"}}),
       failed =
           &metrics.Gauge("vms_replica_versions", "Versions here, by state", {{"state", "failed"}}),
       complete = &metrics.Gauge("vms_replica_versions", "Versions here, by state",
                                 {{"state", "complete"}}),
       followers = &metrics.Gauge("vms_replica_followers", "Replicas following this one now"),
       watchers = &metrics.Gauge("vms_replica_watchers", "Hosts watching live records here now"),
       store = &metrics.Gauge("vms_replica_store_bytes",
                              "Bytes of the store on disk (tables, blob files, log)"),
       checkpoint =
           &metrics.Gauge("vms_replica_checkpoint_expires_timestamp_seconds",
                          "When the newest checkpoint from the master held here expires (0: none)"),
       frozen = &metrics.Gauge("vms_replica_frozen",
                               "1 under a root of trust with no fresh checkpoint: the master, or "
                               "the way to it, may be frozen")] {
        vms::SiteInfoResponse info = follower.Info();
        vms::Follower::Lag lag = follower.lag();
        applied->Set(static_cast<double>(info.applied_seq()));
        head->Set(static_cast<double>(info.upstream_head_seq()));
        lag_events->Set(static_cast<double>(lag.events));
        lag_seconds->Set(static_cast<double>(lag.ms) / 1000);
        silent->Set(static_cast<double>(info.upstream_silent_ms()) / 1000);
        connected->Set(info.upstream_connected() ? 1 : 0);
        fetching->Set(static_cast<double>(lag.fetching));
        failed->Set(static_cast<double>(lag.failed));
        if (auto apps = r->read_api()->ListApps(); apps.ok()) {
          uint64_t n = 0;
          for (const vms::AppState& a : *apps) n += a.version_count();
          complete->Set(static_cast<double>(n));
        }
        vms::ReadService::Streams streams = read.streams();
        followers->Set(static_cast<double>(streams.followers));
        watchers->Set(static_cast<double>(streams.watchers));
        store->Set(static_cast<double>(r->records().db()->SizeBytes() +
                                       r->records().objects().large_bytes()));
        checkpoint->Set(static_cast<double>(info.checkpoint_expires_unix_ms()) / 1000);
        frozen->Set(info.frozen() ? 1 : 0);
      });
  auto metrics_server =
      vms::ServeMetrics(metrics_listen, tls, &metrics, data_dir + "/metrics-address");
  if (!metrics_server.ok()) {
    vms::ReplicaLog()->error("{}", vms::Sv(metrics_server.status().message()));
    return 1;
  }
  follower.Start(server->address);
  vms::ReplicaLog()->info("started site={} data_dir={} upstream={} applied_seq={}", site, data_dir,
                          vms::Join(upstreams, ","), (*replica)->applied_seq());
  vms::ServeUntilSignal(server->server.get(), [&] {
    follower.Stop();
    read.BeginShutdown();
  });
  metrics_server->reset();
  server->server.reset();
  pool.reset();
  vms::ReplicaLog()->info("stopped");
  return 0;
}
