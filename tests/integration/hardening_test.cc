// The faults an attack run found on real processes, one test each, named
// after the fault: what any caller, careless or hostile, could do to vms.
#include <signal.h>

#include <filesystem>
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
  RunResult replica = testing::Run({testing::ReplicaBin(), "--site", "ny", "--upstream",
                                    master_.address(), "--trust", master_.pub(), "--data",
                                    dir_ / "ny", "--listen", master_.address()},
                                   {.timeout = std::chrono::seconds(20)});
  EXPECT_EQ(replica.exit_code, 1) << replica.err;
  EXPECT_NE(replica.err.find("already in use"), std::string::npos) << replica.err;

  // Every push lands on the one master that holds the port.
  for (int i = 0; i < 6; ++i) Push("app", "1." + std::to_string(i));
  RunResult versions = Vms({"versions", "app", "--json"});
  ASSERT_EQ(versions.exit_code, 0) << versions.err;
  EXPECT_EQ(json::parse(versions.out).size(), 6u);
}

}  // namespace
}  // namespace vms
