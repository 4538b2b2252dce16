// A master group on real processes: three vms-master nodes on a real
// three-member etcd, driven by the real vms command. The leader is killed
// with SIGKILL and paused with SIGSTOP past its lease; no acknowledged
// write is lost, a paused leader never appends after it wakes, a standby
// points writes at the leader, and losing a quorum of etcd stops writes
// with a clear message while reads go on.
#include <signal.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/etcd.h"
#include "tests/testing/history.h"
#include "tests/testing/http.h"
#include "tests/testing/testing.h"

namespace vms {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::MasterProcess;
using testing::RunResult;
using testing::TempDir;

class GroupTest : public ::testing::Test {
 protected:
  static constexpr int kNodes = 3;

  GroupTest() : etcd_(dir_ / "etcd") {
    // One key for the group (no root of trust): made once, copied.
    EXPECT_EQ(testing::Run({testing::MasterBin(), "--make-key", "--data", dir_ / "n0"}).exit_code,
              0);
    for (int i = 1; i < kNodes; ++i) {
      fs::create_directories(dir_ / Name(i));
      for (const char* f : {"master.key", "master.pub"}) {
        fs::copy_file(dir_ / ("n0/" + std::string(f)), dir_ / (Name(i) + "/" + f));
      }
    }
    std::string endpoints;
    for (const std::string& e : etcd_.endpoints()) {
      endpoints += (endpoints.empty() ? "http://" : ",http://") + e;
    }
    for (int i = 0; i < kNodes; ++i) {
      nodes_.push_back(std::make_unique<MasterProcess>(
          dir_ / Name(i),
          std::vector<std::string>{"--etcd", endpoints, "--node", Name(i), "--etcd-lease-s", "2",
                                   "--http-listen", "127.0.0.1:0"}));
    }
    testing::WriteToolVersion(dir_, "tool", "1.0");
    testing::WriteToolVersion(dir_, "tool", "2.0");
  }
  ~GroupTest() override {
    for (auto& n : nodes_) {
      if (n->running()) n->Signal(SIGCONT);
    }
  }

  static std::string Name(int i) { return "n" + std::to_string(i); }

  std::string All() const {
    std::string out;
    for (const auto& n : nodes_) out += (out.empty() ? "" : ",") + n->address();
    return out;
  }
  RunResult Vms(const std::string& master, std::vector<std::string> args) {
    args.insert(args.begin(), {testing::CliBin(), "--master", master});
    return testing::Run(args, {.env = {{"HOME", dir_ / "home"}}});
  }
  // The node that leads, once one does and has applied the log (-1: none
  // within the wait).
  int Leader(const std::set<int>& skip = {}) {
    int leader = -1;
    testing::WaitFor(
        [&] {
          for (int i = 0; i < kNodes; ++i) {
            if (skip.contains(i) || !nodes_[i]->running()) continue;
            RunResult r = Vms(nodes_[i]->address(), {"masters", "--json"});
            if (r.exit_code != 0) continue;
            const std::string name = json::parse(r.out)["leader"];
            for (int j = 0; j < kNodes; ++j) {
              if (Name(j) == name && !skip.contains(j)) leader = j;
            }
            // It takes writes (it applied the log): a no-op write answers.
            if (leader >= 0 && Vms(nodes_[leader]->address(), {"sites", "--json"}).exit_code == 0) {
              return true;
            }
            leader = -1;
          }
          return false;
        },
        std::chrono::seconds(30));
    return leader;
  }
  // The live flips `node` holds for `app`: version per live_seq.
  std::map<uint64_t, std::string> History(int node, const std::string& app) {
    std::map<uint64_t, std::string> out;
    RunResult r = Vms(nodes_[node]->address(), {"history", app, "--json"});
    if (r.exit_code != 0) return out;
    for (const json& h : json::parse(r.out)) out[h["seq"]] = h["version"];
    return out;
  }
  // Waits until every running node holds what `node` holds of `app`.
  void ExpectConverged(int node, const std::string& app) {
    const auto want = History(node, app);
    for (int i = 0; i < kNodes; ++i) {
      if (!nodes_[i]->running()) continue;
      EXPECT_TRUE(testing::WaitFor([&] { return History(i, app) == want; }))
          << Name(i) << " never held " << app << "'s history as " << Name(node) << " does";
    }
  }

