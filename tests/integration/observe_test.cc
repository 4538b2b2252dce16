// Observing vms on real processes: every daemon's /metrics, over plain HTTP
// on loopback and over HTTPS with client certificates elsewhere.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/chromium.h"
#include "tests/testing/http.h"
#include "tests/testing/pki.h"
#include "tests/testing/testing.h"
#include "tools/pki/pki.h"

namespace vms {
namespace {

using nlohmann::json;
using testing::FuseProcess;
using testing::HttpGet;
using testing::MasterProcess;
using testing::MetricValue;
using testing::ReplicaProcess;
using testing::RunResult;
using testing::TempDir;
using testing::WaitFor;
using testing::WaitForAddressFile;
using testing::WriteFile;

namespace fs = std::filesystem;

constexpr char kLoopbackAny[] = "127.0.0.1:0";

// A master, one site and one host, each serving /metrics on loopback.
class ObserveTest : public ::testing::Test {
 protected:
  ObserveTest()
      : master_(dir_ / "master", {"--metrics-listen", kLoopbackAny}),
        replica_("ny", master_.address(), master_.pub(), dir_ / "ny",
                 {"--metrics-listen", kLoopbackAny}) {
    EXPECT_TRUE(testing::WaitForSite(master_.address(), "ny"));
    mount_ = std::make_unique<FuseProcess>(
        Dist(),
        std::vector<std::string>{"--replicas", replica_.address(), "--cache", dir_ / "cache",
                                 "--trust", master_.pub(), "--metrics-listen", kLoopbackAny},
        dir_ / "fuse.log");
  }

  std::string Dist() const { return dir_ / "dist"; }
  RunResult Vms(std::vector<std::string> args) {
    args.insert(args.begin(), {testing::CliBin(), "--master", master_.address()});
    return testing::Run(args, {.env = {{"HOME", dir_ / "home"}}});
  }
  // The text of one scrape of the daemon whose address file is `file`.
  std::string Scrape(const std::string& file) {
    std::string address = WaitForAddressFile(file);
    EXPECT_FALSE(address.empty()) << "no " << file;
    testing::HttpResult r = HttpGet(address, "/metrics");
    EXPECT_EQ(r.status, 200) << file << ": " << r.error;
    return r.body;
  }
  std::string MasterMetrics() { return Scrape(dir_ / "master/metrics-address"); }
  std::string ReplicaMetrics() { return Scrape(dir_ / "ny/metrics-address"); }
  std::string FuseMetrics() { return Scrape(dir_ / "cache/metrics-address"); }

