// vms-master: the one writer. See server/master.h.
#include <chrono>
#include <iostream>
#include <optional>
#include <thread>

#include "CLI/CLI.hpp"
#include "core/file_util.h"
#include "core/keys.h"
#include "core/log.h"
#include "core/periodic.h"
#include "core/status_macros.h"
#include "core/strings.h"
#include "core/thread_pool.h"
#include "google/protobuf/util/json_util.h"
#include "net/daemon.h"
#include "net/metrics.h"
#include "server/group_service.h"
#include "server/master.h"
#include "server/master_group.h"
#include "server/publish_service.h"
#include "server/read_service.h"
#include "server/sites_service.h"
#include "server/status_page.h"
#include "spdlog/spdlog.h"

int main(int argc, char** argv) {
  vms::ProcessDefaults();
  vms::BlockShutdownSignals();

  std::string data_dir;
  std::string listen = "127.0.0.1:7700";
  int heartbeat_ms = 1000;
  vms::LogOptions log;
  vms::TlsFiles tls;
  std::string metrics_listen, http_listen;
  CLI::App app{
      "vms-master: holds every release, the live records and the event log of vms, and serves "
      "them to developers (vms push/live) and to site replicas.\n"
      "Writes the bound address to DATA/address and its key pair to DATA/master.{key,pub}."};
  vms::AddDaemonFlags(&app, "vms-master", &log, &tls, &metrics_listen);
  vms::ConnectionLimits connection_limits;
  vms::AddConnectionFlags(&app, &connection_limits);
  app.add_option("--data", data_dir, "Data directory (RocksDB, keys); created if missing")
      ->required();
  app.add_option("--listen", listen, "gRPC listen address host:port (port 0 picks a free one)")
      ->capture_default_str();
  app.add_option("--heartbeat-ms", heartbeat_ms,
                 "Heartbeat interval on idle Follow streams, milliseconds")
      ->check(CLI::Range(50, 60000))
      ->capture_default_str();
  app.add_option("--http-listen", http_listen,
                 "Serve the status page at http://ADDR/ (and its JSON at /api/status, metrics at "
                 "/metrics; host:port, port 0 picks one; written to DATA/http-address). Off by "
                 "default. With TLS, an address other than loopback serves HTTPS and asks for a "
                 "client certificate");
  vms::ShapeLimits limits;
  app.add_option("--max-dir-entries", limits.dir_entries,
                 "Refuse a release with a directory of more entries")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--max-files", limits.files, "Refuse a release with more files")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  uint64_t upload_decode_rate = 1ull << 30;
  app.add_option("--upload-decode-rate", upload_decode_rate,
                 "Raw bytes per second that one client's uploads may have the master "
                 "decompress and verify, in bursts of 4 s (suffixes K, M, G; 0: unlimited)")
      ->transform(CLI::AsSizeValue(false))
      ->default_str("1G");
  uint64_t upload_quota = 64ull << 30;
  app.add_option("--upload-quota", upload_quota,
                 "Bytes of uploads that no release names yet one principal may hold (suffixes "
                 "K, M, G); a push larger than this cannot be made")
      ->transform(CLI::AsSizeValue(false))
      ->default_str("64G");
  uint64_t min_free = 1ull << 30;
  app.add_option("--min-free-space", min_free,
                 "Uploads are refused when they would leave less free space than this on the "
                 "data dir's disk (suffixes K, M, G), so that the log never fills it")
      ->transform(CLI::AsSizeValue(false))
      ->default_str("1G");
  vms::AuthzPolicy authz{.app_creators = {"*"}};
  app.add_option("--admins", authz.admins,
                 "Principals who may do everything: manage sites, every app's owners, "
                 "pushes and flips (vms://user/NAME, or a bare user name)")
      ->delimiter(',');
  app.add_option("--app-creators", authz.app_creators,
                 "Who may create an app by pushing it first: principals, or * for every user "
                 "(admins always may)")
      ->delimiter(',')
      ->capture_default_str();
  std::string trust_file, keyring_file;
  int checkpoint_expiry_s = 3600;
  bool make_key = false;
  app.add_flag("--make-key", make_key,
               "Make DATA/master.{key,pub} if missing and exit: the key a keyring names "
               "(vms-admin keyring --master DATA/master.pub) before the master first starts "
               "with --trust");
  app.add_option("--trust", trust_file,
                 "A root of trust (root.pub, from vms-admin root init): owners then sign their "
                 "releases and flips and admins sign ownership; the master only sequences. "
                 "Give a newer root.pub to rotate")
      ->check(CLI::ExistingFile);
  app.add_option("--keyring", keyring_file,
                 "The keyring the root signed (vms-admin keyring sign): admin keys and this "
                 "master's key. Give a newer one to change them")
      ->check(CLI::ExistingFile);
  app.add_option("--checkpoint-expiry-s", checkpoint_expiry_s,
                 "How long a checkpoint (signed every few seconds) stays fresh: replicas and "
                 "hosts that hold none fresher show the master as frozen")
      ->check(CLI::Range(10, 7 * 24 * 3600))
      ->capture_default_str();
  std::vector<std::string> etcd;
  vms::MasterGroupOptions group_options;
  int lease_s = 3;
  app.add_option("--etcd", etcd,
                 "Run as one node of a master group whose log is in this etcd cluster "
                 "(http://host:port of each member, comma separated; README \"Running a master "
                 "group\"). Without it, this is a single master")
      ->delimiter(',');
  app.add_option("--node", group_options.node,
                 "This node's name in the master group (unique; with --etcd)");
  app.add_option("--commit-copies", group_options.commit_copies,
                 "How many nodes of the group (the leader included) hold a release's objects "
                 "before it is committed")
      ->check(CLI::Range(1, 9))
      ->capture_default_str();
  app.add_option("--etcd-prefix", group_options.prefix,
                 "The group's keys in etcd (several groups may share one cluster)")
      ->capture_default_str();
  app.add_option("--etcd-lease-s", lease_s,
                 "The leader's lease, seconds: a leader that stops renewing it (dead, paused, "
                 "cut off) is replaced this long after")
      ->check(CLI::Range(1, 60))
      ->capture_default_str();
  app.add_option("--etcd-ca", group_options.etcd.ca_file, "CA of etcd's certificates (TLS)")
      ->check(CLI::ExistingFile);
  app.add_option("--etcd-cert", group_options.etcd.cert_file,
                 "Client certificate for etcd (TLS; vms-pki issues it)")
      ->check(CLI::ExistingFile);
  app.add_option("--etcd-key", group_options.etcd.key_file, "Its key")->check(CLI::ExistingFile);
  CLI11_PARSE(app, argc, argv);
  vms::GuardAccepts(connection_limits);
  if (make_key) {
    absl::Status made = vms::MakeDirs(data_dir);
    auto key = made.ok() ? vms::SigningKey::LoadOrCreate(data_dir, "master")
                         : absl::StatusOr<vms::SigningKey>(made);
    if (!key.ok()) {
      std::cerr << "vms-master: " << vms::Sv(key.status().message()) << "\n";
      return 1;
    }
    std::cout << data_dir << "/master.pub (key id " << key->public_key().keyid().substr(0, 16)
              << ")\n";
    return 0;
  }
  if (!keyring_file.empty() && trust_file.empty()) {
    std::cerr << "vms-master: --keyring needs --trust (the root that signed it)\n";
    return 2;
  }

  if (absl::Status s = vms::InitLogging("master", log); !s.ok()) {
    std::cerr << "vms-master: " << vms::Sv(s.message()) << "\n";
    return 2;
  }
  auto credentials = vms::LoadDaemonCredentials(tls, vms::PrincipalKind::kMaster);
  if (!credentials.ok()) {
    vms::MasterLog()->error("{}", vms::Sv(credentials.status().message()));
    return 2;
  }
  authz.insecure = credentials->insecure();
  if (auto checked = vms::Authorizer::Create(authz); !checked.ok()) {
    vms::MasterLog()->error("{}", vms::Sv(checked.status().message()));
    return 2;
  }
  std::unique_ptr<vms::MasterGroup> group;
  if (!etcd.empty()) {
    if (group_options.node.empty()) {
      std::cerr << "vms-master: --etcd needs --node NAME (this node's name in the group)\n";
      return 2;
    }
    if (!trust_file.empty()) {
      std::cerr << "vms-master: a master group under a root of trust (--trust) is not built yet: "
                   "its checkpoints would need every node's key in the keyring. Run the group "
                   "without --trust, or a single master with it\n";
      return 2;
    }
    for (std::string e : etcd) {
      for (const char* scheme : {"http://", "https://"}) {
        if (e.starts_with(scheme)) e = e.substr(std::string_view(scheme).size());
      }
      while (e.ends_with("/")) e.pop_back();
      group_options.etcd.endpoints.push_back(e);
    }
    group_options.lease = std::chrono::seconds(lease_s);
    group_options.credentials = *credentials;
    auto made = vms::MasterGroup::Create(group_options);
    if (!made.ok()) {
      vms::MasterLog()->error("{}", vms::Sv(made.status().message()));
      return 2;
    }
    group = std::move(*made);
    if (absl::Status s = group->WaitForEtcd(std::chrono::seconds(60)); !s.ok()) {
      vms::MasterLog()->error("{}; start etcd first (README \"Running a master group\")",
                              vms::Sv(s.message()));
      return 1;
    }
  }
  vms::Metrics metrics;
  auto master = vms::Master::Open(
      {.data_dir = data_dir,
       .limits = limits,
       .upload_quota_bytes = upload_quota,
       .min_free_bytes = min_free,
       .authz = authz,
       .trust_file = trust_file,
       .keyring_file = keyring_file,
       .checkpoint_ttl = std::chrono::seconds(checkpoint_expiry_s),
       .metrics =
           {
               .pushes = &metrics.Counter("vms_master_pushes_total", "Releases recorded"),
               .flips = &metrics.Counter("vms_master_flips_total",
                                         "Live records written (live and rollback)"),
               .objects_received = &metrics.Counter("vms_master_objects_received_total",
                                                    "New objects stored from uploads"),
               .bytes_received =
                   &metrics.Counter("vms_master_received_bytes_total",
                                    "Stored (encoded) bytes of the new objects uploaded"),
           },
       .group = group.get()});
  if (!master.ok()) {
    vms::MasterLog()->error("cannot open data_dir={}: {}", data_dir,
                            vms::Sv(master.status().message()));
    return 1;
  }
  for (const std::string& w : (*master)->TrustWarnings()) vms::MasterLog()->warn("trust: {}", w);
  if (group) {
    if (absl::Status s =
            group->CheckKey((*master)->public_key().Pem(), (*master)->public_key().keyid());
        !s.ok()) {
      vms::MasterLog()->error("{}", vms::Sv(s.message()));
      return 1;
    }
    group->Bind(master->get());
    if (absl::Status s = group->Bootstrap(std::chrono::seconds(60)); !s.ok()) {
      vms::MasterLog()->error("{}", vms::Sv(s.message()));
      return 1;
    }
  }
  // The group's threads use the master: stopped before it closes, on every
  // way out.
  struct StopGroup {
    vms::MasterGroup* group;
    ~StopGroup() {
      if (group) group->Stop();
    }
  } stop_group{group.get()};
  // Blocking work (disk, hashing) runs here, off gRPC's callback threads.
  // Joined after the server stops and before the services go: a task in
  // flight may still use them.
  std::optional<vms::ThreadPool> pool;
  pool.emplace(std::max(4, 2 * vms::CpuCount()));
  vms::UploadBudget upload_budget(upload_decode_rate);
  vms::PublishService publish(
      master->get(), &*pool, &upload_budget,
      group ? std::function<absl::Status()>([g = group.get()] { return g->Writable(); }) : nullptr);
  std::optional<vms::GroupService> group_service;
  if (group) group_service.emplace(group.get(), &*pool, &(*master)->authz());
  vms::ReadServiceOptions read_options{
      .heartbeat = std::chrono::milliseconds(heartbeat_ms),
      .on_corrupt =
          [](const vms::Hash& h) {
            // Nothing upstream to fetch it from: an operator must restore it.
            vms::MasterLog()->error(
                "corrupt object={} on disk: not served; restore the data directory", h.Hex());
          },
      .objects_served =
          &metrics.Counter("vms_master_objects_served_total", "Objects sent to replicas and hosts"),
      .bytes_served = &metrics.Counter("vms_master_served_bytes_total",
                                       "Stored (encoded) bytes of the objects sent"),
      .site_map = [m = master->get()] { return m->sites().SiteMap(); },
      .site_map_version = [m = master->get()] { return m->sites().site_map_version(); }};
  // Checkpoints: signed every few seconds, so a frozen master shows.
  std::optional<vms::PeriodicTask> checkpoints;
  if ((*master)->chained()) {
    read_options.trust = [m = master->get()] { return m->TrustRecords(); };
    read_options.checkpoint = [m = master->get()] { return m->checkpoint(); };
    const auto every = std::chrono::milliseconds(std::min(5000, checkpoint_expiry_s * 250));
    checkpoints.emplace(
        [m = master->get(), every, said = std::string()]() mutable {
          // Each reason once, not every few seconds.
          absl::Status s = m->SignCheckpoint();
          if (!s.ok() && s.message() != said) {
            vms::MasterLog()->warn("checkpoint not signed: {}", vms::Sv(s.message()));
          }
          said = s.ok() ? "" : std::string(s.message());
          return vms::PeriodicTask::Next::In(every);
        },
        every);
  }
  vms::ReadService read((*master)->read_api(), &*pool, std::move(read_options));
  vms::SitesService sites(
      &*pool, [m = master->get()](const std::string& principal, const vms::SiteReport& report) {
        auto applied = m->Report(principal, report);
        if (!applied.ok()) return absl::StatusOr<vms::ReportAck>(applied.status());
        vms::ReportAck ack;
        ack.set_need_full(applied->need_full);
        return absl::StatusOr<vms::ReportAck>(std::move(ack));
      });
  grpc::ServerBuilder builder;
  metrics.CountRpcs(&builder);
  builder.RegisterService(&publish);
  builder.RegisterService(&read);
  builder.RegisterService(&sites);
  if (group_service) builder.RegisterService(&*group_service);
  auto server = vms::StartServer(&builder, listen, *credentials, data_dir + "/address");
  if (!server.ok()) {
    vms::MasterLog()->error("{}", vms::Sv(server.status().message()));
    return 1;
  }
  if (group) group->Start(server->address);
  metrics.OnScrape(
      [m = master->get(), &read, g = group.get(),
       leader = &metrics.Gauge("vms_master_group_leader",
                               "1 when this node leads its master group (a single master: 1)"),
       applied = &metrics.Gauge("vms_master_group_applied",
                                "The newest entry of the group's log this node applied"),
       head = &metrics.Gauge("vms_master_head_seq", "Seq of the newest event"),
       followers = &metrics.Gauge("vms_master_followers", "Replicas following the event log now"),
       watchers = &metrics.Gauge("vms_master_watchers", "Hosts watching live records here now"),
       sites = &metrics.Gauge("vms_master_sites", "Sites the master knows"),
       unstored = &metrics.Gauge("vms_master_audit_refusals_unstored",
                                 "Refused requests counted but not stored in the audit log "
                                 "(beyond their principal's allowance), since the start")] {
        unstored->Set(static_cast<double>(m->audit().unstored_refusals()));
        leader->Set(g == nullptr || g->leading() ? 1 : 0);
        applied->Set(static_cast<double>(m->group_index()));
        head->Set(static_cast<double>(m->records().head_seq()));
        vms::ReadService::Streams streams = read.streams();
        followers->Set(static_cast<double>(streams.followers));
        watchers->Set(static_cast<double>(streams.watchers));
        sites->Set(static_cast<double>(m->sites().size()));
      });
  auto metrics_server =
      vms::ServeMetrics(metrics_listen, tls, &metrics, data_dir + "/metrics-address");
  if (!metrics_server.ok()) {
    vms::MasterLog()->error("{}", vms::Sv(metrics_server.status().message()));
    return 1;
  }
  vms::StatusPage status_page(
      master->get(), vms::Clock::Real(),
      group ? std::function<absl::StatusOr<std::string>()>(
                  [g = group.get()]() -> absl::StatusOr<std::string> {
                    VMS_ASSIGN_OR_RETURN(auto nodes, g->Nodes());
                    std::string out;
                    if (!google::protobuf::util::MessageToJsonString(nodes, &out).ok()) {
                      return absl::InternalError("the group does not convert to JSON");
                    }
                    return out;
                  })
            : nullptr);
  absl::StatusOr<std::unique_ptr<vms::HttpServer>> http_server;
  if (!http_listen.empty()) {
    http_server = vms::HttpServer::Start(
        http_listen, tls,
        {{"/", "text/html; charset=utf-8", [] { return std::string(vms::StatusPage::Html()); }},
         {"/api/status", "application/json", [&status_page] { return status_page.Json(); }},
         metrics.Route()},
        "http", data_dir + "/http-address");
    if (!http_server.ok()) {
      vms::MasterLog()->error("{}", vms::Sv(http_server.status().message()));
      return 1;
    }
  }
  vms::MasterLog()->info(
      "started data_dir={} keyid={} head_seq={} trust={}", data_dir,
      (*master)->public_key().keyid().substr(0, 16), (*master)->records().head_seq(),
      (*master)->chained() ? trust_file : "none (the master signs every record)");
  // Followers are told first, so they can turn elsewhere at once; gRPC then
  // waits for open connections until the deadline. A commit or flip cut off
  // there was either written whole or not at all.
  vms::ServeUntilSignal(server->server.get(), [&read, &group] {
    // Another node leads at once, not when this one's lease runs out.
    if (group) group->Stop();
    read.BeginShutdown();
  });
  metrics_server->reset();
  if (http_server.ok()) http_server->reset();
  server->server.reset();
  pool.reset();
  vms::MasterLog()->info("stopped");
  return 0;
}
