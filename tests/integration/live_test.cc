// vms live / rollback / history / verify against a real vms-master, and the
// event log a replica follows.
#include <atomic>
#include <thread>

#include "core/envelope.h"
#include "gtest/gtest.h"
#include "net/channel.h"
#include "net/rpc.h"
#include "nlohmann/json.hpp"
#include "tests/testing/testing.h"
#include "tests/testing/tls.h"
#include "vms.grpc.pb.h"

namespace vms {
namespace {

using nlohmann::json;
using testing::MasterProcess;
using testing::RunResult;
using testing::TempDir;
using testing::WriteFile;

class LiveCliTest : public ::testing::Test {
 protected:
  LiveCliTest() : master_(dir_ / "master") {}

  RunResult Vms(std::vector<std::string> args) {
    args.insert(args.begin(), {testing::CliBin(), "--master", master_.address()});
    return testing::Run(args, {.env = {{"HOME", dir_ / "home"}}});
  }
  void Push(const std::string& version) {
    WriteFile(dir_ / ("src/" + version + "/bin/tool"), "#!/bin/sh\necho " + version + "\n", 0755);
    RunResult r = Vms({"push", "tool", version, dir_ / ("src/" + version)});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  json History() {
    RunResult r = Vms({"history", "tool", "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return json::parse(r.out);
  }

  TempDir dir_;
  MasterProcess master_;
};

TEST_F(LiveCliTest, LiveRollbackHistory) {
  Push("1.0");
  Push("2.0");
  RunResult live = Vms({"live", "tool", "1.0"});
  ASSERT_EQ(live.exit_code, 0) << live.err;
  EXPECT_NE(live.out.find("tool is live: 1.0 (live_seq 1)"), std::string::npos) << live.out;
  RunResult again = Vms({"live", "tool", "1.0"});
  EXPECT_EQ(again.exit_code, 0);
  EXPECT_NE(again.out.find("already live"), std::string::npos) << again.out;
  ASSERT_EQ(Vms({"live", "tool", "2.0"}).exit_code, 0);
  RunResult back = Vms({"rollback", "tool"});
  ASSERT_EQ(back.exit_code, 0) << back.err;
  EXPECT_NE(back.out.find("rolled back to 1.0 (live_seq 3, was 2.0)"), std::string::npos)
      << back.out;

  json h = History();
  ASSERT_EQ(h.size(), 3u);
  EXPECT_EQ(h[0]["seq"], 3);  // newest first
  EXPECT_EQ(h[0]["version"], "1.0");
  EXPECT_EQ(h[0]["previous"], "2.0");
  EXPECT_EQ(h[0]["kind"], "rollback");
  EXPECT_EQ(h[2]["kind"], "live");
  EXPECT_FALSE(h[0]["by"].get<std::string>().empty());

  json apps = json::parse(Vms({"list", "--json"}).out);
  EXPECT_EQ(apps[0]["live"], "1.0");
  json versions = json::parse(Vms({"versions", "tool", "--json"}).out);
  EXPECT_TRUE(versions[0]["live"]);
  EXPECT_FALSE(versions[1]["live"]);
  EXPECT_NE(Vms({"versions", "tool"}).out.find("*  1.0"), std::string::npos);
}

TEST_F(LiveCliTest, RefusalsSayWhatToDo) {
  Push("1.0");
  RunResult missing = Vms({"live", "tool", "3.0"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("tool has no version 3.0; its versions are: 1.0"), std::string::npos)
      << missing.err;
  RunResult nothing = Vms({"rollback", "tool"});
  EXPECT_EQ(nothing.exit_code, 1);
  EXPECT_NE(nothing.err.find("no live version yet"), std::string::npos) << nothing.err;
  ASSERT_EQ(Vms({"live", "tool", "1.0"}).exit_code, 0);
  nothing = Vms({"rollback", "tool"});
  EXPECT_NE(nothing.err.find("nothing to roll back to"), std::string::npos) << nothing.err;
  RunResult bad = Vms({"live", "Tool", "1.0"});
  EXPECT_NE(bad.err.find("invalid app name"), std::string::npos) << bad.err;
}

TEST_F(LiveCliTest, VerifyChecksSignaturesAgainstTheTrustedKey) {
  Push("1.0");
  Push("2.0");
  ASSERT_EQ(Vms({"live", "tool", "1.0"}).exit_code, 0);
  ASSERT_EQ(Vms({"live", "tool", "2.0"}).exit_code, 0);
  ASSERT_EQ(Vms({"rollback", "tool"}).exit_code, 0);
  RunResult ok = Vms({"verify", "tool", "--trust", master_.data_dir() + "/master.pub"});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_NE(ok.out.find("2 releases, 3 live records (live_seq 1..3)"), std::string::npos) << ok.out;
  EXPECT_NE(ok.out.find("OK"), std::string::npos);

  // Another master's key: every record must be refused.
  MasterProcess other(dir_ / "other");
  RunResult bad = Vms({"verify", "tool", "--trust", other.data_dir() + "/master.pub"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("not signed by the trusted key"), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find("verify FAILED: 5 problem(s)"), std::string::npos) << bad.err;

  RunResult no_key = Vms({"verify", "tool"});
  EXPECT_NE(no_key.err.find("--trust"), std::string::npos) << no_key.err;
}

// kill -9 while flips are in flight: afterwards the history is a clean
// prefix (seq 1..n, each previous = the prior version) holding every flip
// the client was told succeeded, and the app's live version is its last.
TEST_F(LiveCliTest, MasterKilledDuringFlipsLeavesACleanHistory) {
  Push("a");
  Push("b");
  std::atomic<int> acknowledged{0};
  std::atomic<bool> stop{false};
  std::string address = master_.address();
  std::thread flipper([&] {
    for (int i = 0; !stop; ++i) {
      RunResult r =
          testing::Run({testing::CliBin(), "--master", address, "live", "tool", i % 2 ? "b" : "a"});
      if (r.exit_code != 0) break;
      ++acknowledged;
    }
  });
  ASSERT_TRUE(testing::WaitFor([&] { return acknowledged >= 20; }));
  master_.Kill9();
  stop = true;
  flipper.join();

  master_.Start();
  json h = History();
  ASSERT_GE(h.size(), static_cast<size_t>(acknowledged.load())) << "an acknowledged flip was lost";
  EXPECT_LE(h.size(), static_cast<size_t>(acknowledged.load()) + 1);
  for (size_t i = 0; i < h.size(); ++i) {
    EXPECT_EQ(h[i]["seq"], h.size() - i);
    std::string expected_previous = i + 1 < h.size() ? h[i + 1]["version"] : json("");
    EXPECT_EQ(h[i]["previous"], expected_previous) << "at seq " << h[i]["seq"];
  }
  json apps = json::parse(Vms({"list", "--json"}).out);
  EXPECT_EQ(apps[0]["live"], h[0]["version"]);
  EXPECT_EQ(apps[0]["live_seq"], h.size());
  RunResult verify = Vms({"verify", "tool", "--trust", master_.data_dir() + "/master.pub"});
  EXPECT_EQ(verify.exit_code, 0) << verify.err;
  // And the master goes on from there.
  ASSERT_EQ(Vms({"rollback", "tool"}).exit_code, 0);
  EXPECT_EQ(History()[0]["seq"], h.size() + 1);
}

class FollowTest : public LiveCliTest {
 protected:
  std::unique_ptr<Read::Stub> Stub() {
    return Read::NewStub(testing::TestChannel(master_.address()));
  }
};

TEST_F(FollowTest, DeliversEventsInOrderResumesAndSendsHeartbeats) {
  Push("1.0");
  Push("2.0");
  ASSERT_EQ(Vms({"live", "tool", "1.0"}).exit_code, 0);

  auto stub = Stub();
  {
    grpc::ClientContext ctx;
    FollowRequest req;
    req.set_from_seq(0);
    auto stream = stub->Follow(&ctx, req);
    FollowMessage msg;
    std::vector<Event::Type> types;
    for (uint64_t seq = 1; seq <= 3; ++seq) {
      ASSERT_TRUE(stream->Read(&msg));
      if (msg.has_heartbeat()) {
        --seq;
        continue;
      }
      EXPECT_EQ(msg.event().seq(), seq);
      types.push_back(msg.event().type());
    }
    EXPECT_EQ(types, (std::vector<Event::Type>{Event::RELEASE_ADDED, Event::RELEASE_ADDED,
                                               Event::LIVE_CHANGED}));
    // Quiet master: heartbeats carry the head.
    ASSERT_TRUE(stream->Read(&msg));
    ASSERT_TRUE(msg.has_heartbeat());
    EXPECT_EQ(msg.heartbeat().head_seq(), 3u);
    // A new flip arrives on the open stream.
    ASSERT_EQ(Vms({"live", "tool", "2.0"}).exit_code, 0);
    do {
      ASSERT_TRUE(stream->Read(&msg));
    } while (msg.has_heartbeat());
    EXPECT_EQ(msg.event().seq(), 4u);
    EXPECT_EQ(msg.event().version(), "2.0");
    ctx.TryCancel();
  }
  {
    // Resume exactly after what a follower already has.
    grpc::ClientContext ctx;
    FollowRequest req;
    req.set_from_seq(2);
    auto stream = stub->Follow(&ctx, req);
    FollowMessage msg;
    do {
      ASSERT_TRUE(stream->Read(&msg));
    } while (msg.has_heartbeat());
    EXPECT_EQ(msg.event().seq(), 3u);
    ctx.TryCancel();
  }
}

TEST_F(FollowTest, AFollowStreamNoticesAHungMasterByKeepalive) {
  // A killed master's connections are reset by the kernel at once, which
  // proves nothing; a stopped (hung) one keeps them open and says nothing.
  // The channel's keepalive (net/channel.cc: 10 s, then 5 s for the answer)
  // must end the stream; without it the read waits for the deadline.
  auto stub = Stub();
  grpc::ClientContext ctx;
  ctx.set_deadline(DeadlineAfter(std::chrono::seconds(60)));
  auto stream = stub->Follow(&ctx, FollowRequest());
  FollowMessage msg;
  ASSERT_TRUE(stream->Read(&msg));
  EXPECT_TRUE(msg.has_heartbeat());
  testing::Stopped hung(&master_);
  while (stream->Read(&msg)) {
  }
  // UNAVAILABLE is the keepalive's end; the deadline's would be
  // DEADLINE_EXCEEDED (no clock read here: a loaded machine is slow).
  grpc::Status s = stream->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
}

TEST_F(FollowTest, SigtermWithOpenFollowersStopsCleanly) {
  auto stub = Stub();
  grpc::ClientContext ctx;
  auto stream = stub->Follow(&ctx, FollowRequest());
  FollowMessage msg;
  ASSERT_TRUE(stream->Read(&msg));
  // Terminate() fails the test if the master does not exit within its own
  // (scaled) bound; no clock is read here: a loaded machine is slow.
  EXPECT_EQ(master_.Terminate(), 0) << master_.log();
  EXPECT_NE(master_.log().find("stopped"), std::string::npos) << master_.log();
  // The open stream was ended by the master, not left hanging.
  while (stream->Read(&msg)) {
  }
  EXPECT_FALSE(stream->Finish().ok());
}

}  // namespace
}  // namespace vms