  TempDir dir_;
  MasterProcess master_;
  ReplicaProcess replica_;
  std::unique_ptr<FuseProcess> mount_;
};

// Every name a daemon must expose, as "# TYPE NAME KIND" lines.
void ExpectTypes(const std::string& text, const std::vector<std::string>& types) {
  for (const std::string& t : types) {
    EXPECT_NE(text.find("# TYPE " + t + "\n"), std::string::npos) << "missing: " << t;
  }
}

double Value(const std::string& text, const std::string& sample) {
  std::optional<double> v = MetricValue(text, sample);
  EXPECT_TRUE(v.has_value()) << "no sample " << sample;
  return v.value_or(-1);
}

TEST_F(ObserveTest, EveryDaemonNamesItsMetricsAndTheyMoveWithWork) {
  const std::string master_before = MasterMetrics();
  ExpectTypes(master_before,
              {"vms_master_pushes_total counter", "vms_master_flips_total counter",
               "vms_master_objects_received_total counter",
               "vms_master_received_bytes_total counter", "vms_master_objects_served_total counter",
               "vms_master_served_bytes_total counter", "vms_master_head_seq gauge",
               "vms_master_followers gauge", "vms_master_watchers gauge", "vms_master_sites gauge",
               "vms_rpc_requests_total counter", "vms_rpc_duration_seconds histogram"});
  ExpectTypes(
      ReplicaMetrics(),
      {"vms_replica_applied_seq gauge", "vms_replica_upstream_lag_events gauge",
       "vms_replica_upstream_lag_seconds gauge", "vms_replica_upstream_connected gauge",
       "vms_replica_versions gauge", "vms_replica_objects_fetched_total counter",
       "vms_replica_fetched_bytes_total counter", "vms_replica_fetch_duration_seconds histogram",
       "vms_replica_verification_failures_total counter",
       "vms_replica_objects_served_total counter", "vms_replica_store_bytes gauge"});
  ExpectTypes(
      FuseMetrics(),
      {"vms_fuse_requests_total counter", "vms_fuse_cache_hits_total counter",
       "vms_fuse_cache_misses_total counter", "vms_fuse_fetched_bytes_total counter",
       "vms_fuse_fetch_duration_seconds histogram", "vms_fuse_cache_bytes gauge",
       "vms_fuse_cache_evictions_total counter", "vms_fuse_live_records_applied_total counter",
       "vms_fuse_replica_in_use gauge", "vms_fuse_failovers_total counter"});
  EXPECT_EQ(Value(master_before, "vms_master_pushes_total"), 0);
  EXPECT_EQ(Value(master_before, "vms_master_followers"), 1);  // ny

  const std::string body(300 << 10, 'x');
  WriteFile(dir_ / "src/hello/1.0/bin/hello", "#!/bin/sh\necho hello\n", 0755);
  WriteFile(dir_ / "src/hello/1.0/share/data", body);
  RunResult push = Vms({"push", "hello", "1.0", dir_ / "src/hello/1.0"});
  ASSERT_EQ(push.exit_code, 0) << push.err;
  RunResult live = Vms({"live", "hello", "1.0", "--wait"});
  ASSERT_EQ(live.exit_code, 0) << live.err;
  ASSERT_TRUE(WaitFor([&] { return fs::exists(Dist() + "/hello/share/data"); }));
  EXPECT_EQ(testing::ReadFileOrDie(Dist() + "/hello/share/data"), body);

  const std::string master = MasterMetrics();
  EXPECT_EQ(Value(master, "vms_master_pushes_total"), 1);
  EXPECT_EQ(Value(master, "vms_master_flips_total"), 1);
  EXPECT_GE(Value(master, "vms_master_objects_received_total"), 3);
  EXPECT_GE(Value(master, "vms_master_objects_served_total"), 3);  // to ny
  EXPECT_EQ(Value(master, "vms_master_head_seq"), 2);
  EXPECT_GE(Value(master, "vms_rpc_requests_total{code=\"OK\",method=\"/vms.Publish/Commit\"}"), 1);
  EXPECT_GE(Value(master, "vms_rpc_duration_seconds_count{method=\"/vms.Publish/SetLive\"}"), 1);

  const std::string replica = ReplicaMetrics();
  EXPECT_EQ(Value(replica, "vms_replica_applied_seq"), 2);
  EXPECT_EQ(Value(replica, "vms_replica_upstream_lag_events"), 0);
  EXPECT_EQ(Value(replica, "vms_replica_upstream_connected"), 1);
  EXPECT_EQ(Value(replica, "vms_replica_versions{state=\"complete\"}"), 1);
  EXPECT_GE(Value(replica, "vms_replica_objects_fetched_total"), 3);
  EXPECT_GE(Value(replica, "vms_replica_fetched_bytes_total"), body.size());
  EXPECT_GE(Value(replica, "vms_replica_objects_served_total"), 1);  // to the host
  EXPECT_EQ(Value(replica, "vms_replica_verification_failures_total"), 0);
  EXPECT_GT(Value(replica, "vms_replica_store_bytes"), 0);
  EXPECT_EQ(Value(replica, "vms_replica_watchers"), 1);

  const std::string fuse = FuseMetrics();
  EXPECT_GE(Value(fuse, "vms_fuse_requests_total{op=\"lookup\"}"), 3);
  EXPECT_GE(Value(fuse, "vms_fuse_requests_total{op=\"read\"}"), 1);
  // The read found the file fetched (a miss), or already fetched by the
  // read-ahead of the version's small files that its lookup started (a hit).
  EXPECT_GE(Value(fuse, "vms_fuse_cache_misses_total") + Value(fuse, "vms_fuse_cache_hits_total"),
            1);
  EXPECT_GE(Value(fuse, "vms_fuse_fetched_bytes_total"), body.size());
  EXPECT_GE(Value(fuse, "vms_fuse_cache_bytes"), body.size());
  EXPECT_EQ(Value(fuse, "vms_fuse_live_records_applied_total"), 1);
  EXPECT_EQ(Value(fuse, "vms_fuse_app_live_seq{app=\"hello\"}"), 1);
  EXPECT_EQ(Value(fuse, "vms_fuse_replica_in_use{replica=\"" + replica_.address() + "\"}"), 1);

  // Read again after the kernel forgot it: the host cache answers.
  const double hits = Value(fuse, "vms_fuse_cache_hits_total");
  std::ofstream("/proc/sys/vm/drop_caches") << "3\n";
  EXPECT_EQ(testing::ReadFileOrDie(Dist() + "/hello/share/data"), body);
  EXPECT_GT(Value(FuseMetrics(), "vms_fuse_cache_hits_total"), hits);
}

// A port on 127.0.0.1 nobody listens on now (bound, then let go).
int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    close(fd);
    return -1;
  }
  close(fd);
  return ntohs(a.sin_port);
}

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = 0; (at = text.find(what, at)) != std::string::npos; at += what.size()) ++n;
  return n;
}

