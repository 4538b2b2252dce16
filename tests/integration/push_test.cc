// Starts a real vms-master on port 0 and drives it with the real vms command.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/http.h"
#include "tests/testing/testing.h"

namespace vms {
namespace {

using nlohmann::json;
using testing::MasterProcess;
using testing::RunResult;
using testing::TempDir;
using testing::WriteFile;

class PushTest : public ::testing::Test {
 protected:
  // Its metrics say how far an upload got (MasterKilledMidPush...).
  PushTest() : master_(dir_ / "master", {"--metrics-listen", "127.0.0.1:0"}) {}

  RunResult Vms(std::vector<std::string> args, testing::RunOptions options = {}) {
    args.insert(args.begin(), {testing::CliBin(), "--master", master_.address()});
    options.env.emplace("HOME", dir_ / "home");
    return testing::Run(args, options);
  }

  json PushJson(const std::string& app, const std::string& version, const std::string& src,
                std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"push", app, version, src, "--json"};
    args.insert(args.end(), extra.begin(), extra.end());
    RunResult r = Vms(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.exit_code == 0 ? json::parse(r.out) : json();
  }

  // 100 files of 64 KiB of random bytes (incompressible), plus some structure.
  void MakeTree(const std::string& root) {
    for (int i = 0; i < 100; ++i) {
      WriteFile(root + "/lib/mod" + std::to_string(i / 10) + "/f" + std::to_string(i),
                testing::RandomBytes(64 << 10, i));
    }
    WriteFile(root + "/bin/run", "#!/bin/sh\necho hi\n", 0755);
    std::filesystem::create_symlink("bin/run", root + "/run");
  }

