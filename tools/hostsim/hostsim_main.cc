// vms-hostsim: many hosts' Watch streams in one process, for tools/world.
//
// Each simulated host does what vms-fuse does to learn of flips: a Watch
// stream of its own (its own connection) to its replicas in order, with the
// same failover and silence detection (net/event_stream.h). It does not
// verify records or serve files (the world runs real vms-fuse mounts beside
// it for that); it records, one JSON line each, when every host saw every
// live record and which replica it watched, so tools/world can say when the
// last of 1,000 hosts saw a flip.
//
// All its hosts share one certificate, and a replica lets one caller hold
// at most ReadService::kMaxStreamsPerCaller (32) streams: keep the hosts per
// site (per replica) of one vms-hostsim below that, or give each its own
// certificate.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "core/clock.h"
#include "core/envelope.h"
#include "core/lifecycle.h"
#include "core/strings.h"
#include "core/sync.h"
#include "fusefs/discovery.h"
#include "net/daemon.h"
#include "net/event_stream.h"
#include "net/upstream_client.h"
#include "nlohmann/json.hpp"
#include "spdlog/spdlog.h"

namespace {

// Lines to the --out file, whole and flushed (the world reads it live).
class Recorder {
 public:
  explicit Recorder(FILE* f) : f_(f) {}
  void Write(const nlohmann::json& line) {
    std::string s = line.dump() + "\n";
    vms::MutexLock lock(&mu_);
    fwrite(s.data(), 1, s.size(), f_);
    fflush(f_);
  }

 private:
  vms::Mutex mu_;
  FILE* f_;
};

struct Host {
  std::vector<std::unique_ptr<vms::UpstreamClient>> clients;
  std::unique_ptr<vms::EventStream> stream;
};

}  // namespace

int main(int argc, char** argv) {
  vms::ProcessDefaults();
  vms::BlockShutdownSignals();
  std::string replicas, discover, out_path, name = "hosts", site;
  int hosts = 10;
  vms::LogOptions log;
  vms::TlsFiles tls;
  std::string metrics_listen;
  CLI::App app{
      "vms-hostsim: N hosts' Watch streams in one process; writes when each saw each "
      "live record (JSON lines) to --out"};
  vms::AddDaemonFlags(&app, "vms-hostsim", &log, &tls, &metrics_listen);
  auto* replicas_opt =
      app.add_option("--replicas", replicas, "host:port[,host:port...], in order of preference");
  app.add_option("--discover", discover,
                 "Instead: learn them from the site map of this replica or master, as vms-fuse "
                 "--discover does (once, for every host)")
      ->excludes(replicas_opt);
  app.add_option("--hosts", hosts, "How many hosts")->check(CLI::Range(1, 5000));
  app.add_option("--name", name, "Written on every line (e.g. the site)");
  app.add_option("--site", site,
                 "The hosts' site: sent with Watch (the first snapshot holds what is in effect "
                 "there), and flips scoped to other sites are not written (default: the one "
                 "--discover learns; none: only world-wide flips are)");
  app.add_option("--out", out_path, "Where the lines go")->required();
  CLI11_PARSE(app, argc, argv);
  if (absl::Status s = vms::InitLogging("hostsim", log); !s.ok()) {
    std::cerr << "vms-hostsim: " << vms::Sv(s.message()) << "\n";
    return 2;
  }
  std::vector<std::string> addresses;
  std::stringstream list(replicas);
  for (std::string a; std::getline(list, a, ',');) {
    if (!a.empty()) addresses.push_back(a);
  }
  auto credentials = vms::LoadDaemonCredentials(tls, vms::PrincipalKind::kHost);
  if (!credentials.ok()) {
    std::cerr << "vms-hostsim: " << vms::Sv(credentials.status().message()) << "\n";
    return 2;
  }
  if (!discover.empty()) {
    vms::Discovery discovery({.seeds = {discover}, .credentials = *credentials});
    auto choice = discovery.LearnPatiently(std::chrono::seconds(60));
    if (!choice.ok()) {
      std::cerr << "vms-hostsim: --discover: " << vms::Sv(choice.status().message()) << "\n";
      return 1;
    }
    addresses = choice->replicas;
    replicas = vms::Join(addresses, ",");
    if (site.empty()) site = choice->site;
    spdlog::info("discovered site={} replicas={}", choice->site, replicas);
  }
  if (addresses.empty()) {
    std::cerr << "vms-hostsim: --replicas or --discover is required\n";
    return 2;
  }
  FILE* out = fopen(out_path.c_str(), "a");
  if (out == nullptr) {
    std::cerr << "vms-hostsim: cannot open " << out_path << "\n";
    return 2;
  }
  // Two threads and a connection per host.
  struct rlimit files;
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
  }
  Recorder recorder(out);
  std::vector<Host> all(hosts);
  for (int i = 0; i < hosts; ++i) {
    Host& h = all[i];
    std::vector<vms::UpstreamClient*> ups;
    for (const std::string& a : addresses) {
      h.clients.push_back(std::make_unique<vms::UpstreamClient>(
          a, *credentials, 1, 0, std::chrono::milliseconds(0), /*own_connection=*/true));
      ups.push_back(h.clients.back().get());
    }
    Host* self = &h;  // `all` never grows: stable
    h.stream = std::make_unique<vms::EventStream>(
        ups,
        vms::EventStream::Options{.kind = vms::EventStream::Kind::kWatch,
                                  .max_backoff = std::chrono::seconds(2),
                                  .return_every = std::chrono::seconds(5),
                                  .watch_site = site},
        vms::EventStream::Handler{
            .on_message =
                [&recorder, i, &name, &site](const vms::FollowMessage& m) {
                  if (m.has_event() && m.event().type() == vms::Event::LIVE_CHANGED) {
                    // As vms-fuse: a flip scoped to other sites moves nothing here.
                    if (m.event().has_envelope()) {
                      auto r = vms::ParseLiveRecord(m.event().envelope());
                      if (r.ok() && !vms::AppliesTo(*r, site)) return absl::OkStatus();
                    }
                    recorder.Write({{"t", vms::WallClockMs()},
                                    {"site", name},
                                    {"host", i},
                                    {"event", "live"},
                                    {"app", m.event().app()},
                                    {"version", m.event().version()},
                                    {"seq", m.event().seq()}});
                  }
                  return absl::OkStatus();
                },
            .on_connected =
                [&recorder, i, &name, self](size_t) {
                  recorder.Write({{"t", vms::WallClockMs()},
                                  {"site", name},
                                  {"host", i},
                                  {"event", "connected"},
                                  {"replica", self->stream->current_upstream()->address()}});
                },
            .on_ended =
                [&recorder, i, &name, self](size_t, const absl::Status& why) {
                  recorder.Write({{"t", vms::WallClockMs()},
                                  {"site", name},
                                  {"host", i},
                                  {"event", "ended"},
                                  {"replica", self->stream->current_upstream()->address()},
                                  {"why", std::string(why.message())}});
                }});
    h.stream->Start();
  }
  spdlog::info("{} hosts watching {}", hosts, replicas);
  vms::WaitForShutdownSignal();
  for (Host& h : all) h.stream->Stop();
  fclose(out);
  return 0;
}