// A planned upgrade starts the successor while its predecessor still holds
// the metrics port: the successor takes it once it is free, and a reload
// (the same process executing itself again) lets go of it first.
TEST_F(ObserveTest, AHostTakingItsMountOverTakesItsMetricsPortToo) {
  const int port = FreePort();
  ASSERT_GT(port, 0);
  const std::string listen = "127.0.0.1:" + std::to_string(port);
  FuseProcess fuse(dir_ / "dist2",
                   {"--replicas", replica_.address(), "--cache", dir_ / "cache2", "--trust",
                    master_.pub(), "--metrics-listen", listen},
                   dir_ / "fuse2.log");
  ASSERT_EQ(WaitForAddressFile(dir_ / "cache2/metrics-address"), listen) << fuse.log();
  const std::string serving = "serving metrics url=http://" + listen;
  EXPECT_EQ(fuse.Upgrade(), 0) << fuse.log();
  EXPECT_TRUE(WaitFor([&] { return Count(fuse.log(), serving) == 2; })) << fuse.log();
  EXPECT_EQ(HttpGet(listen, "/metrics").status, 200);
  fuse.Reload();
  EXPECT_TRUE(WaitFor([&] { return Count(fuse.log(), serving) == 3; })) << fuse.log();
  testing::HttpResult after = HttpGet(listen, "/metrics");
  EXPECT_EQ(after.status, 200) << after.error;
  EXPECT_EQ(Count(fuse.log(), "no metrics"), 0u) << fuse.log();
}

// Off loopback, /metrics is as guarded as the gRPC port: HTTPS with the
// daemon's certificate, and a client certificate from the same CA.
TEST(ObserveTlsTest, OffLoopbackMetricsNeedAClientCertificate) {
  TempDir dir;
  MasterProcess master(dir / "master", {"--metrics-listen", "0.0.0.0:0"});
  std::string address = WaitForAddressFile(dir / "master/metrics-address");
  ASSERT_FALSE(address.empty());
  const std::string port = address.substr(address.rfind(':') + 1);
  const std::string local = "127.0.0.1:" + port;
  testing::CertFiles admin = testing::TestPki::Get().Files("user", "admin");

  testing::HttpResult plain = HttpGet(local, "/metrics");
  EXPECT_NE(plain.status, 200) << "served plain HTTP off loopback";
  testing::CertFiles no_cert{.ca = admin.ca};
  testing::HttpResult anonymous = HttpGet(local, "/metrics", &no_cert);
  EXPECT_EQ(anonymous.status, 0) << "served HTTPS without a client certificate";
  testing::HttpResult ok = HttpGet(local, "/metrics", &admin);
  ASSERT_EQ(ok.status, 200) << ok.error;
  EXPECT_NE(ok.body.find("vms_master_head_seq"), std::string::npos);
  EXPECT_NE(master.log().find("serving metrics url=https://"), std::string::npos);
}

// Once: HTTPS took a certificate naming two principals, which gRPC refuses.
TEST(ObserveTlsTest, AClientCertificateNamingTwoPrincipalsIsRefusedOverHttpsToo) {
  TempDir dir;
  MasterProcess master(dir / "master", {"--metrics-listen", "0.0.0.0:0"});
  std::string address = WaitForAddressFile(dir / "master/metrics-address");
  ASSERT_FALSE(address.empty());
  const std::string local = "127.0.0.1:" + address.substr(address.rfind(':') + 1);
  auto issued = pki::Issue(testing::TestPki::Get().dir(), "user", "twofaced",
                           {.extra_uris = {"vms://user/admin"}});
  ASSERT_TRUE(issued.ok()) << issued.status();
  testing::CertFiles two{
      .ca = testing::TestPki::Get().ca(), .cert = issued->cert_path, .key = issued->key_path};
  testing::HttpResult refused = HttpGet(local, "/metrics", &two);
  EXPECT_EQ(refused.status, 403) << refused.error;
  EXPECT_EQ(refused.body.find("vms_master_head_seq"), std::string::npos);
  EXPECT_NE(master.log().find("refusing HTTPS requests from 127.0.0.1"), std::string::npos)
      << master.log();
  testing::CertFiles admin = testing::TestPki::Get().Files("user", "admin");
  EXPECT_EQ(HttpGet(local, "/metrics", &admin).status, 200);
}

