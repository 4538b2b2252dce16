// vms-replica: a site's full copy. See server/replica.h and follower.h.
#include <chrono>
#include <iostream>
#include <optional>

#include "CLI/CLI.hpp"
#include "core/chain.h"
#include "core/file_util.h"
#include "core/keys.h"
#include "core/status_macros.h"
#include "core/strings.h"
#include "core/thread_pool.h"
#include "net/daemon.h"
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
  vms::BlockShutdownSignals();

  std::string site, upstream, data_dir, trust_file;
  std::string listen = "127.0.0.1:7800";
  int heartbeat_ms = 1000, fetch_streams = 4;
  uint64_t fetch_rate = 0;
  bool fsck = false, repair = false;
  vms::LogOptions log;
  vms::TlsFiles tls;
  CLI::App app{
      "vms-replica: a site's full copy of every version. Follows its upstream (the master or "
      "another replica), fetches and verifies every object, applies live flips only for "
      "versions it holds whole, and serves the same read API to hosts and other replicas.\n"
      "Writes the bound address to DATA/address."};
  vms::AddDaemonFlags(&app, "vms-replica", &log, &tls);
  app.add_option("--site", site, "This site's name, e.g. ny: [a-z0-9][a-z0-9._-]{0,63}")
      ->required();
  app.add_option("--upstream", upstream,
                 "REQUIRED (but with --fsck). What to follow: the master's or a replica's "
                 "host:port");
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

  if (absl::Status s = vms::InitLogging("replica", log); !s.ok()) {
    std::cerr << "vms-replica: " << vms::Sv(s.message()) << "\n";
    return 2;
  }
  if (!fsck && (upstream.empty() || trust_file.empty())) {
    std::cerr << "vms-replica: --upstream and --trust are required (except with --fsck)\n";
    return 2;
  }
  // fsck checks hashes and structure only; signatures were checked on entry.
  auto trust = trust_file.empty() ? absl::StatusOr<vms::TrustChain>(vms::TrustChain::MasterKeyOnly(
                                        vms::SigningKey::Generate().public_key()))
                                  : vms::LoadTrust(trust_file);
  if (!trust.ok()) {
    spdlog::error("--trust: {}", vms::Sv(trust.status().message()));
    return 2;
  }
  auto replica = vms::Replica::Open({.data_dir = data_dir, .site = site}, *std::move(trust));
  if (!replica.ok()) {
    spdlog::error("cannot open data_dir={}: {}", data_dir, vms::Sv(replica.status().message()));
    return 1;
  }
  if (fsck) return RunFsck(replica->get(), repair);

  auto credentials = vms::LoadDaemonCredentials(tls, vms::PrincipalKind::kSite, site);
  if (!credentials.ok()) {
    spdlog::error("{}", vms::Sv(credentials.status().message()));
    return 2;
  }
  // Joined after the server stops and before the services go: a task in
  // flight may still use them.
  std::optional<vms::ThreadPool> pool;
  pool.emplace(std::max(4, 2 * vms::CpuCount()));
  vms::Follower follower(replica->get(), {.upstream = upstream,
                                          .credentials = *credentials,
                                          .fetch_streams = fetch_streams,
                                          .fetch_rate = fetch_rate});
  vms::ReadService read((*replica)->read_api(), &*pool,
                        {.heartbeat = std::chrono::milliseconds(heartbeat_ms),
                         .on_corrupt =
                             [r = replica->get(), &follower](const vms::Hash& h) {
                               r->Quarantine(h);
                               follower.RequestRecheck();
                             },
                         .site_info = [&follower] { return follower.Info(); },
                         .trust = [r = replica->get()] { return r->TrustRecords(); },
                         .checkpoint = [r = replica->get()] { return r->checkpoint_envelope(); }});
  vms::SitesService sites(
      &*pool,
      [&follower, insecure = credentials->insecure()](
          const std::string& principal, vms::SiteReport report) -> absl::StatusOr<vms::ReportAck> {
        VMS_RETURN_IF_ERROR(vms::AcceptForRelay(principal, insecure, &report));
        return follower.Relay(report);
      });
  grpc::ServerBuilder builder;
  builder.RegisterService(&read);
  builder.RegisterService(&sites);
  auto server = vms::StartServer(&builder, listen, *credentials, data_dir + "/address");
  if (!server.ok()) {
    spdlog::error("{}", vms::Sv(server.status().message()));
    return 1;
  }
  follower.Start(server->address);
  spdlog::info("started site={} data_dir={} upstream={} applied_seq={}", site, data_dir, upstream,
               (*replica)->applied_seq());
  vms::ServeUntilSignal(server->server.get(), [&] {
    follower.Stop();
    read.BeginShutdown();
  });
  server->server.reset();
  pool.reset();
  spdlog::info("stopped");
  return 0;
}