  TempDir dir_;
  MasterProcess master_;
};

TEST_F(PushTest, PushThenListAndVersions) {
  MakeTree(dir_ / "src");
  json p = PushJson("demo", "1.0", dir_ / "src", {"-m", "first cut"});
  EXPECT_TRUE(p["created"]);
  EXPECT_EQ(p["files"], 101);
  EXPECT_EQ(p["objects_sent"], p["objects"]);

  RunResult list = Vms({"list", "--json"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  json apps = json::parse(list.out);
  ASSERT_EQ(apps.size(), 1u);
  EXPECT_EQ(apps[0]["app"], "demo");
  EXPECT_EQ(apps[0]["versions"], 1);

  RunResult versions = Vms({"versions", "demo", "--json"});
  ASSERT_EQ(versions.exit_code, 0) << versions.err;
  json v = json::parse(versions.out);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0]["version"], "1.0");
  EXPECT_EQ(v[0]["files"], 101);
  EXPECT_EQ(v[0]["bytes"], p["bytes"]);
  EXPECT_EQ(v[0]["root"], p["root"]);
  EXPECT_EQ(v[0]["message"], "first cut");

  RunResult table = Vms({"versions", "demo"});
  EXPECT_NE(table.out.find("VERSION"), std::string::npos);
  EXPECT_NE(table.out.find("first cut"), std::string::npos);
}

TEST_F(PushTest, IdenticalRepushChangesNothing) {
  MakeTree(dir_ / "src");
  json first = PushJson("demo", "1.0", dir_ / "src");
  RunResult again = Vms({"push", "demo", "1.0", dir_ / "src"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.out.find("unchanged"), std::string::npos) << again.out;
  json j = PushJson("demo", "1.0", dir_ / "src", {"--no-stat-cache"});
  EXPECT_FALSE(j["created"]);
  EXPECT_EQ(j["objects_sent"], 0);
  EXPECT_EQ(j["root"], first["root"]);
  EXPECT_EQ(json::parse(Vms({"versions", "demo", "--json"}).out).size(), 1u);
}

TEST_F(PushTest, SameVersionWithOtherContentIsRefused) {
  MakeTree(dir_ / "src");
  PushJson("demo", "1.0", dir_ / "src");
  WriteFile(dir_ / "src/bin/run", "#!/bin/sh\necho changed\n", 0755);
  RunResult r = Vms({"push", "demo", "1.0", dir_ / "src"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("already exists with different content"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("new version"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST_F(PushTest, OnePercentChangedSendsAboutOnePercent) {
  MakeTree(dir_ / "src");
  json first = PushJson("demo", "1.0", dir_ / "src");
  std::filesystem::copy(
      dir_ / "src", dir_ / "src2",
      std::filesystem::copy_options::recursive | std::filesystem::copy_options::copy_symlinks);
  WriteFile(dir_ / "src2/lib/mod3/f37", testing::RandomBytes(64 << 10, 999));
  json second = PushJson("demo", "1.1", dir_ / "src2");
  EXPECT_TRUE(second["created"]);
  // The changed file, and the trees on its path: lib/mod3, lib, root.
  EXPECT_EQ(second["objects_sent"], 4);
  uint64_t sent = second["bytes_sent"], total = second["bytes"];
  EXPECT_LT(sent, total / 50) << "sent " << sent << " of " << total;
  EXPECT_GE(sent, 64u << 10);
}

TEST_F(PushTest, RefusesSpecialFilesNamingThePath) {
  WriteFile(dir_ / "src/ok", "fine");
  ASSERT_EQ(mkfifo((dir_ / "src/queue").c_str(), 0644), 0);
  RunResult r = Vms({"push", "demo", "1.0", dir_ / "src"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(dir_ / "src/queue"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("FIFO"), std::string::npos) << r.err;
  EXPECT_EQ(Vms({"versions", "demo"}).exit_code, 1);
}

TEST_F(PushTest, RefusesUnreadableFiles) {
  WriteFile(dir_ / "src/ok", "fine");
  WriteFile(dir_ / "src/private", "secret", 0000);
  testing::RunOptions as_user;
  if (geteuid() == 0) as_user.uid = 65534;  // root reads anything: push as nobody
  std::filesystem::create_directories(dir_ / "home");
  chmod((dir_ / "home").c_str(), 0777);
  RunResult r = Vms({"push", "demo", "1.0", dir_ / "src"}, as_user);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.err.find(dir_ / "src/private"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("chmod o+r"), std::string::npos) << r.err;
}

TEST_F(PushTest, RootOnlyFileIsRefusedNotMadeWorldReadable) {
  // Pushed as root, a 0600 file was stored and shown as 0444 on every host.
  WriteFile(dir_ / "src/bin/tool", "#!/bin/sh\n", 0755);
  WriteFile(dir_ / "src/etc/server.key", "secret", 0600);
  RunResult r = Vms({"push", "demo", "1.0", dir_ / "src"});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.err.find(dir_ / "src/etc/server.key"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("mode 0600"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("chmod o+r"), std::string::npos) << r.err;
  EXPECT_EQ(Vms({"versions", "demo"}).exit_code, 1) << "nothing was released";
  chmod((dir_ / "src/etc/server.key").c_str(), 0644);
  EXPECT_EQ(Vms({"push", "demo", "1.0", dir_ / "src", "--no-wait"}).exit_code, 0);
}

TEST_F(PushTest, MasterRefusesAVersionBeyondItsShapeLimits) {
  // A client that skips its own checks still meets the master's.
  MasterProcess strict(dir_ / "strict", {"--max-dir-entries", "5", "--max-files", "8"});
  auto push = [&](const std::string& version, const std::string& src) {
    return testing::Run({testing::CliBin(), "--master", strict.address(), "push", "app", version,
                         src, "--no-wait", "--max-dir-entries", "100", "--max-files", "100"},
                        {.env = {{"HOME", dir_ / "home"}}});
  };
  for (int i = 0; i < 6; ++i) WriteFile(dir_ / ("wide/f" + std::to_string(i)), "x");
  RunResult wide = push("1.0", dir_ / "wide");
  EXPECT_EQ(wide.exit_code, 1);
  EXPECT_NE(wide.err.find("has 6 entries; this master allows at most 5"), std::string::npos)
      << wide.err;
  EXPECT_NE(wide.err.find("vms-master --max-dir-entries"), std::string::npos) << wide.err;

  for (int i = 0; i < 9; ++i)
    WriteFile(dir_ / ("many/d" + std::to_string(i % 3) + "/f" + std::to_string(i)), "x");
  RunResult many = push("2.0", dir_ / "many");
  EXPECT_EQ(many.exit_code, 1);
  EXPECT_NE(many.err.find("it has 9 files; this master allows at most 8"), std::string::npos)
      << many.err;
}

TEST_F(PushTest, RefusesBadNamesAndDirs) {
  WriteFile(dir_ / "src/ok", "fine");
  RunResult bad_app = Vms({"push", "My_App", "1.0", dir_ / "src"});
  EXPECT_EQ(bad_app.exit_code, 1);
  EXPECT_NE(bad_app.err.find("invalid app name \"My_App\""), std::string::npos) << bad_app.err;
  EXPECT_NE(bad_app.err.find("a-z, 0-9"), std::string::npos) << bad_app.err;

  RunResult bad_version = Vms({"push", "app", "1/0", dir_ / "src"});
  EXPECT_NE(bad_version.err.find("invalid version name"), std::string::npos) << bad_version.err;

  RunResult missing = Vms({"push", "app", "1.0", dir_ / "nowhere"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find(dir_ / "nowhere"), std::string::npos) << missing.err;

  RunResult file = Vms({"push", "app", "1.0", dir_ / "src/ok"});
  EXPECT_NE(file.err.find("not a directory"), std::string::npos) << file.err;
}

TEST_F(PushTest, DirDefaultsToDevRoot) {
  WriteFile(dir_ / "dev/tool/2.0/bin/tool", "#!/bin/sh\n", 0755);
  RunResult r = Vms({"push", "tool", "2.0"}, {.env = {{"VMS_DEV_ROOT", dir_ / "dev"}}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("pushed tool 2.0: 1 files"), std::string::npos) << r.out;
}

TEST_F(PushTest, MasterDownIsAClearError) {
  WriteFile(dir_ / "src/ok", "fine");
  std::string address = master_.address();
  master_.Kill9();
  RunResult r =
      testing::Run({testing::CliBin(), "--master", address, "push", "app", "1", dir_ / "src"},
                   {.env = {{"HOME", dir_ / "home"}}});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("cannot reach the server"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(address), std::string::npos) << r.err;
}

TEST_F(PushTest, SigtermShutsDownCleanlyAndDataSurvives) {
  MakeTree(dir_ / "src");
  json p = PushJson("demo", "1.0", dir_ / "src");
  EXPECT_EQ(master_.Terminate(), 0) << master_.log();
  EXPECT_NE(master_.log().find("stopped"), std::string::npos);
  master_.Start();
  json v = json::parse(Vms({"versions", "demo", "--json"}).out);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0]["root"], p["root"]);
}

// kill -9 of the master in the middle of a push: no trace of the version,
// and the same push completes after a restart, sending only what is missing.
TEST_F(PushTest, MasterKilledMidPushLeavesNoPartialVersion) {
  for (int i = 0; i < 40; ++i) {
    WriteFile(dir_ / "src/data/f" + std::to_string(i), testing::RandomBytes(256 << 10, 100 + i));
  }
  // 10 MiB at 2 MiB/s: killed once the master has stored some objects (its
  // metrics say how many), long before the push could end.
  testing::Process push({testing::CliBin(), "--master", master_.address(), "push", "big", "1.0",
                         dir_ / "src", "--limit-rate", "2M", "--no-stat-cache"},
                        dir_ / "push.log");
  const std::string metrics = testing::WaitForAddressFile(dir_ / "master/metrics-address");
  ASSERT_TRUE(testing::WaitFor([&] {
    std::optional<double> stored = testing::MetricValue(testing::HttpGet(metrics, "/metrics").body,
                                                        "vms_master_objects_received_total");
    return stored.value_or(0) >= 2;
  })) << testing::ReadFileOrDie(dir_ / "push.log");
  ASSERT_TRUE(push.running()) << testing::ReadFileOrDie(dir_ / "push.log");
  master_.Kill9();
  EXPECT_EQ(push.Wait(), 1);
  std::string push_log = testing::ReadFileOrDie(dir_ / "push.log");
  EXPECT_NE(push_log.find("vms: "), std::string::npos) << push_log;

  master_.Start();
  RunResult versions = Vms({"versions", "big"});
  EXPECT_EQ(versions.exit_code, 1);
  EXPECT_NE(versions.err.find("no app named big"), std::string::npos) << versions.err;
  EXPECT_EQ(json::parse(Vms({"list", "--json"}).out).size(), 0u);

  json done = PushJson("big", "1.0", dir_ / "src", {"--no-stat-cache"});
  EXPECT_TRUE(done["created"]);
  EXPECT_GT(done["objects_sent"].get<int>(), 0);
  EXPECT_LT(done["objects_sent"].get<int>(), done["objects"].get<int>())
      << "objects stored before the kill are not sent again";
  EXPECT_EQ(json::parse(Vms({"versions", "big", "--json"}).out)[0]["files"], 40);
}

TEST_F(PushTest, HelpDocumentsEveryFlag) {
  RunResult help = testing::Run({testing::CliBin(), "push", "--help"});
  for (const char* flag : {"--message", "--stat-cache", "--no-stat-cache", "--limit-rate", "--jobs",
                           "--zstd-level", "--json"}) {
    EXPECT_NE(help.out.find(flag), std::string::npos) << flag;
  }
  RunResult master_help = testing::Run({testing::MasterBin(), "--help"});
  for (const char* flag : {"--data", "--listen", "--heartbeat-ms", "--log-file", "--log-level",
                           "--config", "--version"}) {
    EXPECT_NE(master_help.out.find(flag), std::string::npos) << flag;
  }
}

}  // namespace
}  // namespace vms
