// An app's lifecycle on real processes (../shared/DESIGN.md, "Lifecycle"):
// a master, two sites' replicas and a real vms-fuse mount per site, each
// under the test's temp dir and always unmounted. A canary flip reaches one
// site's hosts and not the other's; a label moves its link alone; /dist/.at
// answers what was live at chosen instants as `vms history` says.
#include <unistd.h>

#include <filesystem>
#include <map>
#include <sstream>
#include <thread>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/testing.h"

namespace vms {
namespace {

using nlohmann::json;
using testing::FuseProcess;
using testing::MasterProcess;
using testing::ReplicaProcess;
using testing::RunResult;
using testing::TempDir;
using testing::WaitFor;
using testing::WriteFile;

namespace fs = std::filesystem;

class LifecycleTest : public ::testing::Test {
 protected:
  LifecycleTest() : master_(dir_ / "master") {
    ny_ = std::make_unique<ReplicaProcess>("ny", master_.address(), master_.pub(), dir_ / "ny");
    ldn_ = std::make_unique<ReplicaProcess>("ldn", master_.address(), master_.pub(), dir_ / "ldn");
    EXPECT_TRUE(WaitFor([&] {
      RunResult r = Vms({"sites", "--json"});
      return r.exit_code == 0 && json::parse(r.out).size() == 2;
    }));
  }

