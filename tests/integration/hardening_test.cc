// The faults an attack run found on real processes, one test each, named
// after the fault: what any caller, careless or hostile, could do to vms.
#include <signal.h>

#include <filesystem>
#include <limits>
#include <thread>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "proto/wire.h"
#include "tests/testing/testing.h"
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

class HardeningTest : public ::testing::Test {
 protected:
  HardeningTest() : master_(dir_ / "master") {}

  RunResult Vms(std::vector<std::string> args, const std::string& server = "") {
    args.insert(args.begin(),
                {testing::CliBin(), "--master", server.empty() ? master_.address() : server});
    return testing::Run(args, {.env = {{"HOME", dir_ / "home"}}});
  }
  void Push(const std::string& app, const std::string& version, bool wait = false) {
    std::string src = dir_ / ("src/" + app + "/" + version);
    WriteFile(src + "/bin/tool", "#!/bin/sh\necho " + version + "\n", 0755);
    std::vector<std::string> args = {"push", app, version, src};
    if (!wait) args.push_back("--no-wait");
    RunResult r = Vms(args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  TempDir dir_;
  MasterProcess master_;
};

TEST_F(HardeningTest, SecondDaemonOnAPortInUseRefusesToStart) {
  // A second master, with its own data, on the first one's address.
  RunResult second = testing::Run(
      {testing::MasterBin(), "--data", dir_ / "master2", "--listen", master_.address()},
      {.timeout = std::chrono::seconds(20)});
  EXPECT_EQ(second.exit_code, 1) << second.err;
  EXPECT_NE(second.err.find("already in use"), std::string::npos) << second.err;
  EXPECT_EQ(second.err.find("started"), std::string::npos) << second.err;

  // A replica is refused the same way.
  RunResult replica =
      testing::Run({testing::ReplicaBin(), "--site", "ny", "--upstream", master_.address(),
                    "--trust", master_.pub(), "--data", dir_ / "ny", "--listen", master_.address()},
                   {.timeout = std::chrono::seconds(20)});
  EXPECT_EQ(replica.exit_code, 1) << replica.err;
  EXPECT_NE(replica.err.find("already in use"), std::string::npos) << replica.err;

  // Every push lands on the one master that holds the port.
  for (int i = 0; i < 6; ++i) Push("app", "1." + std::to_string(i));
  RunResult versions = Vms({"versions", "app", "--json"});
  ASSERT_EQ(versions.exit_code, 0) << versions.err;
  EXPECT_EQ(json::parse(versions.out).size(), 6u);
}

// Reads one Follow or Watch stream for `window` and returns what came.
struct Streamed {
  std::vector<uint64_t> events;  // seqs, in order
  int heartbeats = 0;
};

Streamed ReadStream(grpc::ClientReaderInterface<FollowMessage>* reader) {
  Streamed out;
  FollowMessage msg;
  while (reader->Read(&msg)) {
    if (msg.has_event()) out.events.push_back(msg.event().seq());
    if (msg.has_heartbeat()) ++out.heartbeats;
    // The bug streamed event 1 forever: stop counting long before that.
    if (out.events.size() + out.heartbeats > 1000) break;
  }
  return out;
}

Streamed FollowFor(Read::Stub* stub, uint64_t from, bool watch, std::chrono::milliseconds window) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + window);
  if (watch) {
    WatchRequest req;
    req.set_from_seq(from);
    return ReadStream(stub->Watch(&ctx, req).get());
  }
  FollowRequest req;
  req.set_from_seq(from);
  return ReadStream(stub->Follow(&ctx, req).get());
}

TEST_F(HardeningTest, FollowAndWatchFromBeyondTheHeadWaitInsteadOfReplayingForever) {
  auto ny = std::make_unique<ReplicaProcess>("ny", master_.address(), master_.pub(), dir_ / "ny");
  Push("app", "1.0", /*wait=*/false);
  Push("app", "2.0", /*wait=*/false);
  ASSERT_EQ(Vms({"live", "app", "1.0", "--wait", "--timeout", "30"}).exit_code, 0);
  const uint64_t head = 3;
  const uint64_t max = std::numeric_limits<uint64_t>::max();
  constexpr auto kWindow = std::chrono::milliseconds(1200);  // heartbeats every 200 ms

  // Every stream at once: each reads for the same window.
  struct Case {
    std::string where;
    bool watch;
    uint64_t from;
    Streamed got;
  };
  std::vector<Case> cases;
  for (const std::string& where : {master_.address(), ny->address()}) {
    for (bool watch : {false, true}) {
      for (uint64_t from : {uint64_t{0}, head, head + 1, max})
        cases.push_back({where, watch, from});
    }
  }
  std::vector<std::thread> readers;
  for (Case& c : cases) {
    readers.emplace_back([&c, kWindow] {
      auto stub = Read::NewStub(MakeChannel(c.where));
      c.got = FollowFor(stub.get(), c.from, c.watch, kWindow);
    });
  }
  for (std::thread& t : readers) t.join();
  for (const Case& c : cases) {
    SCOPED_TRACE(::testing::Message() << (c.where == master_.address() ? "master " : "replica ")
                                      << (c.watch ? "Watch" : "Follow") << " from " << c.from);
    if (c.from == 0) {
      // Follow: the whole log. Watch: the current live record of each app.
      const std::vector<uint64_t> want =
          c.watch ? std::vector<uint64_t>{head} : std::vector<uint64_t>{1, 2, 3};
      EXPECT_EQ(c.got.events, want);
      continue;
    }
    EXPECT_TRUE(c.got.events.empty());
    EXPECT_GE(c.got.heartbeats, 1);
    EXPECT_LE(c.got.heartbeats, 20) << "an idle stream sends heartbeats, not a flood";
  }

  // From beyond the head, a stream waits for the log to get there: from
  // head+1 it delivers head+2, and nothing before it.
  auto stub = Read::NewStub(MakeChannel(master_.address()));
  Streamed later;
  std::thread reader(
      [&] { later = FollowFor(stub.get(), head + 1, false, std::chrono::seconds(5)); });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  Push("app", "3.0");
  Push("app", "4.0");
  reader.join();
  EXPECT_EQ(later.events, (std::vector<uint64_t>{head + 2}));
}

}  // namespace
}  // namespace vms