// The status page in a real browser: a master with two sites (ldn follows
// ny), an app flipped while the page is open.
TEST(StatusPageTest, ABrowserSeesTheSitesAndAFlipWithoutReloading) {
  TempDir dir;
  MasterProcess master(dir / "master", {"--http-listen", kLoopbackAny});
  auto vms = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {testing::CliBin(), "--master", master.address()});
    return testing::Run(args, {.env = {{"HOME", dir / "home"}}});
  };
  ReplicaProcess ny("ny", master.address(), master.pub(), dir / "ny");
  ASSERT_EQ(vms({"sites", "add", "ldn"}).exit_code, 0);  // it reports through ny
  ReplicaProcess ldn("ldn", ny.address(), master.pub(), dir / "ldn");
  ASSERT_TRUE(testing::WaitForSite(master.address(), "ny"));
  ASSERT_TRUE(testing::WaitForSite(master.address(), "ldn"));
  for (const char* v : {"1.0", "1.1"}) {
    WriteFile(dir / ("src/hello/" + std::string(v) + "/bin/hello"), "#!/bin/sh\necho hi\n", 0755);
    RunResult push = vms({"push", "hello", v, dir / ("src/hello/" + std::string(v))});
    ASSERT_EQ(push.exit_code, 0) << push.err;
  }
  ASSERT_EQ(vms({"live", "hello", "1.0", "--wait"}).exit_code, 0);

  const std::string address = WaitForAddressFile(dir / "master/http-address");
  ASSERT_FALSE(address.empty());
  testing::HttpResult api = HttpGet(address, "/api/status");
  ASSERT_EQ(api.status, 200) << api.error;
  json status = json::parse(api.body);
  EXPECT_EQ(status["sites"].size(), 2);
  EXPECT_EQ(status["apps"][0]["live_version"], "1.0");

  std::unique_ptr<testing::Chromium> browser;
  try {
    browser = std::make_unique<testing::Chromium>(dir / "browser", "http://" + address + "/");
  } catch (const std::exception& e) {
    FAIL() << "cannot start headless Chromium: " << e.what();
  }
  // The text of the first element matching `selector`, or null.
  auto text = [&](const std::string& selector) {
    return browser->Evaluate("(() => { const e = document.querySelector('" + selector +
                             "'); return e ? e.textContent : null; })()");
  };
  ASSERT_TRUE(WaitFor([&] { return text("#apps tr[data-app=\"hello\"] td.live") == "1.0"; }))
      << "the page never showed hello 1.0; it shows: " << text("body");
  for (const char* site : {"ny", "ldn"}) {
    EXPECT_TRUE(WaitFor([&] {
      json row = text(std::string("#sites tr[data-site=\"") + site + "\"]");
      return row.is_string() && row.get<std::string>().find("hello 1.0") != std::string::npos;
    })) << site
        << " row: " << text(std::string("#sites tr[data-site=\"") + site + "\"]");
  }
  // ldn follows ny: the tree shows it under ny.
  EXPECT_EQ(text("#tree li[data-node=\"ny\"] li[data-node=\"ldn\"]"), "ldn");

  // A flip made now shows up in the same page, with no reload (the marker
  // set in this page stays).
  browser->Evaluate("window.vmsMarker = 42");
  ASSERT_EQ(vms({"live", "hello", "1.1", "--wait"}).exit_code, 0);
  EXPECT_TRUE(WaitFor([&] { return text("#apps tr[data-app=\"hello\"] td.live") == "1.1"; }))
      << "the flip never showed; the page shows: " << text("body");
  EXPECT_TRUE(WaitFor([&] {
    json flip = text("#flips [data-flip=\"hello#2\"]");
    return flip.is_string() && flip.get<std::string>().find("ny") != std::string::npos &&
           flip.get<std::string>().find("pending") == std::string::npos;
  })) << text("#flips");
  EXPECT_EQ(browser->Evaluate("window.vmsMarker"), 42) << "the page was reloaded";
  // A label and a canary say what they are (a label once showed "from
  // nothing", a one-site canary as a world flip).
  ASSERT_EQ(vms({"label", "hello", "beta", "1.0"}).exit_code, 0);
  ASSERT_EQ(vms({"live", "hello", "1.0", "--sites", "ldn"}).exit_code, 0);
  EXPECT_TRUE(WaitFor([&] {
    json label = text("#flips [data-flip=\"hello#3\"]");
    json canary = text("#flips [data-flip=\"hello#4\"]");
    return label.is_string() && canary.is_string() &&
           label.get<std::string>().find("hello@beta \u2192 1.0") != std::string::npos &&
           label.get<std::string>().find("a new label") != std::string::npos &&
           canary.get<std::string>().find("at ldn (canary)") != std::string::npos;
  })) << text("#flips");
  const std::string shot = testing::ArtifactDir() + "/status_page.png";
  browser->Screenshot(shot);
  EXPECT_GT(fs::file_size(shot), 10000u);
  std::cout << "screenshot: " << shot << "\n";
}

}  // namespace
}  // namespace vms