  TempDir dir_;
  testing::EtcdCluster etcd_;
  std::vector<std::unique_ptr<MasterProcess>> nodes_;
};

TEST_F(GroupTest, AWriteOnTheLeaderReachesEveryNodeAndAStandbyPointsAtTheLeader) {
  const int leader = Leader();
  ASSERT_GE(leader, 0);
  const int standby = (leader + 1) % kNodes;
  // Given only a standby, vms is told where the leader is and goes there.
  RunResult push = Vms(nodes_[standby]->address(), {"push", "tool", "1.0", dir_ / "src/tool/1.0"});
  ASSERT_EQ(push.exit_code, 0) << push.err;
  RunResult live = Vms(nodes_[standby]->address(), {"live", "tool", "1.0"});
  ASSERT_EQ(live.exit_code, 0) << live.err;
  ExpectConverged(leader, "tool");
  EXPECT_EQ(History(standby, "tool").size(), 1u);

  // Every node holds the release's objects: a standby serves its versions,
  // and the group says each node applied the log.
  RunResult versions = Vms(nodes_[standby]->address(), {"versions", "tool", "--json"});
  ASSERT_EQ(versions.exit_code, 0) << versions.err;
  EXPECT_EQ(json::parse(versions.out).size(), 1u);
  json group;
  ASSERT_TRUE(testing::WaitFor([&] {
    RunResult r = Vms(All(), {"masters", "--json"});
    if (r.exit_code != 0) return false;
    group = json::parse(r.out);
    if (group["nodes"].size() != kNodes) return false;
    for (const json& n : group["nodes"]) {
      if (n["lag"] != 0) return false;
    }
    return true;
  })) << group.dump(2);
  EXPECT_EQ(group["leader"], Name(leader));
  EXPECT_GE(group["log_head"].get<uint64_t>(), 2u);  // the release, the flip
  int leaders = 0;
  for (const json& n : group["nodes"]) leaders += n["leader"].get<bool>();
  EXPECT_EQ(leaders, 1);
  for (const json& n : group["nodes"]) EXPECT_GE(n["objects"].get<uint64_t>(), 1u) << n.dump();

  // The status page shows the group too.
  const std::string http =
      testing::WaitForAddressFile(nodes_[standby]->data_dir() + "/http-address");
  auto page = testing::HttpGet(http, "/api/status");
  ASSERT_EQ(page.status, 200) << page.body;
  json status = json::parse(page.body);
  EXPECT_EQ(status["group"]["leader"], Name(leader)) << status["group"].dump(2);
  EXPECT_EQ(status["group"]["nodes"].size(), kNodes) << status["group"].dump(2);
}

TEST_F(GroupTest, KillingTheLeaderLosesNoAcknowledgedFlipAndAnotherTakesOver) {
  int leader = Leader();
  ASSERT_GE(leader, 0);
  for (const char* v : {"1.0", "2.0"}) {
    RunResult push = Vms(All(), {"push", "tool", v, dir_ / ("src/tool/" + std::string(v))});
    ASSERT_EQ(push.exit_code, 0) << push.err;
  }
  // Flips until the leader is killed mid-stream; each acknowledged one is
  // remembered.
  std::vector<std::string> acknowledged;  // the flipper's until it is joined
  std::atomic<size_t> acknowledged_count{0};
  std::atomic<bool> stop{false};
  std::thread flipper([&] {
    for (int i = 0; i < 400 && !stop; ++i) {
      const std::string v = i % 2 == 0 ? "1.0" : "2.0";
      // Acknowledged and written (not "already live": a flip before it
      // that was refused left that version live).
      RunResult r = Vms(All(), {"live", "tool", v});
      if (r.exit_code == 0 && r.out.find("already") == std::string::npos) {
        acknowledged.push_back(v);
        ++acknowledged_count;
      }
    }
  });
  ASSERT_TRUE(testing::WaitFor([&] { return History(leader, "tool").size() >= 3; }));
  nodes_[leader]->Kill9();
  const int next = Leader({leader});
  ASSERT_GE(next, 0) << "no node took over";
  // Flips go on at the new leader.
  const size_t before = acknowledged_count;
  EXPECT_TRUE(testing::WaitFor([&] { return acknowledged_count >= before + 3; }));
  stop = true;
  flipper.join();

  // Every acknowledged flip is in the log once: live_seqs are gapless, and
  // the log holds at least as many as were acknowledged (a flip whose
  // answer was lost may be there too).
  const auto history = History(next, "tool");
  ASSERT_FALSE(history.empty());
  uint64_t expect = 1;
  for (const auto& [seq, version] : history) EXPECT_EQ(seq, expect++);
  EXPECT_GE(history.size(), acknowledged.size());
  EXPECT_EQ(history.rbegin()->second, acknowledged.back());
  ExpectConverged(next, "tool");

  // The new leader holds every byte: a new version made from 2.0's tree
  // plus one file sends only that file, and a push of 2.0's content again
  // as 3.0 sends nothing.
  RunResult again = Vms(All(), {"push", "tool", "3.0", dir_ / "src/tool/2.0", "--json"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(json::parse(again.out)["objects_sent"], 0) << again.out;

  // The killed node comes back as a standby and catches up.
  nodes_[leader]->Start();
  EXPECT_TRUE(testing::WaitFor([&] { return History(leader, "tool") == History(next, "tool"); }));
}

TEST_F(GroupTest, ALeaderKilledBetweenTheLogAndTheReplyLeavesTheFlipInTheLogOnce) {
  int leader = Leader();
  ASSERT_GE(leader, 0);
  for (const char* v : {"1.0", "2.0"}) {
    RunResult push = Vms(All(), {"push", "tool", v, dir_ / ("src/tool/" + std::string(v))});
    ASSERT_EQ(push.exit_code, 0) << push.err;
  }
  ASSERT_EQ(Vms(All(), {"live", "tool", "1.0"}).exit_code, 0);
  // The node that will lead dies right after its next append to etcd,
  // before it stores the flip or answers.
  const int doomed = leader;
  nodes_[doomed]->Kill9();
  setenv("VMS_FAULT_KILL_AFTER_APPENDS", "1", 1);
  nodes_[doomed]->Start();
  unsetenv("VMS_FAULT_KILL_AFTER_APPENDS");
  for (int i = 0; i < kNodes; ++i) {
    if (i != doomed) nodes_[i]->Kill9();
  }
  ASSERT_EQ(Leader(), doomed);
  for (int i = 0; i < kNodes; ++i) {
    if (i != doomed) nodes_[i]->Start();
  }
  ExpectConverged(doomed, "tool");
  RunResult flip = Vms(All(), {"live", "tool", "2.0"});
  // The answer is lost with the node: vms says so, and does not send the
  // flip again elsewhere (it may have been made).
  EXPECT_NE(flip.exit_code, 0) << flip.out;
  EXPECT_TRUE(testing::WaitFor([&] { return !nodes_[doomed]->running(); }));
  const int next = Leader({doomed});
  ASSERT_GE(next, 0);
  // The log has it, once: the new leader applied it from there.
  const auto history = History(next, "tool");
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history.at(2), "2.0");
  // The killed node, back, applies it from the log too.
  nodes_[doomed]->Start();
  ExpectConverged(next, "tool");
  EXPECT_EQ(History(doomed, "tool"), history);
}

TEST_F(GroupTest, ALeaderPausedPastItsLeaseNeverAppendsAgain) {
  const int leader = Leader();
  ASSERT_GE(leader, 0);
  RunResult push = Vms(All(), {"push", "tool", "1.0", dir_ / "src/tool/1.0"});
  ASSERT_EQ(push.exit_code, 0) << push.err;
  ASSERT_EQ(Vms(All(), {"live", "tool", "1.0"}).exit_code, 0);
  nodes_[leader]->Signal(SIGSTOP);
  const int next = Leader({leader});
  ASSERT_GE(next, 0) << "no node took over from the paused leader";
  push = Vms(nodes_[next]->address(), {"push", "tool", "2.0", dir_ / "src/tool/2.0"});
  ASSERT_EQ(push.exit_code, 0) << push.err;
  ASSERT_EQ(Vms(nodes_[next]->address(), {"live", "tool", "2.0"}).exit_code, 0);

  // Awake, the old leader still believes nothing new: a write sent to it
  // alone is refused there and done at the new leader, never by it.
  nodes_[leader]->Signal(SIGCONT);
  RunResult rollback = Vms(nodes_[leader]->address(), {"rollback", "tool"});
  EXPECT_EQ(rollback.exit_code, 0) << rollback.err;
  const auto history = History(next, "tool");
  ASSERT_EQ(history.size(), 3u);
  EXPECT_EQ(history.at(3), "1.0");
  ExpectConverged(next, "tool");
  EXPECT_EQ(nodes_[leader]->log().find("leads the group, its log applied"),
            nodes_[leader]->log().rfind("leads the group, its log applied"))
      << "the paused node led again";
}

TEST_F(GroupTest, AStandbyWhoseDataDirIsLostRefillsFromTheOthers) {
  const int leader = Leader();
  ASSERT_GE(leader, 0);
  for (const char* v : {"1.0", "2.0"}) {
    RunResult push = Vms(All(), {"push", "tool", v, dir_ / ("src/tool/" + std::string(v))});
    ASSERT_EQ(push.exit_code, 0) << push.err;
  }
  ASSERT_EQ(Vms(All(), {"live", "tool", "2.0"}).exit_code, 0);
  ExpectConverged(leader, "tool");
  // Once every node applied them, the leader trims the log: a node with an
  // empty store can no longer start from entry 1.
  json group;
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        RunResult r = Vms(All(), {"masters", "--json"});
        if (r.exit_code != 0) return false;
        group = json::parse(r.out);
        return group["log_oldest"].get<uint64_t>() > 1;
      },
      std::chrono::seconds(40)))
      << group.dump(2);

  const int lost = (leader + 1) % kNodes;
  nodes_[lost]->Kill9();
  const std::string data = nodes_[lost]->data_dir();
  const std::string key = testing::ReadFileOrDie(data + "/master.key");
  const std::string pub = testing::ReadFileOrDie(data + "/master.pub");
  fs::remove_all(data);
  // The operator puts the group's key back (README), nothing else.
  testing::WriteFile(data + "/master.key", key, 0600);
  testing::WriteFile(data + "/master.pub", pub);
  nodes_[lost]->Start();
  ExpectConverged(leader, "tool");
  RunResult versions = Vms(nodes_[lost]->address(), {"versions", "tool", "--json"});
  ASSERT_EQ(versions.exit_code, 0) << versions.err;
  EXPECT_EQ(json::parse(versions.out).size(), 2u);
  EXPECT_NE(nodes_[lost]->log().find("took a copy of"), std::string::npos) << nodes_[lost]->log();

  // It holds every object: it can lead, and a push of 2.0's content as 3.0
  // then sends nothing.
  for (int i = 0; i < kNodes; ++i) {
    if (i != lost) nodes_[i]->Kill9();
  }
  ASSERT_EQ(Leader(), lost);
  nodes_[leader]->Start();  // two nodes: a release needs two copies
  RunResult again =
      Vms(nodes_[lost]->address(), {"push", "tool", "3.0", dir_ / "src/tool/2.0", "--json"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(json::parse(again.out)["objects_sent"], 0) << again.out;
}

TEST_F(GroupTest, ARetiredVersionsObjectsGoFromEveryNode) {
  const int leader = Leader();
  ASSERT_GE(leader, 0);
  // 1.0 has a big file of its own (chunks kept as files in every store).
  testing::WriteFile(dir_ / "src/tool/1.0/big", testing::RandomBytes(12 << 20, 7));
  testing::WriteToolVersion(dir_, "tool", "3.0");
  for (const char* v : {"1.0", "2.0", "3.0"}) {
    RunResult push = Vms(All(), {"push", "tool", v, dir_ / ("src/tool/" + std::string(v))});
    ASSERT_EQ(push.exit_code, 0) << push.err;
    ASSERT_EQ(Vms(All(), {"live", "tool", v}).exit_code, 0);
  }
  ASSERT_EQ(Vms(All(), {"policy", "tool", "--keep-last", "1"}).exit_code, 0);
  ExpectConverged(leader, "tool");
  std::vector<uint64_t> before(kNodes);
  for (int i = 0; i < kNodes; ++i) {
    const std::string large = nodes_[i]->data_dir() + "/db/large";
    ASSERT_TRUE(testing::WaitFor([&] { return testing::DiskBytes(large) >= (12u << 20); }))
        << Name(i) << " never held 1.0's big file";
    before[i] = testing::DiskBytes(large);
  }
  RunResult retire = Vms(All(), {"retire", "tool", "1.0"});
  ASSERT_EQ(retire.exit_code, 0) << retire.err;
  // Every node gives the big file's chunks back, not only the leader.
  for (int i = 0; i < kNodes; ++i) {
    const std::string large = nodes_[i]->data_dir() + "/db/large";
    EXPECT_TRUE(testing::WaitFor([&] {
      return testing::DiskBytes(large) + (10u << 20) <= before[i];
    })) << Name(i)
        << " kept 1.0's objects: " << nodes_[i]->log();
  }
}

TEST_F(GroupTest, WithoutAnEtcdQuorumWritesAreRefusedAndReadsGoOn) {
  const int leader = Leader();
  ASSERT_GE(leader, 0);
  RunResult push = Vms(All(), {"push", "tool", "1.0", dir_ / "src/tool/1.0"});
  ASSERT_EQ(push.exit_code, 0) << push.err;
  // One member down: no pause.
  etcd_.Kill(0);
  RunResult live = Vms(All(), {"live", "tool", "1.0"});
  EXPECT_EQ(live.exit_code, 0) << live.err;
  ExpectConverged(leader, "tool");
  // Two down: no quorum. Writes fail saying so; reads are served.
  etcd_.Kill(1);
  live = Vms(All(), {"push", "tool", "2.0", dir_ / "src/tool/2.0"});
  EXPECT_NE(live.exit_code, 0);
  EXPECT_FALSE(live.err.empty());
  for (int i = 0; i < kNodes; ++i) {
    RunResult versions = Vms(nodes_[i]->address(), {"versions", "tool", "--json"});
    EXPECT_EQ(versions.exit_code, 0) << versions.err;
    EXPECT_EQ(History(i, "tool").size(), 1u) << Name(i);
  }
  // A quorum again: writes go on, and nothing refused was written.
  etcd_.Start(0);
  etcd_.Start(1);
  const int again = Leader();
  ASSERT_GE(again, 0);
  EXPECT_TRUE(testing::WaitFor([&] { return Vms(All(), {"live", "tool", "1.0"}).exit_code == 0; }));
  RunResult versions = Vms(nodes_[again]->address(), {"versions", "tool", "--json"});
  ASSERT_EQ(versions.exit_code, 0) << versions.err;
  EXPECT_EQ(json::parse(versions.out).size(), 1u) << "a refused push was written";
}

// Jepsen-style: clients flip and roll back two apps while a nemesis kills
// and pauses master nodes and kills etcd members (bounded in count and
// time); every operation is recorded (invoked, completed, ok / failed /
// unknown) and the history is checked against the log the group ends with
// (tests/testing/history.h). VMS_CHAOS_SECONDS sets the length (ops/test
// --chaos runs the long form); CI runs a short one.
TEST_F(GroupTest, ChaosLosesNoAcknowledgedFlipAndEveryCopyConverges) {
  const char* env = std::getenv("VMS_CHAOS_SECONDS");
  const int seconds = env != nullptr ? std::atoi(env) : 25;
  ASSERT_GE(Leader(), 0);
  const std::vector<std::string> apps = {"tool", "other"};
  const std::vector<std::string> versions = {"1.0", "2.0"};
  for (const std::string& app : apps) {
    for (const std::string& v : versions) {
      RunResult push = Vms(All(), {"push", app, v, dir_ / ("src/tool/" + v)});
      ASSERT_EQ(push.exit_code, 0) << push.err;
    }
  }
  // A replica follows the group throughout.
  testing::ReplicaProcess replica("site1", All(), dir_ / "n0/master.pub", dir_ / "replica");

  using Clock = std::chrono::steady_clock;
  const Clock::time_point start = Clock::now();
  auto now_ms = [&] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
  };
  std::mutex ops_mu;
  std::vector<testing::FlipOp> ops;
  std::atomic<bool> stop{false};
  const std::string all = All();
  auto client = [&](int id) {
    std::mt19937 rng(id);
    for (int i = 0; i < 100000 && !stop; ++i) {
      testing::FlipOp op{.client = id, .app = apps[rng() % apps.size()]};
      op.rollback = rng() % 3 == 0;
      if (!op.rollback) op.version = versions[rng() % versions.size()];
      std::vector<std::string> args = {"live", op.app, op.version};
      if (op.rollback) args = {"rollback", op.app};
      op.invoked_ms = now_ms();
      RunResult r = Vms(all, args);
      op.completed_ms = now_ms();
      const std::string said = r.out + r.err;
      // "tool live 2.0 (live_seq 7, was 1.0)": the record the answer names.
      const size_t at = said.find("(live_seq ");
      const uint64_t live_seq =
          at == std::string::npos ? 0 : std::strtoull(said.c_str() + at + 10, nullptr, 10);
      if (r.exit_code == 0 && said.find("nothing changed") != std::string::npos) {
        op.outcome = testing::FlipOp::Outcome::kFailed;  // answered: nothing written
      } else if (r.exit_code == 0 && live_seq > 0) {
        op.outcome = testing::FlipOp::Outcome::kOk;
        op.live_seq = live_seq;
      } else if (said.find("nothing was written") != std::string::npos ||
                 said.find("nothing to roll back") != std::string::npos ||
                 said.find("no live version") != std::string::npos) {
        op.outcome = testing::FlipOp::Outcome::kFailed;
      } else {
        op.outcome = testing::FlipOp::Outcome::kUnknown;  // a lost answer may hide a write
      }
      std::lock_guard<std::mutex> lock(ops_mu);
      ops.push_back(std::move(op));
    }
  };
  std::vector<std::thread> clients;
  for (int i = 0; i < 3; ++i) clients.emplace_back(client, i);

  // The nemesis, on the test's own thread (the daemons it restarts live as
  // long as the thread that started them).
  std::mt19937 rng(42);
  int events = 0;
  const int max_events = 1000;
  while (now_ms() < seconds * 1000 && events < max_events) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    const int node = static_cast<int>(rng() % kNodes);
    switch (rng() % 3) {
      case 0:  // kill -9 a node, back a second later
        nodes_[node]->Kill9();
        std::this_thread::sleep_for(std::chrono::seconds(1));
        nodes_[node]->Start();
        break;
      case 1:  // pause a node past its lease
        nodes_[node]->Signal(SIGSTOP);
        std::this_thread::sleep_for(std::chrono::seconds(3));
        nodes_[node]->Signal(SIGCONT);
        break;
      default:  // an etcd member down, then back
        etcd_.Kill(node);
        std::this_thread::sleep_for(std::chrono::seconds(2));
        etcd_.Start(node);
        break;
    }
    ++events;
  }
  stop = true;
  for (std::thread& t : clients) t.join();

  const int leader = Leader();
  ASSERT_GE(leader, 0) << "no leader after the chaos";
  int ok = 0, unknown = 0;
  for (const testing::FlipOp& op : ops) {
    ok += op.outcome == testing::FlipOp::Outcome::kOk;
    unknown += op.outcome == testing::FlipOp::Outcome::kUnknown;
  }
  std::map<std::string, std::vector<testing::LogRecord>> log;
  for (const std::string& app : apps) {
    RunResult r = Vms(nodes_[leader]->address(), {"history", app, "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    for (const json& h : json::parse(r.out)) {
      log[app].push_back(
          {.live_seq = h["seq"], .version = h["version"], .rollback = h["kind"] == "rollback"});
    }
    std::reverse(log[app].begin(), log[app].end());  // history is newest first
    ExpectConverged(leader, app);
    // The replica converges to the log's final state.
    const auto want = History(leader, app);
    EXPECT_TRUE(testing::WaitFor([&] {
      RunResult h = Vms(replica.address(), {"history", app, "--json"});
      if (h.exit_code != 0) return false;
      std::map<uint64_t, std::string> got;
      for (const json& e : json::parse(h.out)) got[e["seq"]] = e["version"];
      return got == want;
    })) << "the replica never reached the log's final state of "
        << app;
    RunResult verify =
        Vms(nodes_[leader]->address(), {"verify", app, "--trust", dir_ / "n0/master.pub"});
    EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  }
  const auto problems = testing::CheckHistory(ops, log);
  for (const std::string& p : problems) ADD_FAILURE() << p;
  std::cout << "chaos: " << seconds << " s, " << events << " nemesis events, " << ops.size()
            << " flips (" << ok << " acknowledged, " << unknown << " unknown), " << problems.size()
            << " problems\n";
  EXPECT_GT(ok, 0);
}

}  // namespace
}  // namespace vms
