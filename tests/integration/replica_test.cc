// Real vms-master and vms-replica processes, driven with the vms command.
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "core/coding.h"
#include "core/db.h"
#include "core/envelope.h"
#include "gtest/gtest.h"
#include "net/channel.h"
#include "net/rpc.h"
#include "nlohmann/json.hpp"
#include "server/record_store.h"
#include "tests/testing/testing.h"
#include "tests/testing/tls.h"
#include "tests/testing/trees.h"
#include "vms.grpc.pb.h"

namespace vms {
namespace {

using nlohmann::json;
using testing::MasterProcess;
using testing::ReplicaProcess;
using testing::RunResult;
using testing::TempDir;
using testing::WaitFor;
using testing::WriteFile;

class ReplicaTest : public ::testing::Test {
 protected:
  ReplicaTest() : master_(dir_ / "master") {}

  RunResult Vms(std::vector<std::string> args, const std::string& server = "") {
    args.insert(args.begin(),
                {testing::CliBin(), "--master", server.empty() ? master_.address() : server});
    return testing::Run(args, {.env = {{"HOME", dir_ / "home"}}});
  }
  // Starts a replica and waits until the master knows the site (a push
  // waits only for the sites it knows). One that follows another replica
  // reports through it, so an admin adds it first.
  std::unique_ptr<ReplicaProcess> Replica(const std::string& site, const std::string& upstream = "",
                                          std::vector<std::string> extra = {}) {
    if (!upstream.empty()) {
      RunResult added = Vms({"sites", "add", site});
      EXPECT_EQ(added.exit_code, 0) << added.err;
    }
    auto r = std::make_unique<ReplicaProcess>(site, upstream.empty() ? master_.address() : upstream,
                                              master_.pub(), dir_ / ("site-" + site), extra);
    EXPECT_TRUE(testing::WaitForSite(master_.address(), site)) << r->log();
    return r;
  }
  // A tree with small files, an exec file, a symlink and a chunked large file.
  void MakeTree(const std::string& root, uint64_t seed, size_t big = 12 << 20) {
    for (int i = 0; i < 30; ++i) {
      WriteFile(root + "/lib/f" + std::to_string(i), testing::RandomBytes(20000 + i, seed + i));
    }
    WriteFile(root + "/bin/tool", "#!/bin/sh\necho tool " + std::to_string(seed) + "\n", 0755);
    WriteFile(root + "/lib/big.so", testing::RandomBytes(big, seed * 7));
    std::filesystem::create_symlink("bin/tool", root + "/tool");
  }
  std::unique_ptr<Read::Stub> Stub(const std::string& address) {
    return Read::NewStub(testing::TestChannel(address));
  }
  json SiteStatus(const std::string& app, const std::string& site) {
    RunResult r = Vms({"status", app, "--json"});
    if (r.exit_code != 0) return json();
    for (const json& s : json::parse(r.out)) {
      if (s["site"] == site) return s;
    }
    return json();
  }