  RunResult Vms(std::vector<std::string> args) {
    args.insert(args.begin(), {testing::CliBin(), "--master", master_.address()});
    return testing::Run(args, {.env = {{"HOME", dir_ / "home"}}});
  }
  void Push(const std::string& version) {
    WriteFile(dir_ / ("src/" + version + "/VERSION"), version + "\n");
    RunResult r = Vms({"push", "app", version, dir_ / ("src/" + version)});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  void Flip(std::vector<std::string> args) {
    RunResult r = Vms(args);
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  }
  // A host of `site`, watching only that site's replica; the site comes
  // from the replica itself (Read.SiteInfo).
  std::unique_ptr<FuseProcess> Host(const std::string& site, const ReplicaProcess& replica) {
    const std::string mnt = dir_ / ("dist-" + site);
    return std::make_unique<FuseProcess>(
        mnt,
        std::vector<std::string>{"--replicas", replica.address(), "--cache",
                                 dir_ / ("cache-" + site), "--trust", master_.pub(),
                                 "--census-interval-s", "1", "--host-name", site + "-host"},
        dir_ / ("fuse-" + site + ".log"));
  }
  // What `vms usage app --json` says of VERSION at SITE: hosts using it now.
  int HostsNow(const std::string& version, const std::string& site) {
    RunResult r = Vms({"usage", "app", "--json"});
    if (r.exit_code != 0) return -1;
    for (const json& u : json::parse(r.out)) {
      if (u["version"] == version && u["site"] == site) return u["hosts_now"];
    }
    return 0;
  }
  std::string Link(const std::string& site, const std::string& name) {
    std::error_code ec;
    return fs::read_symlink(fs::path(dir_ / ("dist-" + site)) / name, ec).string();
  }
  bool WaitLink(const std::string& site, const std::string& name, const std::string& target) {
    return WaitFor([&] { return Link(site, name) == target; });
  }
  // What `vms status app --json` says is live at each site.
  std::map<std::string, std::string> LiveBySite() {
    RunResult r = Vms({"status", "app", "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::map<std::string, std::string> out;
    for (const json& s : json::parse(r.out)) out[s["site"]] = s["live"];
    return out;
  }

  TempDir dir_;
  MasterProcess master_;
  std::unique_ptr<ReplicaProcess> ny_, ldn_;
};

TEST_F(LifecycleTest, ACanaryFlipReachesItsSitesHostsAndNotTheOthers) {
  Push("1.0");
  Push("2.0");
  Flip({"live", "app", "1.0", "--wait"});
  auto ny = Host("ny", *ny_);
  auto ldn = Host("ldn", *ldn_);
  ASSERT_TRUE(WaitLink("ny", "app", "app@1.0")) << ny->log();
  ASSERT_TRUE(WaitLink("ldn", "app", "app@1.0")) << ldn->log();

  RunResult canary = Vms({"live", "app", "2.0", "--sites", "ny", "--wait"});
  ASSERT_EQ(canary.exit_code, 0) << canary.err;
  EXPECT_NE(canary.out.find("app is live: 2.0 at ny"), std::string::npos) << canary.out;
  EXPECT_NE(canary.out.find("applied at 1 site"), std::string::npos) << canary.out;
  ASSERT_TRUE(WaitLink("ny", "app", "app@2.0")) << ny->log();
  EXPECT_EQ(testing::ReadFileOrDie(dir_ / "dist-ny/app/VERSION"), "2.0\n");
  // ldn's replica has applied the record too (it holds every record, for
  // the sites that may fail over to it); its hosts stay where they were.
  ASSERT_TRUE(WaitFor([&] {
    RunResult r = Vms({"site", ldn_->address(), "--json"});
    return r.exit_code == 0 &&
           json::parse(r.out)["applied_seq"] ==
               json::parse(Vms({"site", ny_->address(), "--json"}).out)["applied_seq"];
  }));
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // past the host's next heartbeat
  EXPECT_EQ(Link("ldn", "app"), "app@1.0") << ldn->log();
  EXPECT_EQ(testing::ReadFileOrDie(dir_ / "dist-ldn/app/VERSION"), "1.0\n");
  EXPECT_EQ(LiveBySite(), (std::map<std::string, std::string>{{"ldn", "1.0"}, {"ny", "2.0"}}));

  // Rolling the canary back returns ny to the world's version.
  Flip({"rollback", "app", "--sites", "ny", "--wait"});
  ASSERT_TRUE(WaitLink("ny", "app", "app@1.0")) << ny->log();
  EXPECT_EQ(LiveBySite(), (std::map<std::string, std::string>{{"ldn", "1.0"}, {"ny", "1.0"}}));

  // Canary again, then the world: every site gets it.
  Flip({"live", "app", "2.0", "--sites", "ny", "--wait"});
  ASSERT_TRUE(WaitLink("ny", "app", "app@2.0")) << ny->log();
  Flip({"live", "app", "2.0", "--wait"});
  ASSERT_TRUE(WaitLink("ldn", "app", "app@2.0")) << ldn->log();
  EXPECT_EQ(Link("ny", "app"), "app@2.0");
  EXPECT_EQ(LiveBySite(), (std::map<std::string, std::string>{{"ldn", "2.0"}, {"ny", "2.0"}}));

  // A world rollback goes back to 1.0 everywhere.
  Flip({"rollback", "app", "--wait"});
  ASSERT_TRUE(WaitLink("ny", "app", "app@1.0")) << ny->log();
  ASSERT_TRUE(WaitLink("ldn", "app", "app@1.0")) << ldn->log();

  // A restarted host comes back to its site's view (the watch snapshot is
  // per site): ny canary while ny's host is down.
  ny.reset();
  Flip({"live", "app", "2.0", "--sites", "ny", "--wait"});
  ny = Host("ny", *ny_);
  ASSERT_TRUE(WaitLink("ny", "app", "app@2.0")) << ny->log();
  EXPECT_EQ(Link("ldn", "app"), "app@1.0");

  // An unknown site is refused, naming the known ones.
  RunResult bad = Vms({"live", "app", "2.0", "--sites", "sfo"});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("no site named sfo; known sites: ldn, ny"), std::string::npos) << bad.err;

  RunResult history = Vms({"history", "app"});
  EXPECT_NE(history.out.find("ny"), std::string::npos) << history.out;
  RunResult verify = Vms({"verify", "app", "--trust", master_.pub()});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
}

TEST_F(LifecycleTest, ALabelMovesItsLinkAlone) {
  Push("1.0");
  Push("2.0");
  Flip({"live", "app", "1.0", "--wait"});
  auto ny = Host("ny", *ny_);
  ASSERT_TRUE(WaitLink("ny", "app", "app@1.0")) << ny->log();
  std::error_code ec;
  EXPECT_FALSE(fs::exists(dir_ / "dist-ny/app@beta", ec));

  RunResult label = Vms({"label", "app", "beta", "2.0", "--wait"});
  ASSERT_EQ(label.exit_code, 0) << label.err;
  ASSERT_TRUE(WaitLink("ny", "app@beta", "app@2.0")) << ny->log();
  EXPECT_EQ(testing::ReadFileOrDie(dir_ / "dist-ny/app@beta/VERSION"), "2.0\n");
  EXPECT_EQ(Link("ny", "app"), "app@1.0") << "live did not move";

  Flip({"label", "app", "lts", "1.0"});
  RunResult labels = Vms({"labels", "app", "--json"});
  ASSERT_EQ(labels.exit_code, 0) << labels.err;
  json l = json::parse(labels.out);
  ASSERT_EQ(l.size(), 3u) << labels.out;
  EXPECT_EQ(l[0]["label"], "live");
  EXPECT_EQ(l[0]["version"], "1.0");
  EXPECT_EQ(l[1]["label"], "beta");
  EXPECT_EQ(l[1]["version"], "2.0");
  EXPECT_EQ(l[2]["label"], "lts");

  // The label moves back; history shows both moves.
  Flip({"label", "app", "beta", "1.0"});
  ASSERT_TRUE(WaitLink("ny", "app@beta", "app@1.0")) << ny->log();
  RunResult history = Vms({"history", "app", "--json"});
  size_t moves = 0;
  for (const json& h : json::parse(history.out)) moves += h["kind"] == "label beta";
  EXPECT_EQ(moves, 2u) << history.out;

  // A label and a version never share a name.
  RunResult clash = Vms({"label", "app", "v", "2.0"});
  EXPECT_EQ(clash.exit_code, 0) << clash.err;
  WriteFile(dir_ / "src/v/VERSION", "v\n");
  RunResult push = Vms({"push", "app", "v", dir_ / "src/v"});
  EXPECT_NE(push.exit_code, 0);
  EXPECT_NE(push.err.find("has a label named v"), std::string::npos) << push.err;
  RunResult bad = Vms({"label", "app", "Beta", "2.0"});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("invalid label"), std::string::npos) << bad.err;
  // `vms label APP live V` is `vms live APP V`.
  Flip({"label", "app", "live", "2.0", "--wait"});
  ASSERT_TRUE(WaitLink("ny", "app", "app@2.0")) << ny->log();
}

TEST_F(LifecycleTest, TheAsOfViewMatchesTheHistory) {
  Push("1.0");
  Push("2.0");
  Push("3.0");
  auto ny = Host("ny", *ny_);
  for (const char* v : {"1.0", "2.0", "3.0"}) {
    Flip({"live", "app", v, "--wait"});
    std::this_thread::sleep_for(std::chrono::milliseconds(2100));  // instants whole seconds apart
  }
  Flip({"live", "app", "1.0", "--sites", "ny", "--wait"});  // a canary counts at ny
  RunResult history = Vms({"history", "app", "--json"});
  ASSERT_EQ(history.exit_code, 0) << history.err;
  json h = json::parse(history.out);  // newest first
  ASSERT_EQ(h.size(), 4u);
  auto seconds = [&](size_t i) {
    // "2026-11-25T16:30:31.123Z": the whole second after the flip.
    std::string when = h[i]["when"];
    struct tm tm = {};
    strptime(when.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
    return static_cast<int64_t>(timegm(&tm)) + 1;
  };
  const fs::path at = fs::path(dir_ / "dist-ny/.at");
  auto link = [&](const std::string& instant) {
    std::error_code ec;
    return fs::read_symlink(at / instant / "app", ec).string();
  };
  // Before the first flip: nothing was live.
  EXPECT_EQ(link("@" + std::to_string(seconds(3) - 2)), "");
  // Between the first two flips, in both spellings.
  EXPECT_EQ(link("@" + std::to_string(seconds(3))), "../../app@1.0") << ny->log();
  char iso[32];
  time_t t = seconds(2);
  strftime(iso, sizeof iso, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
  EXPECT_EQ(link(iso), "../../app@2.0") << ny->log();
  EXPECT_EQ(testing::ReadFileOrDie(at / iso / "app/VERSION"), "2.0\n");
  // After the last world flip, before the canary... and after it.
  EXPECT_EQ(link("@" + std::to_string(seconds(1))), "../../app@3.0");
  EXPECT_EQ(link("@" + std::to_string(seconds(0) + 1)), "../../app@1.0");
  // Listing an instant shows the apps as they were.
  RunResult ls = testing::Run({"/bin/ls", at / iso});
  EXPECT_EQ(ls.out, "app\n");
  // A bad instant is not a directory.
  std::error_code ec;
  EXPECT_FALSE(fs::exists(at / "yesterday", ec));
  EXPECT_FALSE(fs::exists(at / "2026-02-30T00:00:00Z", ec));
}

TEST_F(LifecycleTest, RetireWaitsForTheCensusThenEveryStoreGivesTheBytesBack) {
  // 1.0 has a big file of its own (chunks kept as files in every store).
  const std::string big = testing::RandomBytes(12 << 20, 7);
  WriteFile(dir_ / "src/1.0/big", big);
  Push("1.0");
  Push("2.0");
  Push("3.0");
  for (const char* v : {"1.0", "2.0", "3.0"}) Flip({"live", "app", v, "--wait"});
  auto ldn = Host("ldn", *ldn_);
  ASSERT_TRUE(WaitLink("ldn", "app", "app@3.0")) << ldn->log();
  const std::string old_tree = dir_ / "dist-ldn/app@1.0";
  ASSERT_EQ(testing::ReadFileOrDie(old_tree + "/big"), big);  // now in ldn's host cache

  // 1.0 is the rollback target behind 2.0 by default; keep only the last.
  RunResult keep3 = Vms({"retire", "app", "1.0"});
  EXPECT_NE(keep3.exit_code, 0);
  EXPECT_NE(keep3.err.find("rollback target"), std::string::npos) << keep3.err;
  Flip({"policy", "app", "--keep-last", "1"});
  RunResult live = Vms({"retire", "app", "3.0"});
  EXPECT_NE(live.exit_code, 0);
  EXPECT_NE(live.err.find("it is live"), std::string::npos) << live.err;

  // A process on ldn's host holds a file of 1.0 open: the census sees it.
  auto holder = std::make_unique<testing::Process>(
      std::vector<std::string>{"/bin/sh", "-c", "exec 3< " + old_tree + "/VERSION; exec sleep 60"},
      dir_ / "holder.log");
  ASSERT_TRUE(WaitFor([&] { return HostsNow("1.0", "ldn") == 1; })) << ldn->log();
  RunResult usage = Vms({"usage", "app"});
  EXPECT_NE(usage.out.find("test"), std::string::npos) << usage.out;
  RunResult refused = Vms({"retire", "app", "1.0"});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("in use on ldn/test"), std::string::npos) << refused.err;
  // And it says how fresh the census it went by is (attack run 2, fault 12).
  EXPECT_NE(refused.err.find("(the census of 2 of 2 sites, the oldest "), std::string::npos)
      << refused.err;

  // Once it exits (and the census says so), retiring goes through.
  holder.reset();
  ASSERT_TRUE(WaitFor([&] { return HostsNow("1.0", "ldn") == 0; })) << ldn->log();
  // Nobody has the big file open: the kernel may forget its inode (and
  // vms-fuse unpin its chunks) whenever; here at once.
  testing::Run({"/bin/sh", "-c", "sync; echo 2 > /proc/sys/vm/drop_caches"});
  const uint64_t master_before = testing::DiskBytes(dir_ / "master/db/large");
  const uint64_t ny_before = testing::DiskBytes(dir_ / "ny/db/large");
  const uint64_t cache_before = testing::DiskBytes(dir_ / "cache-ldn");
  RunResult retire = Vms({"retire", "app", "1.0"});
  ASSERT_EQ(retire.exit_code, 0) << retire.err;
  EXPECT_NE(retire.out.find("master: removed"), std::string::npos) << retire.out;
  EXPECT_NE(retire.out.find("checked against the census of "), std::string::npos) << retire.out;
  // Every store gives the big file's chunks back (the stores' own counters
  // say so in their logs; du agrees).
  EXPECT_LE(testing::DiskBytes(dir_ / "master/db/large") + (10 << 20), master_before);
  ASSERT_TRUE(WaitFor([&] {
    return testing::DiskBytes(dir_ / "ny/db/large") + (10 << 20) <= ny_before;
  })) << ny_->log();
  // Its report comes once the whole collection (compaction included) is done.
  EXPECT_TRUE(WaitFor([&] { return ny_->log().find("objects_removed=") != std::string::npos; }))
      << ny_->log();
  // The host drops the objects once the kernel let go of the version's
  // inodes (it is asked to, and tried again for two seconds).
  ASSERT_TRUE(WaitFor([&] {
    return ldn->log().find("retired app=app version=1.0: dropped") != std::string::npos;
  })) << ldn->log();
  EXPECT_TRUE(WaitFor([&] {
    return testing::DiskBytes(dir_ / "cache-ldn") + (10 << 20) <= cache_before;
  })) << ldn->log();
  EXPECT_TRUE(WaitFor([&] {
    return ldn->log().find("retired app=app version=1.0: dropped") != std::string::npos;
  })) << ldn->log();
  // The tree is gone from /dist, and what was live then shows as missing.
  std::error_code ec;
  EXPECT_FALSE(fs::exists(old_tree, ec));
  EXPECT_NE(ldn->log().find("retired at"), std::string::npos) << ldn->log();
  // The rest is whole everywhere.
  EXPECT_EQ(testing::ReadFileOrDie(dir_ / "dist-ldn/app/VERSION"), "3.0\n");
  EXPECT_EQ(Vms({"verify", "app", "--trust", master_.pub()}).exit_code, 0);
  RunResult versions = Vms({"history", "app"});
  EXPECT_NE(versions.out.find("retire"), std::string::npos) << versions.out;
  // Retiring again changes nothing.
  RunResult again = Vms({"retire", "app", "1.0"});
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.out.find("already retired"), std::string::npos);
}

// Retirement is a rule of the log: a site that joins after retirements, and
// one rebuilt from an empty disk, reach the head holding only the kept
// versions. The retired ones' objects are gone from every store, so their
// release and live records apply as records only; neither site waits for
// them, and the next push and world flip (which wait for every site) go
// through, to a real mount of the new site.
TEST_F(LifecycleTest, ASiteStartedAfterRetirementsReachesTheHeadHoldingOnlyTheKeptVersions) {
  constexpr size_t kOwn = 4 << 20;
  for (int i = 1; i <= 4; ++i) {
    const std::string v = std::to_string(i) + ".0";
    WriteFile(dir_ / ("src/" + v + "/own"), testing::RandomBytes(kOwn, 40 + i));
    Push(v);
  }
  for (const char* v : {"1.0", "2.0", "3.0"}) Flip({"live", "app", v, "--wait"});
  Flip({"policy", "app", "--keep-last", "1"});
  // 1.0 was live (its live record is in the log); 4.0 never was.
  Flip({"retire", "app", "1.0"});
  Flip({"retire", "app", "4.0"});
  ASSERT_TRUE(WaitFor([&] { return ny_->log().find("objects_removed=") != std::string::npos; }))
      << ny_->log();

  // ldn's disk is replaced: the same site from nothing. sf is new.
  ldn_.reset();
  fs::remove_all(dir_ / "ldn");
  ldn_ = std::make_unique<ReplicaProcess>("ldn", master_.address(), master_.pub(), dir_ / "ldn");
  auto sf = std::make_unique<ReplicaProcess>("sf", master_.address(), master_.pub(), dir_ / "sf");
  ASSERT_TRUE(WaitFor([&] {
    RunResult r = Vms({"sites", "--json"});
    return r.exit_code == 0 && json::parse(r.out).size() == 3;
  }));
  // A push waits until every site holds it; a world flip needs it complete
  // at every site.
  WriteFile(dir_ / "src/5.0/own", testing::RandomBytes(kOwn, 45));
  Push("5.0");
  RunResult live = Vms({"live", "app", "5.0", "--wait"});
  ASSERT_EQ(live.exit_code, 0) << live.out << live.err << sf->log() << ldn_->log();
  auto host = Host("sf", *sf);
  ASSERT_TRUE(WaitLink("sf", "app", "app@5.0")) << host->log();
  EXPECT_EQ(testing::ReadFileOrDie(dir_ / "dist-sf/app/own"), testing::RandomBytes(kOwn, 45));
  EXPECT_EQ(testing::ReadFileOrDie(dir_ / "dist-sf/app@2.0/own"), testing::RandomBytes(kOwn, 42));
  std::error_code ec;
  EXPECT_FALSE(fs::exists(dir_ / "dist-sf/app@1.0/own", ec));

  for (const ReplicaProcess* site : {sf.get(), ldn_.get()}) {
    for (const char* v : {"1.0", "4.0"}) {
      EXPECT_NE(site->log().find(std::string("applied app=app version=") + v), std::string::npos)
          << site->log();
    }
    EXPECT_EQ(site->log().find("cannot apply event"), std::string::npos) << site->log();
  }
  // Only what is kept: no more than the site that collected after the
  // retirements (two retired versions' own files would be 8 MiB more).
  const uint64_t kept = testing::DiskBytes(dir_ / "ny/db/large");
  EXPECT_LE(testing::DiskBytes(dir_ / "sf/db/large"), kept + (1 << 20));
  EXPECT_LE(testing::DiskBytes(dir_ / "ldn/db/large"), kept + (1 << 20));
  EXPECT_EQ(Vms({"verify", "app", "--trust", master_.pub()}).exit_code, 0);
  // The listings say which versions are retired.
  RunResult versions = Vms({"versions", "app", "--json"});
  ASSERT_EQ(versions.exit_code, 0) << versions.err;
  for (const json& v : json::parse(versions.out)) {
    const bool retired = v["version"] == "1.0" || v["version"] == "4.0";
    EXPECT_EQ(v["retired"], retired) << v.dump();
  }
  EXPECT_NE(Vms({"versions", "app"}).out.find("retired"), std::string::npos);
  EXPECT_NE(Vms({"list"}).out.find("(2 retired)"), std::string::npos);
  // And `vms status`, at every site, rather than "not started" at the new one.
  RunResult status = Vms({"status", "app", "--json"});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  for (const json& site : json::parse(status.out)) {
    for (const char* v : {"1.0", "4.0"}) {
      EXPECT_EQ(site["versions"][v]["state"], "retired") << site.dump();
    }
    EXPECT_NE(site["versions"]["3.0"]["state"], "retired") << site.dump();
  }
  EXPECT_NE(Vms({"status", "app", "1.0"}).out.find("retired"), std::string::npos);
  // fsck finds every store whole: a retired release is not missing its objects.
  for (auto [name, site] : {std::pair{"ny", ny_.get()}, std::pair{"sf", sf.get()}}) {
    ASSERT_EQ(site->Terminate(), 0);
    RunResult fsck =
        testing::Run({testing::ReplicaBin(), "--site", name, "--data", site->data_dir(), "--fsck"});
    EXPECT_EQ(fsck.exit_code, 0) << fsck.out << fsck.err;
    EXPECT_EQ(fsck.out.find("incomplete"), std::string::npos) << fsck.out;
  }
}

TEST_F(LifecycleTest, GcRetiresWhatThePolicyLetsGoAndAConcurrentPushSurvives) {
  for (int i = 1; i <= 4; ++i) {
    WriteFile(dir_ / ("src/" + std::to_string(i) + ".0/own"), testing::RandomBytes(6 << 20, i));
    Push(std::to_string(i) + ".0");
  }
  Flip({"live", "app", "3.0", "--wait"});
  Flip({"live", "app", "4.0", "--wait"});
  Flip({"policy", "app", "--keep-last", "1", "--keep-days", "0"});
  RunResult dry = Vms({"gc", "app", "--dry-run", "--json"});
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  json plan = json::parse(dry.out);
  std::map<std::string, bool> retire;
  for (const json& c : plan["candidates"]) retire[c["version"]] = c["retire"];
  EXPECT_EQ(retire, (std::map<std::string, bool>{
                        {"1.0", true}, {"2.0", true}, {"3.0", false}, {"4.0", false}}))
      << dry.out;
  EXPECT_GE(plan["stores"][0]["bytes_removed"].get<uint64_t>(), 2u * (6 << 20)) << dry.out;
  // A dry run removes nothing, and its table names each version once.
  EXPECT_EQ(Vms({"versions", "app"}).out.find("1.0") != std::string::npos, true);
  RunResult table = Vms({"gc", "app", "--dry-run"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  for (const char* v : {"1.0", "2.0", "3.0", "4.0"}) {
    std::istringstream lines(table.out);
    int rows = 0;
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind("app ", 0) == 0 && line.find(std::string(" ") + v + " ") != std::string::npos)
        ++rows;
    }
    EXPECT_EQ(rows, 1) << v << " in\n" << table.out;
  }

  // A push runs while the collection sweeps: its uploads are not garbage.
  WriteFile(dir_ / "src/5.0/own", testing::RandomBytes(24 << 20, 5));
  for (int i = 0; i < 200; ++i) {
    WriteFile(dir_ / ("src/5.0/many/" + std::to_string(i)), testing::RandomBytes(4096, 100 + i));
  }
  testing::Process push(
      {testing::CliBin(), "--master", master_.address(), "push", "app", "5.0", dir_ / "src/5.0"},
      dir_ / "push5.log");
  RunResult gc = Vms({"gc", "app"});
  ASSERT_EQ(gc.exit_code, 0) << gc.out << gc.err;
  EXPECT_NE(gc.out.find("retired app 1.0"), std::string::npos) << gc.out;
  EXPECT_NE(gc.out.find("retired app 2.0"), std::string::npos) << gc.out;
  // The one collection after the retirements says what they gave back.
  EXPECT_NE(gc.out.find("master: removed "), std::string::npos) << gc.out;
  EXPECT_EQ(gc.out.find("removed 0 objects"), std::string::npos) << gc.out;
  ASSERT_EQ(push.Wait(std::chrono::seconds(120)), 0) << testing::ReadFileOrDie(dir_ / "push5.log");
  Flip({"live", "app", "5.0", "--wait"});
  auto ny = Host("ny", *ny_);
  ASSERT_TRUE(WaitLink("ny", "app", "app@5.0")) << ny->log();
  EXPECT_EQ(testing::ReadFileOrDie(dir_ / "dist-ny/app/own"), testing::RandomBytes(24 << 20, 5));
  EXPECT_EQ(Vms({"verify", "app", "--trust", master_.pub()}).exit_code, 0);
}

}  // namespace
}  // namespace vms