  TempDir dir_;
  MasterProcess master_;
};

TEST_F(ReplicaTest, ChainOfReplicasServesIdenticalBytes) {
  auto ny = Replica("ny");
  auto ldn = Replica("ldn", ny->address());  // fan-out: ldn follows ny
  ASSERT_TRUE(WaitFor([&] {
    return json::parse(Vms({"sites", "--json"}).out).size() == 2;
  })) << "both sites report to the master (ldn through ny)";

  MakeTree(dir_ / "src", 1);
  RunResult push = Vms({"push", "app", "1.0", dir_ / "src"});
  ASSERT_EQ(push.exit_code, 0) << push.err;
  EXPECT_NE(push.err.find("complete at all 2 sites"), std::string::npos) << push.err;

  for (const auto* site : {ny.get(), ldn.get()}) {
    auto stub = Stub(site->address());
    auto root = testing::RootOf(stub.get(), "app", "1.0");
    ASSERT_TRUE(root.ok()) << root.status();
    std::string out = dir_ / ("out-" + site->address().substr(site->address().rfind(':') + 1));
    ASSERT_TRUE(testing::Materialize(stub.get(), *root, out).ok());
    EXPECT_EQ(testing::DiffTrees(dir_ / "src", out), "");
  }
  // Same log, same seqs, served by the replica.
  RunResult versions = Vms({"versions", "app", "--json"}, ldn->address());
  ASSERT_EQ(versions.exit_code, 0) << versions.err;
  EXPECT_EQ(json::parse(versions.out)[0]["root"],
            json::parse(Vms({"versions", "app", "--json"}).out)[0]["root"]);
}

TEST_F(ReplicaTest, LiveIsRefusedUntilEverySiteHoldsTheVersion) {
  auto ny = Replica("ny");
  auto tky = Replica("tky");
  ASSERT_TRUE(WaitFor([&] { return json::parse(Vms({"sites", "--json"}).out).size() == 2; }));
  tky->Kill9();  // a site that cannot fetch

  MakeTree(dir_ / "src", 2, 1 << 20);
  RunResult push = Vms({"push", "app", "1.0", dir_ / "src", "--timeout", "2"});
  EXPECT_EQ(push.exit_code, 1);
  EXPECT_NE(push.err.find("lagging: tky (not started)"), std::string::npos) << push.err;
  EXPECT_EQ(push.err.find("ny ("), std::string::npos) << "ny holds it: " << push.err;
  EXPECT_EQ(json::parse(Vms({"versions", "app", "--json"}).out).size(), 1u)
      << "the version stays pushed";

  RunResult live = Vms({"live", "app", "1.0"});
  EXPECT_EQ(live.exit_code, 1);
  EXPECT_NE(live.err.find("not complete at every site yet: tky (not started)"), std::string::npos)
      << live.err;

  // --wait waits for tky instead, flips, and reports each site's time.
  testing::Process waiting({testing::CliBin(), "--master", master_.address(), "live", "app", "1.0",
                            "--wait", "--timeout", "60"},
                           dir_ / "live.log");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_TRUE(waiting.running());
  tky->Start();
  EXPECT_EQ(waiting.Wait(std::chrono::seconds(60)), 0) << testing::ReadFileOrDie(dir_ / "live.log");
  std::string out = testing::ReadFileOrDie(dir_ / "live.log");
  EXPECT_NE(out.find("applied at all 2 sites"), std::string::npos) << out;
  EXPECT_NE(out.find("tky: applied in"), std::string::npos) << out;

  // A decommissioned site is forgotten, and no longer holds flips back.
  tky->Kill9();
  WriteFile(dir_ / "src/extra", "2.0");
  ASSERT_EQ(Vms({"push", "app", "2.0", dir_ / "src", "--no-wait"}).exit_code, 0);
  EXPECT_EQ(Vms({"live", "app", "2.0"}).exit_code, 1);
  // It reported moments ago, so the master asks for --force.
  RunResult refused = Vms({"sites", "remove", "tky"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("--force"), std::string::npos) << refused.err;
  RunResult removed = Vms({"sites", "remove", "tky", "--force"});
  EXPECT_EQ(removed.exit_code, 0) << removed.err;
  ASSERT_TRUE(
      WaitFor([&] { return SiteStatus("app", "ny")["versions"]["2.0"]["state"] == "complete"; }));
  RunResult flip = Vms({"live", "app", "2.0", "--wait"});
  EXPECT_EQ(flip.exit_code, 0) << flip.err;
  EXPECT_NE(flip.out.find("applied at all 1 sites"), std::string::npos) << flip.out;
  EXPECT_EQ(Vms({"sites", "remove", "nowhere"}).exit_code, 1);
}

TEST_F(ReplicaTest, KilledMidPullResumesWithoutFetchingAgain) {
  // 40 MiB of incompressible data at 8 MiB/s: certainly mid-pull at 1.5 s.
  for (int i = 0; i < 20; ++i) {
    WriteFile(dir_ / ("src/d/f" + std::to_string(i)), testing::RandomBytes(2 << 20, 300 + i));
  }
  auto ny = Replica("ny", "", {"--fetch-rate", "8M", "--fetch-streams", "1"});
  ASSERT_EQ(Vms({"push", "app", "1.0", dir_ / "src", "--no-wait"}).exit_code, 0);
  ASSERT_TRUE(WaitFor([&] {
    json s = SiteStatus("app", "ny");
    return !s.is_null() && s["versions"]["1.0"]["bytes_done"].get<uint64_t>() > (4u << 20);
  }));
  ny->Kill9();
  EXPECT_EQ(SiteStatus("app", "ny")["versions"]["1.0"]["state"], "fetching");

  ny->Start();
  ASSERT_TRUE(
      WaitFor([&] { return SiteStatus("app", "ny")["versions"]["1.0"]["state"] == "complete"; },
              std::chrono::seconds(30)))
      << ny->log();
  std::string log = ny->log();
  auto pos = log.rfind("complete app=app version=1.0");
  ASSERT_NE(pos, std::string::npos) << log;
  std::string line = log.substr(pos, log.find('\n', pos) - pos);
  auto field = [&](const std::string& name) {
    auto at = line.find(name + "=");
    return std::stoull(line.substr(at + name.size() + 1));
  };
  EXPECT_GT(field("present"), 0u) << "objects fetched before the kill were kept: " << line;
  EXPECT_LT(field("fetched_bytes"), 40u << 20) << line;
  auto stub = Stub(ny->address());
  ASSERT_TRUE(
      testing::Materialize(stub.get(), *testing::RootOf(stub.get(), "app", "1.0"), dir_ / "out")
          .ok());
  EXPECT_EQ(testing::DiffTrees(dir_ / "src", dir_ / "out"), "");
}

TEST_F(ReplicaTest, ACityFailsOverToItsSecondHubAndReturnsToTheFirst) {
  auto hub1 = Replica("hub1");
  auto hub2 = Replica("hub2");
  auto city = Replica("city", hub1->address() + "," + hub2->address());
  auto site = [&] {
    RunResult r = Vms({"site", city->address(), "--json"});
    return r.exit_code == 0 ? json::parse(r.out) : json();
  };
  auto following = [&](const std::string& hub) {
    json info = site();
    return !info.is_null() && info["upstream_connected"].get<bool>() && info["upstream"] == hub;
  };
  auto holds = [&](const std::string& version) {
    json s = SiteStatus("app", "city");
    return !s.is_null() && s["versions"].contains(version) &&
           s["versions"][version]["state"] == "complete";
  };
  ASSERT_TRUE(WaitFor([&] { return following(hub1->address()); })) << site().dump();
  EXPECT_EQ(site()["upstreams"], json::array({hub1->address(), hub2->address()}));
  MakeTree(dir_ / "v1", 21, 2 << 20);
  ASSERT_EQ(Vms({"push", "app", "1.0", dir_ / "v1"}).exit_code, 0);

  // The preferred hub dies: the city follows the other one from where it
  // was, and the master takes its reports through hub2 at once (the city
  // named hub2 among its upstreams), not after a minute of quiet.
  const uint64_t applied = site()["applied_seq"].get<uint64_t>();
  hub1->Kill9();
  MakeTree(dir_ / "v2", 22, 2 << 20);
  ASSERT_EQ(Vms({"push", "app", "2.0", dir_ / "v2", "--no-wait"}).exit_code, 0);
  ASSERT_TRUE(WaitFor([&] { return holds("2.0"); })) << city->log();
  EXPECT_TRUE(following(hub2->address())) << site().dump();
  EXPECT_NE(city->log().find("following upstream=" + hub2->address() +
                             " from_seq=" + std::to_string(applied)),
            std::string::npos)
      << "resumed from its applied seq:\n"
      << city->log();
  EXPECT_EQ(Vms({"site", city->address()}).out.find("failed over; preferred " + hub1->address()) !=
                std::string::npos,
            true)
      << Vms({"site", city->address()}).out;
  auto stub = Stub(city->address());
  ASSERT_TRUE(
      testing::Materialize(stub.get(), *testing::RootOf(stub.get(), "app", "2.0"), dir_ / "out")
          .ok());
  EXPECT_EQ(testing::DiffTrees(dir_ / "v2", dir_ / "out"), "");

  // hub1 comes back (same port), catches up, and the city returns to it.
  hub1->Start();
  ASSERT_TRUE(WaitFor([&] { return following(hub1->address()); })) << city->log();
  MakeTree(dir_ / "v3", 23, 2 << 20);
  RunResult push = Vms({"push", "app", "3.0", dir_ / "v3"});
  ASSERT_EQ(push.exit_code, 0) << push.err;
  EXPECT_NE(push.err.find("complete at all 3 sites"), std::string::npos) << push.err;
  EXPECT_TRUE(holds("3.0"));
  json sites = json::parse(Vms({"sites", "--json"}).out);
  for (const json& s : sites) {
    if (s["site"] == "city") {
      EXPECT_EQ(s["upstream"], hub1->address()) << s.dump();
    }
  }
}

TEST_F(ReplicaTest, AReplicaLeavesAHungMasterWithinSecondsNotAtKeepalive) {
  // A stopped master keeps its connections open and silent. The replica's
  // stream expects a heartbeat every second and cuts it after 5 s of
  // silence (net/event_stream.h), well before TCP keepalive would.
  auto ny = Replica("ny");
  ASSERT_TRUE(WaitFor([&] {
    return json::parse(Vms({"site", ny->address(), "--json"}).out)["upstream_connected"]
        .get<bool>();
  }));
  json info;
  {
    testing::Stopped hung(&master_);
    ASSERT_TRUE(WaitFor(
        [&] {
          RunResult r = Vms({"site", ny->address(), "--json"});
          if (r.exit_code != 0) return false;
          info = json::parse(r.out);
          return !info["upstream_connected"].get<bool>();
        },
        std::chrono::seconds(12)))
        << "still connected to a hung master";
  }
  EXPECT_NE(info["last_error"].get<std::string>().find("nothing arrived for 5000 ms"),
            std::string::npos)
      << info.dump();
  // The master comes back; so does the stream.
  EXPECT_TRUE(WaitFor([&] {
    return json::parse(Vms({"site", ny->address(), "--json"}).out)["upstream_connected"]
        .get<bool>();
  }));
}

TEST_F(ReplicaTest, MasterDownReplicaServesReportsStalenessAndCatchesUp) {
  auto ny = Replica("ny");
  MakeTree(dir_ / "v1", 4, 1 << 20);
  ASSERT_EQ(Vms({"push", "app", "1.0", dir_ / "v1"}).exit_code, 0);
  ASSERT_EQ(Vms({"live", "app", "1.0", "--wait"}).exit_code, 0);

  master_.Kill9();
  ASSERT_TRUE(WaitFor([&] {
    RunResult r = Vms({"site", ny->address(), "--json"});
    return r.exit_code == 0 && !json::parse(r.out)["upstream_connected"].get<bool>();
  }));
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  json info = json::parse(Vms({"site", ny->address(), "--json"}).out);
  EXPECT_GE(info["upstream_silent_ms"].get<int64_t>(), 1000);
  EXPECT_NE(Vms({"site", ny->address()}).out.find("UNREACHABLE"), std::string::npos);
  // Still serving everything it has.
  auto stub = Stub(ny->address());
  ASSERT_TRUE(
      testing::Materialize(stub.get(), *testing::RootOf(stub.get(), "app", "1.0"), dir_ / "out")
          .ok());
  EXPECT_EQ(testing::DiffTrees(dir_ / "v1", dir_ / "out"), "");
  EXPECT_EQ(Vms({"history", "app", "--json"}, ny->address()).exit_code, 0);

  master_.Start();  // same data, same port
  MakeTree(dir_ / "v2", 5, 1 << 20);
  ASSERT_EQ(Vms({"push", "app", "2.0", dir_ / "v2"}).exit_code, 0);
  ASSERT_EQ(Vms({"live", "app", "2.0", "--wait"}).exit_code, 0);
  ASSERT_EQ(Vms({"rollback", "app", "--wait"}).exit_code, 0);
  json here = json::parse(Vms({"history", "app", "--json"}, ny->address()).out);
  json there = json::parse(Vms({"history", "app", "--json"}).out);
  EXPECT_EQ(here, there) << "the replica applied every flip, in order";
  EXPECT_TRUE(json::parse(Vms({"site", ny->address(), "--json"}).out)["upstream_connected"]);
}

// Overwrites the stored bytes of `hash` in a stopped daemon's database: in
// RocksDB, or in the large object's own file.
void CorruptObject(const std::string& data_dir, const Hash& hash) {
  std::filesystem::path large = std::filesystem::path(data_dir) / "db" / "large" / hash.Hex();
  if (std::filesystem::exists(large)) {
    std::fstream f(large, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(1000);
    char c = static_cast<char>(f.get());
    f.seekp(1000);
    f.put(static_cast<char>(c ^ 0x40));
    return;
  }
  auto store = RecordStore::Open(data_dir + "/db").value();
  Db* db = store->db();
  std::string value = std::string(1, '\0') + "not what was stored";
  ASSERT_TRUE(db->raw()->Put({}, db->Family(kObjectsFamily), hash.View(), value).ok());
}

TEST_F(ReplicaTest, CorruptObjectIsNeverServedAndIsFetchedAgain) {
  auto ny = Replica("ny");
  MakeTree(dir_ / "src", 6, 1 << 20);
  ASSERT_EQ(Vms({"push", "app", "1.0", dir_ / "src"}).exit_code, 0);
  // A small object (in RocksDB) and a large one (a file of its own).
  Hash victim = Sha256(testing::ReadFileOrDie(dir_ / "src/lib/f3"));
  Hash large = Sha256(testing::ReadFileOrDie(dir_ / "src/lib/big.so"));
  ASSERT_EQ(ny->Terminate(), 0);
  ASSERT_TRUE(
      std::filesystem::exists(std::filesystem::path(ny->data_dir()) / "db" / "large" / large.Hex()))
      << "big.so is a large object";
  CorruptObject(ny->data_dir(), victim);
  CorruptObject(ny->data_dir(), large);

  ny->Start();
  auto stub = Stub(ny->address());
  for (const Hash& h : {victim, large}) {
    GetObjectsRequest req;
    req.add_hashes(std::string(h.View()));
    grpc::ClientContext ctx;
    auto reader = stub->GetObjects(&ctx, req);
    ObjectBatch batch;
    EXPECT_FALSE(reader->Read(&batch)) << "corrupt bytes must not be served";
    grpc::Status s = reader->Finish();
    EXPECT_EQ(s.error_code(), grpc::StatusCode::DATA_LOSS) << s.error_message();
  }
  // The replica removed it and fetches it again from upstream.
  ASSERT_TRUE(WaitFor([&] {
    return testing::Materialize(stub.get(), *testing::RootOf(stub.get(), "app", "1.0"),
                                dir_ / "out")
        .ok();
  })) << ny->log();
  EXPECT_EQ(testing::DiffTrees(dir_ / "src", dir_ / "out"), "");
  EXPECT_NE(ny->log().find("corrupt object=" + victim.Hex()), std::string::npos);
  EXPECT_NE(ny->log().find("corrupt object=" + large.Hex()), std::string::npos);
}

TEST_F(ReplicaTest, FsckFindsAndRepairsCorruption) {
  auto ny = Replica("ny");
  MakeTree(dir_ / "src", 7, 1 << 20);
  ASSERT_EQ(Vms({"push", "app", "1.0", dir_ / "src"}).exit_code, 0);
  ASSERT_EQ(ny->Terminate(), 0);

  RunResult clean =
      testing::Run({testing::ReplicaBin(), "--site", "ny", "--data", ny->data_dir(), "--fsck"});
  EXPECT_EQ(clean.exit_code, 0) << clean.out << clean.err;
  EXPECT_NE(clean.out.find("OK"), std::string::npos);

  Hash victim = Sha256(testing::ReadFileOrDie(dir_ / "src/lib/f5"));
  Hash large = Sha256(testing::ReadFileOrDie(dir_ / "src/lib/big.so"));
  CorruptObject(ny->data_dir(), victim);
  CorruptObject(ny->data_dir(), large);
  RunResult found =
      testing::Run({testing::ReplicaBin(), "--site", "ny", "--data", ny->data_dir(), "--fsck"});
  EXPECT_EQ(found.exit_code, 1);
  EXPECT_NE(found.out.find("corrupt object " + victim.Hex()), std::string::npos) << found.out;
  EXPECT_NE(found.out.find("corrupt object " + large.Hex()), std::string::npos) << found.out;
  RunResult repaired = testing::Run(
      {testing::ReplicaBin(), "--site", "ny", "--data", ny->data_dir(), "--fsck", "--repair"});
  EXPECT_NE(repaired.out.find("will be fetched again"), std::string::npos) << repaired.out;

  ny->Start();
  ASSERT_TRUE(WaitFor([&] { return ny->log().find("recheck done") != std::string::npos; }))
      << ny->log();
  ASSERT_EQ(ny->Terminate(), 0);
  RunResult after =
      testing::Run({testing::ReplicaBin(), "--site", "ny", "--data", ny->data_dir(), "--fsck"});
  EXPECT_EQ(after.exit_code, 0) << after.out;
}

// Alters the payload of the event `seq` in a stopped daemon's store.
void AlterEvent(const std::string& data_dir, uint64_t seq) {
  auto store = RecordStore::Open(data_dir + "/db").value();
  Db* db = store->db();
  auto raw = db->Get("events", EncodeBigEndian64(seq)).value();
  ASSERT_TRUE(raw.has_value());
  Event event;
  ASSERT_TRUE(event.ParseFromString(*raw));
  std::string* payload = event.mutable_envelope()->mutable_payload();
  (*payload)[payload->size() / 2] ^= 0x10;
  ASSERT_TRUE(db->raw()
                  ->Put({}, db->Family("events"), EncodeBigEndian64(seq), event.SerializeAsString())
                  .ok());
}

TEST_F(ReplicaTest, AlteredRecordIsRejectedAndNothingChanges) {
  auto ny = Replica("ny");
  MakeTree(dir_ / "src", 8, 1 << 20);
  ASSERT_EQ(Vms({"push", "app", "1.0", dir_ / "src"}).exit_code, 0);
  ASSERT_EQ(ny->Terminate(), 0);
  AlterEvent(ny->data_dir(), 1);  // the copy ny serves downstream
  ny->Start();

  auto ldn = Replica("ldn", ny->address());
  ASSERT_TRUE(WaitFor([&] {
    return SiteStatus("app", "ldn")["versions"]["1.0"]["state"] == "failed";
  })) << ldn->log();
  json s = SiteStatus("app", "ldn");
  EXPECT_NE(s["versions"]["1.0"]["error"].get<std::string>().find("does not verify"),
            std::string::npos)
      << s;
  EXPECT_NE(ldn->log().find("does not verify"), std::string::npos);
  RunResult versions = Vms({"versions", "app"}, ldn->address());
  EXPECT_EQ(versions.exit_code, 1) << "nothing was stored: " << versions.out;
  EXPECT_EQ(json::parse(Vms({"site", ldn->address(), "--json"}).out)["applied_seq"], 0);
}

TEST_F(ReplicaTest, WatchSendsCurrentLiveRecordsThenChanges) {
  auto ny = Replica("ny");
  MakeTree(dir_ / "src", 9, 1 << 20);
  ASSERT_EQ(Vms({"push", "app", "1.0", dir_ / "src"}).exit_code, 0);
  WriteFile(dir_ / "src/new", "x");
  ASSERT_EQ(Vms({"push", "app", "2.0", dir_ / "src"}).exit_code, 0);
  ASSERT_EQ(Vms({"live", "app", "1.0", "--wait"}).exit_code, 0);

  auto stub = Stub(ny->address());
  grpc::ClientContext ctx;
  auto stream = stub->Watch(&ctx, WatchRequest());
  FollowMessage msg;
  auto next_event = [&] {
    do {
      if (!stream->Read(&msg)) return false;
    } while (msg.has_heartbeat());
    return true;
  };
  ASSERT_TRUE(next_event());
  EXPECT_EQ(msg.event().type(), Event::LIVE_CHANGED);
  EXPECT_EQ(msg.event().version(), "1.0");
  ASSERT_EQ(Vms({"live", "app", "2.0"}).exit_code, 0);
  ASSERT_TRUE(next_event());
  EXPECT_EQ(msg.event().version(), "2.0");
  auto record = OpenLiveRecord(msg.event().envelope(), PublicKey::Load(master_.pub()).value());
  ASSERT_TRUE(record.ok()) << record.status();
  EXPECT_EQ(record->live_seq(), 2u);
  ctx.TryCancel();
}

}  // namespace
}  // namespace vms
