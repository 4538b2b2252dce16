// Real mounts: vms-master, vms-replica and vms-fuse processes, with the mount
// under the test's temp dir; every mount is undone even when a test fails.
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <thread>

#include "fusefs/handover.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/testing.h"
#include "tests/testing/trees.h"

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

class MountTest : public ::testing::Test {
 protected:
  MountTest() : master_(dir_ / "master") {
    ny_ = std::make_unique<ReplicaProcess>("ny", master_.address(), master_.pub(), dir_ / "ny");
    WaitForSites(1);
  }

  // Until the master knows `n` sites (pushes wait only for known sites).
  void WaitForSites(size_t n) {
    ASSERT_TRUE(WaitFor([&] {
      RunResult r = Vms({"sites", "--json"});
      return r.exit_code == 0 && json::parse(r.out).size() == n;
    }));
  }

  RunResult Vms(std::vector<std::string> args) {
    args.insert(args.begin(), {testing::CliBin(), "--master", master_.address()});
    return testing::Run(args, {.env = {{"HOME", dir_ / "home"}}});
  }
  std::vector<std::string> FuseArgs(const std::string& replicas,
                                    const std::vector<std::string>& extra = {},
                                    const std::string& fetch_timeout_ms = "2000") {
    std::vector<std::string> args = {"--replicas",         replicas,        "--cache",
                                     dir_ / "cache",       "--trust",       master_.pub(),
                                     "--fetch-timeout-ms", fetch_timeout_ms};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }
  std::unique_ptr<FuseProcess> Mount(const std::string& replicas,
                                     const std::vector<std::string>& extra = {},
                                     const std::string& fetch_timeout_ms = "2000") {
    return std::make_unique<FuseProcess>(mnt(), FuseArgs(replicas, extra, fetch_timeout_ms),
                                         dir_ / "fuse.log");
  }
  std::string mnt() const { return dir_ / "dist"; }
  void PushLive(const std::string& app, const std::string& version, const std::string& src) {
    RunResult push = Vms({"push", app, version, src});
    ASSERT_EQ(push.exit_code, 0) << push.err;
    RunResult live = Vms({"live", app, version, "--wait"});
    ASSERT_EQ(live.exit_code, 0) << live.err;
  }
  // Waits until /dist/APP points at VERSION (the host saw the flip).
  bool WaitLive(const std::string& app, const std::string& version) {
    return WaitFor([&] {
      std::error_code ec;
      return fs::read_symlink(mnt() + "/" + app, ec).string() == app + "@" + version;
    });
  }
  RunResult Sh(const std::string& script) { return testing::Run({"/bin/sh", "-c", script}); }

  TempDir dir_;
  MasterProcess master_;
  std::unique_ptr<ReplicaProcess> ny_;
};

TEST_F(MountTest, RunsAScriptAndACompiledProgramFromDist) {
  WriteFile(dir_ / "src/bin/hello.sh", "#!/bin/sh\necho \"hello from $0\"\n", 0755);
  WriteFile(dir_ / "hello.c",
            "#include <stdio.h>\nint main(){puts(\"compiled hello\");return 0;}\n");
  fs::create_directories(dir_ / "src/bin");
  RunResult cc =
      testing::Run({"/usr/bin/cc", "-O1", "-o", dir_ / "src/bin/hello", dir_ / "hello.c"});
  ASSERT_EQ(cc.exit_code, 0) << cc.err;
  PushLive("hello", "1.0", dir_ / "src");
  auto fuse = Mount(ny_->address());
  ASSERT_TRUE(WaitLive("hello", "1.0")) << fuse->log();

  RunResult script = Sh(mnt() + "/hello/bin/hello.sh");
  EXPECT_EQ(script.exit_code, 0) << script.err;
  EXPECT_EQ(script.out, "hello from " + mnt() + "/hello/bin/hello.sh\n");
  RunResult program = testing::Run({mnt() + "/hello/bin/hello"});
  EXPECT_EQ(program.exit_code, 0) << program.err;
  EXPECT_EQ(program.out, "compiled hello\n");

  RunResult ls = Sh("ls " + mnt());
  EXPECT_EQ(ls.out, "hello\n");
  struct stat st;
  ASSERT_EQ(stat((mnt() + "/hello/bin/hello").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0555u);
}

TEST_F(MountTest, PublishedTreeIsByteForByteTheSource) {
  for (int i = 0; i < 50; ++i) {
    WriteFile(dir_ / ("src/lib/m" + std::to_string(i % 5) + "/f" + std::to_string(i)),
              testing::RandomBytes(1000 + i * 997, i));
  }
  WriteFile(dir_ / "src/lib/big.so", testing::RandomBytes(20 << 20, 77));  // chunked
  WriteFile(dir_ / "src/bin/tool", "#!/bin/sh\n", 0755);
  WriteFile(dir_ / "src/empty", "");
  fs::create_directories(dir_ / "src/share/empty-dir");
  fs::create_symlink("bin/tool", dir_ / "src/tool");
  fs::create_symlink("/etc/passwd", dir_ / "src/abs-link");
  PushLive("app", "1.0", dir_ / "src");
  auto fuse = Mount(ny_->address());
  EXPECT_EQ(testing::DiffTrees(dir_ / "src", mnt() + "/app@1.0"), "");
  ASSERT_TRUE(WaitLive("app", "1.0"));
  EXPECT_EQ(testing::DiffTrees(dir_ / "src", mnt() + "/app"), "");
}

TEST_F(MountTest, FlipKeepsOpenFilesAndWorkingDirectoriesOnTheirVersion) {
  WriteFile(dir_ / "v1/data", "version one\n");
  WriteFile(dir_ / "v2/data", "version two\n");
  PushLive("app", "1", dir_ / "v1");
  RunResult push2 = Vms({"push", "app", "2", dir_ / "v2"});
  ASSERT_EQ(push2.exit_code, 0) << push2.err;
  auto fuse = Mount(ny_->address());
  ASSERT_TRUE(WaitLive("app", "1"));

  int fd = open((mnt() + "/app/data").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  int dir_fd = open((mnt() + "/app").c_str(), O_RDONLY | O_DIRECTORY);  // like a cwd
  ASSERT_GE(dir_fd, 0);

  ASSERT_EQ(Vms({"live", "app", "2", "--wait"}).exit_code, 0);
  ASSERT_TRUE(WaitLive("app", "2")) << "a new lookup sees the flip";
  EXPECT_EQ(testing::ReadFileOrDie(mnt() + "/app/data"), "version two\n");

  char buf[64] = {};
  ASSERT_GT(pread(fd, buf, sizeof buf - 1, 0), 0);
  EXPECT_STREQ(buf, "version one\n") << "an open file keeps its version";
  int in_dir = openat(dir_fd, "data", O_RDONLY);
  ASSERT_GE(in_dir, 0);
  std::memset(buf, 0, sizeof buf);
  ASSERT_GT(pread(in_dir, buf, sizeof buf - 1, 0), 0);
  EXPECT_STREQ(buf, "version one\n") << "so does a directory resolved before the flip";
  close(in_dir);
  close(fd);
  close(dir_fd);

  ASSERT_EQ(Vms({"rollback", "app", "--wait"}).exit_code, 0);
  ASSERT_TRUE(WaitLive("app", "1"));
}

TEST_F(MountTest, ReadOnlyAndExtendedAttributes) {
  WriteFile(dir_ / "src/bin/tool", "#!/bin/sh\n", 0755);
  PushLive("app", "1.0", dir_ / "src");
  auto fuse = Mount(ny_->address());
  ASSERT_TRUE(WaitLive("app", "1.0"));
  std::string tool = mnt() + "/app/bin/tool";
  EXPECT_LT(open(tool.c_str(), O_WRONLY), 0);
  EXPECT_EQ(errno, EROFS);
  EXPECT_NE(mkdir((mnt() + "/app/new").c_str(), 0755), 0);
  EXPECT_EQ(errno, EROFS);
  EXPECT_NE(unlink(tool.c_str()), 0);
  EXPECT_EQ(errno, EROFS);

  char value[256] = {};
  ssize_t n = getxattr(tool.c_str(), "user.vms.version", value, sizeof value);
  ASSERT_GT(n, 0) << strerror(errno);
  EXPECT_EQ(std::string(value, n), "1.0");
  n = getxattr(tool.c_str(), "user.vms.hash", value, sizeof value);
  EXPECT_EQ(std::string(value, n), Sha256("#!/bin/sh\n").Hex());
  RunResult getfattr = testing::Run({"/usr/bin/getfattr", "-d", tool});
  EXPECT_NE(getfattr.out.find("user.vms.app=\"app\""), std::string::npos) << getfattr.out;

  // The live pointer, through the mount: on /dist/APP/ (the symlink itself
  // cannot carry user.* attributes on Linux).
  RunResult live = testing::Run({"/usr/bin/getfattr", "-d", mnt() + "/app/"});
  EXPECT_NE(live.out.find("user.vms.live_seq=\"1\""), std::string::npos) << live.out;
  EXPECT_NE(live.out.find("user.vms.version=\"1.0\""), std::string::npos) << live.out;
  EXPECT_NE(live.out.find("user.vms.live_since=\"20"), std::string::npos) << live.out;
  WriteFile(dir_ / "src/bin/tool", "#!/bin/sh\necho 2\n", 0755);
  PushLive("app", "2.0", dir_ / "src");
  ASSERT_TRUE(WaitLive("app", "2.0"));
  live = testing::Run({"/usr/bin/getfattr", "-d", mnt() + "/app/"});
  EXPECT_NE(live.out.find("user.vms.live_seq=\"2\""), std::string::npos) << live.out;
  RunResult old = testing::Run({"/usr/bin/getfattr", "-d", mnt() + "/app@1.0/"});
  EXPECT_EQ(old.out.find("live_seq"), std::string::npos) << old.out;
  EXPECT_NE(old.out.find("user.vms.version=\"1.0\""), std::string::npos) << old.out;
  // /dist itself: the cache.
  RunResult root = testing::Run({"/usr/bin/getfattr", "-d", mnt()});
  EXPECT_NE(root.out.find("user.vms.cache_max_bytes="), std::string::npos) << root.out;
}

TEST_F(MountTest, DfShowsTheHostCacheNotZeros) {
  // statfs once answered zeros: shutil.disk_usage('/dist') had total 0, and
  // a monitoring check dividing by it broke.
  WriteFile(dir_ / "src/data", testing::RandomBytes(1 << 20, 5));
  PushLive("app", "1.0", dir_ / "src");
  auto fuse = Mount(ny_->address(), {"--cache-size", "256M"});
  ASSERT_TRUE(WaitLive("app", "1.0"));
  ASSERT_EQ(testing::ReadFileOrDie(mnt() + "/app/data").size(), 1u << 20);
  struct statvfs sv;
  ASSERT_EQ(statvfs(mnt().c_str(), &sv), 0) << strerror(errno);
  EXPECT_EQ(static_cast<uint64_t>(sv.f_blocks) * sv.f_frsize, uint64_t{256} << 20);
  const uint64_t used = (sv.f_blocks - sv.f_bfree) * sv.f_frsize;
  EXPECT_GE(used, uint64_t{1} << 20) << "the file read is in the cache";
  EXPECT_EQ(sv.f_bavail, sv.f_bfree);
  EXPECT_GT(sv.f_files, 0u);
  EXPECT_GT(sv.f_ffree, 0u);
  EXPECT_LT(sv.f_ffree, sv.f_files);
  RunResult df = Sh("df -B1M " + mnt() + " | tail -1");
  EXPECT_NE(df.out.find(" 256 "), std::string::npos) << df.out;
}

// The bound on vms-fuse's memory for a huge listing: 300 MB, or what the
// sanitizers' shadow memory and redzones make of it.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr uint64_t kRssBound = uint64_t{1200} << 20;
#else
constexpr uint64_t kRssBound = uint64_t{300} << 20;
#endif

// Resident memory of process `pid`, in bytes (VmRSS).
uint64_t ResidentBytes(pid_t pid) {
  std::string status = testing::ReadFileOrDie("/proc/" + std::to_string(pid) + "/status");
  size_t at = status.find("VmRSS:");
  return at == std::string::npos ? 0 : std::stoull(status.substr(at + 6)) * 1024;
}

// Lists `dir` and stats every entry, as `ls -l` does; returns the count.
size_t ListAndStat(const std::string& dir) {
  size_t n = 0;
  for (const fs::directory_entry& e : fs::directory_iterator(dir)) {
    struct stat st;
    if (lstat(e.path().c_str(), &st) == 0) ++n;
  }
  return n;
}

TEST_F(MountTest, HugeDirectoryListsInLinearTimeAndBoundedMemory) {
  // 200,000 entries in one directory once took `ls` 6.5 minutes on every
  // host and vms-fuse 1.17 GB: each readdirplus looked every entry up.
  constexpr size_t kEntries = 200000;
  fs::create_directories(dir_ / "src/wide");
  for (size_t i = 0; i < kEntries; ++i) {
    int fd = open((dir_ / ("src/wide/f" + std::to_string(i))).c_str(), O_CREAT | O_WRONLY, 0644);
    ASSERT_GE(fd, 0);
    close(fd);
  }
  PushLive("app", "1.0", dir_ / "src");
  auto fuse = Mount(ny_->address());
  ASSERT_TRUE(WaitLive("app", "1.0"));

  auto timed = [](const std::string& dir, size_t* n) {
    auto start = std::chrono::steady_clock::now();
    *n = ListAndStat(dir);
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  size_t native_n = 0, cold_n = 0, warm_n = 0;
  double native = timed(dir_ / "src/wide", &native_n);
  double cold = timed(mnt() + "/app/wide", &cold_n);
  double warm = timed(mnt() + "/app/wide", &warm_n);
  EXPECT_EQ(native_n, kEntries);
  EXPECT_EQ(cold_n, kEntries);
  EXPECT_EQ(warm_n, kEntries);
  const uint64_t rss = ResidentBytes(fuse->pid());
  std::cout << "ls -l of " << kEntries << " entries: native " << native << " s, /dist cold " << cold
            << " s, warm " << warm << " s; vms-fuse resident " << (rss >> 20) << " MiB\n";
  EXPECT_LT(rss, kRssBound) << "vms-fuse's memory stays bounded";
}

TEST_F(MountTest, FailsOverBetweenReplicas) {
  auto ldn =
      std::make_unique<ReplicaProcess>("ldn", master_.address(), master_.pub(), dir_ / "ldn");
  WaitForSites(2);
  WriteFile(dir_ / "src/small", "small");
  // Chunked files: no readahead or sibling prefetch brings them, so what the
  // test reads after the kill is fetched after it, from the other replica.
  std::vector<std::string> big;
  for (int i = 0; i < 2; ++i) {
    big.push_back(testing::RandomBytes(9 << 20, 20 + i));
    WriteFile(dir_ / ("src/d" + std::to_string(i) + "/big"), big.back());
  }
  PushLive("app", "1.0", dir_ / "src");
  auto fuse = Mount(ny_->address() + "," + ldn->address());
  ASSERT_TRUE(WaitLive("app", "1.0"));
  EXPECT_EQ(testing::ReadFileOrDie(mnt() + "/app/small"), "small");
  ny_->Kill9();
  for (int i = 0; i < 2; ++i) {
    EXPECT_TRUE(testing::ReadFileOrDie(mnt() + "/app/d" + std::to_string(i) + "/big") == big[i])
        << fuse->log();
  }
  EXPECT_NE(fuse->log().find("asking replica=" + ldn->address()), std::string::npos)
      << "the objects came by failover\n"
      << fuse->log();
  // Flips still arrive, through ldn.
  WriteFile(dir_ / "src/small", "changed");
  ASSERT_EQ(Vms({"sites", "remove", "ny", "--force"}).exit_code, 0);
  PushLive("app", "2.0", dir_ / "src");
  ASSERT_TRUE(WaitLive("app", "2.0")) << fuse->log();
  EXPECT_EQ(testing::ReadFileOrDie(mnt() + "/app/small"), "changed");
}

TEST_F(MountTest, AHostDiscoversItsSiteAndLearnsTheMapAgain) {
  // ny serves no declared network; ldn serves this host's loopback.
  auto ldn = std::make_unique<ReplicaProcess>("ldn", master_.address(), master_.pub(), dir_ / "ldn",
                                              std::vector<std::string>{"--serves", "127.0.0.0/8"});
  WaitForSites(2);
  // What a site says it serves is only a claim: an admin sets it.
  ASSERT_EQ(Vms({"sites", "serve", "ldn", "127.0.0.0/8"}).exit_code, 0);
  WriteFile(dir_ / "src/f", "one");
  PushLive("app", "1.0", dir_ / "src");
  auto fuse = std::make_unique<FuseProcess>(
      mnt(),
      std::vector<std::string>{"--discover", master_.address(), "--cache", dir_ / "cache",
                               "--trust", master_.pub(), "--fetch-timeout-ms", "2000"},
      dir_ / "fuse.log");
  ASSERT_TRUE(WaitLive("app", "1.0")) << fuse->log();
  EXPECT_NE(
      fuse->log().find("discovered site=ldn replicas=" + ldn->address() + "," + ny_->address()),
      std::string::npos)
      << "its own site first, the other as a fallback:\n"
      << fuse->log();
  EXPECT_NE(fuse->log().find("watching replica=" + ldn->address()), std::string::npos);
  EXPECT_EQ(testing::ReadFileOrDie(mnt() + "/app/f"), "one");

  // A nearer site appears (it serves this very address: a longer prefix).
  // The map changes, heartbeats carry its new version down, and the host
  // moves to sf without a restart.
  auto sf = std::make_unique<ReplicaProcess>("sf", master_.address(), master_.pub(), dir_ / "sf",
                                             std::vector<std::string>{"--serves", "127.0.0.1/32"});
  WaitForSites(3);
  ASSERT_EQ(Vms({"sites", "serve", "sf", "127.0.0.1/32"}).exit_code, 0);
  ASSERT_TRUE(WaitFor([&] {
    return fuse->log().find("site=sf replicas=" + sf->address()) != std::string::npos;
  })) << fuse->log();
  ASSERT_TRUE(WaitFor([&] {
    return fuse->log().find("watching replica=" + sf->address()) != std::string::npos;
  })) << fuse->log();
  WriteFile(dir_ / "src/f", "two");
  PushLive("app", "2.0", dir_ / "src");
  ASSERT_TRUE(WaitLive("app", "2.0")) << fuse->log();
  EXPECT_EQ(testing::ReadFileOrDie(mnt() + "/app/f"), "two");

  // Restarted while the only seed (the master) is down: the map kept in the
  // cache still says where its replicas are.
  ASSERT_EQ(fuse->Terminate(), 0);
  master_.Kill9();
  fuse->Start();
  ASSERT_TRUE(WaitLive("app", "2.0")) << fuse->log();
  EXPECT_NE(fuse->log().find("using the one kept in"), std::string::npos) << fuse->log();
  EXPECT_EQ(testing::ReadFileOrDie(mnt() + "/app/f"), "two");
}

TEST_F(MountTest, AnUnknownVersionOnAHungReplicaFailsWithinTheFetchTimeout) {
  // Asking a replica for an app's releases once took a fixed 30 s, whatever
  // --fetch-timeout-ms (2 s here) said: a lookup hung that long.
  WriteFile(dir_ / "src/f", "f");
  PushLive("app", "1.0", dir_ / "src");
  auto fuse = Mount(ny_->address());
  ASSERT_TRUE(WaitLive("app", "1.0"));
  testing::Stopped hung(ny_.get());
  auto start = std::chrono::steady_clock::now();
  struct stat st;
  int rc = stat((mnt() + "/other@1.0").c_str(), &st);
  int err = errno;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(15));
  EXPECT_NE(rc, 0);
  EXPECT_EQ(err, EIO) << "no replica answered: not an answer that it does not exist";
}

TEST_F(MountTest, WithNoReplicaCachedContentServesAndTheRestFailsFast) {
  WriteFile(dir_ / "src/a/read", "was read");
  // Large enough to be chunked, which no prefetch brings along.
  WriteFile(dir_ / "src/b/unread", testing::RandomBytes(9 << 20, 3));
  PushLive("app", "1.0", dir_ / "src");
  auto fuse = Mount(ny_->address());
  ASSERT_TRUE(WaitLive("app", "1.0"));
  EXPECT_EQ(testing::ReadFileOrDie(mnt() + "/app/a/read"), "was read");
  ny_->Kill9();
  EXPECT_EQ(testing::ReadFileOrDie(mnt() + "/app/a/read"), "was read");
  auto start = std::chrono::steady_clock::now();
  // The kernel may open without asking; the read is where it fails.
  int fd = open((mnt() + "/app/b/unread").c_str(), O_RDONLY);
  int err = errno;
  if (fd >= 0) {
    char buf[16];
    EXPECT_LT(read(fd, buf, sizeof buf), 0);
    err = errno;
    close(fd);
  }
  EXPECT_EQ(err, EIO);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10))
      << "bounded wait, no hang";

  // After a restart with no replica at all, the cache still serves.
  ASSERT_EQ(fuse->Terminate(), 0);
  fuse->Start();
  ASSERT_TRUE(WaitLive("app", "1.0")) << fuse->log();
  EXPECT_EQ(testing::ReadFileOrDie(mnt() + "/app/a/read"), "was read");
}

TEST_F(MountTest, SmallCacheEvictsAndStillServesEverything) {
  for (int i = 0; i < 40; ++i) {
    WriteFile(dir_ / ("src/f" + std::to_string(i)), testing::RandomBytes(256 << 10, 500 + i));
  }
  PushLive("app", "1.0", dir_ / "src");
  auto fuse = Mount(ny_->address(), {"--cache-size", "2M"});
  ASSERT_TRUE(WaitLive("app", "1.0"));
  auto xattr = [&](const std::string& path, const std::string& name) {
    char value[64] = {};
    ssize_t n = getxattr(path.c_str(), name.c_str(), value, sizeof value - 1);
    return n < 0 ? std::string("error: ") + strerror(errno) : std::string(value, n);
  };
  auto cached_bytes = [&] { return std::stoull(xattr(mnt(), "user.vms.cache_bytes")); };
  EXPECT_EQ(xattr(mnt(), "user.vms.cache_max_bytes"), std::to_string(2 << 20));
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 40; ++i) {
      EXPECT_EQ(testing::ReadFileOrDie(mnt() + "/app/f" + std::to_string(i)),
                testing::RandomBytes(256 << 10, 500 + i));
      // Files read are let go of (asynchronously) once nothing has them open.
      EXPECT_TRUE(WaitFor([&] { return cached_bytes() <= (2u << 20) + (256u << 10); },
                          std::chrono::seconds(5)))
          << "bounded: " << cached_bytes();
    }
  }
  // An open file being read is never evicted, whatever passes through the cache.
  int fd = open((mnt() + "/app/f0").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  char first;
  ASSERT_EQ(pread(fd, &first, 1, 0), 1);
  for (int i = 1; i < 40; ++i) testing::ReadFileOrDie(mnt() + "/app/f" + std::to_string(i));
  EXPECT_EQ(xattr(mnt() + "/app/f0", "user.vms.cached"), "yes")
      << "the open file's object is still cached";
  std::string head(4096, '\0');
  ASSERT_EQ(pread(fd, head.data(), head.size(), 200000), 4096);
  EXPECT_EQ(head, testing::RandomBytes(256 << 10, 500).substr(200000, 4096));
  close(fd);
}

TEST_F(MountTest, DaemonModeReturnsOnceMountedAndKeepsWorking) {
  WriteFile(dir_ / "v1/data", "one");
  WriteFile(dir_ / "v2/data", "two");
  PushLive("app", "1", dir_ / "v1");
  fs::create_directories(mnt());
  std::vector<std::string> args = {testing::FuseBin(),  "--replicas", ny_->address(), "--cache",
                                   dir_ / "cache",      "--trust",    master_.pub(),  "--log-file",
                                   dir_ / "daemon.log", mnt()};
  RunResult start = testing::Run(args, {.timeout = std::chrono::seconds(30)});
  // The daemon is not our child: whatever happens below, unmount (which
  // ends it) and make sure no process serving this mountpoint is left.
  struct Cleanup {
    std::string mnt;
    std::string log;
    ~Cleanup() {
      testing::ForceUnmount(mnt);
      testing::KillProcessesMentioning(mnt);
      std::string text = fs::exists(log) ? testing::ReadFileOrDie(log) : "";
      if (std::string report = testing::SanitizerReport(text); !report.empty()) {
        ADD_FAILURE() << "the daemonized vms-fuse reported:\n" << report;
      }
    }
  } cleanup{mnt(), dir_ / "daemon.log"};
  ASSERT_EQ(start.exit_code, 0) << start.err;
  ASSERT_TRUE(testing::IsVmsMount(mnt())) << "mounted by the time the command returns";
  ASSERT_TRUE(WaitLive("app", "1"));
  EXPECT_EQ(testing::ReadFileOrDie(mnt() + "/app/data"), "one");
  PushLive("app", "2", dir_ / "v2");
  ASSERT_TRUE(WaitLive("app", "2")) << "the background daemon still hears flips";
  EXPECT_EQ(testing::ReadFileOrDie(mnt() + "/app/data"), "two");
  testing::ForceUnmount(mnt());
  EXPECT_FALSE(testing::IsVmsMount(mnt()));

  args.back() = dir_ / "no-such-dir";
  RunResult fail = testing::Run(args, {.timeout = std::chrono::seconds(30)});
  EXPECT_EQ(fail.exit_code, 1) << "a failed mount is reported by the parent";
}

TEST_F(MountTest, KillNineThenStartingAgainRecoversTheMount) {
  WriteFile(dir_ / "src/data", "survives");
  PushLive("app", "1.0", dir_ / "src");
  auto fuse = Mount(ny_->address());
  ASSERT_TRUE(WaitLive("app", "1.0"));
  fuse->Kill9();
  EXPECT_TRUE(testing::IsVmsMount(mnt())) << "the dead mount is still there";
  fuse->Start();  // no manual unmount
  ASSERT_TRUE(WaitLive("app", "1.0")) << fuse->log();
  RunResult cat = Sh("cat " + mnt() + "/app/data");
  EXPECT_EQ(cat.out, "survives") << cat.err << fuse->log();
  EXPECT_EQ(fuse->Terminate(), 0);
  EXPECT_FALSE(testing::IsVmsMount(mnt())) << "SIGTERM unmounts";
}

// A program that uses /dist as a long-running service does: a working
// directory, a file held open, a file mapped, modules imported before and
// after; it checks every byte against the source and fails on any error
// (ENOTCONN, EIO, a wrong byte). It counts its rounds in CTL/progress and
// ends when CTL/stop appears.
constexpr char kReader[] = R"(import importlib, mmap, os, random, sys, time
app, src, ctl = sys.argv[1:4]
sys.dont_write_bytecode = True
os.chdir(os.path.join(app, "lib"))
sys.path.insert(0, os.getcwd())
big_src = open(os.path.join(src, "data/big"), "rb").read()
mapped_src = open(os.path.join(src, "data/mapped"), "rb").read()
big = open("../data/big", "rb", buffering=0)
mapped_fd = os.open("../data/mapped", os.O_RDONLY)
mapped = mmap.mmap(mapped_fd, 0, prot=mmap.PROT_READ)
for i in range(20):
    assert importlib.import_module("mod%d" % i).VALUE == i
rng = random.Random(1)
rounds = 0
deadline = time.time() + 300
while not os.path.exists(os.path.join(ctl, "stop")):
    if time.time() > deadline:
        sys.exit("no stop within 300 s")
    # Dropped from the page cache, so every round asks the daemon again.
    os.posix_fadvise(big.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
    os.posix_fadvise(mapped_fd, 0, 0, os.POSIX_FADV_DONTNEED)
    at = rng.randrange(0, len(big_src) - 65536)
    big.seek(at)
    if big.read(65536) != big_src[at:at + 65536]:
        sys.exit("wrong bytes at %d of data/big" % at)
    at = rng.randrange(0, len(mapped_src) - 4096)
    if mapped[at:at + 4096] != mapped_src[at:at + 4096]:
        sys.exit("wrong bytes at %d of the mapping" % at)
    if "mod0.py" not in os.listdir("."):
        sys.exit("the working directory lost its entries")
    os.stat("../data/big")
    rounds += 1
    with open(os.path.join(ctl, "progress.tmp"), "w") as p:
        p.write(str(rounds))
    os.replace(os.path.join(ctl, "progress.tmp"), os.path.join(ctl, "progress"))
    time.sleep(0.002)
for i in range(20, 40):
    assert importlib.import_module("mod%d" % i).VALUE == i
print("rounds", rounds)
)";

// vms-fuse replaced (a planned upgrade, a reload) or killed and started
// again, under programs that use the mount: they never notice.
class TakeoverTest : public MountTest {
 protected:
  // Readers must never see EIO, even from a slow (sanitized) build: the
  // fetch timeout is not what these tests are about.
  static constexpr char kSlowFetchMs[] = "60000";

  TakeoverTest() {
    WriteFile(dir_ / "src/data/big", testing::RandomBytes(8 << 20, 1));
    WriteFile(dir_ / "src/data/mapped", testing::RandomBytes(1 << 20, 2));
    WriteFile(dir_ / "src/data/cold", testing::RandomBytes(4 << 20, 3));
    for (int i = 0; i < 40; ++i) {
      WriteFile(dir_ / ("src/lib/mod" + std::to_string(i) + ".py"),
                "VALUE = " + std::to_string(i) + "\n");
    }
    WriteFile(dir_ / "reader.py", kReader);
    fs::create_directories(dir_ / "ctl");
  }
  void StartReader() {
    reader_ = std::make_unique<testing::Process>(
        std::vector<std::string>{"/usr/bin/python3", dir_ / "reader.py", mnt() + "/app",
                                 dir_ / "src", dir_ / "ctl"},
        dir_ / "reader.log");
  }
  int Rounds() {
    std::error_code ec;
    std::string text =
        fs::exists(dir_ / "ctl/progress", ec) ? testing::ReadFileOrDie(dir_ / "ctl/progress") : "0";
    return text.empty() ? 0 : std::stoi(text);
  }
  // Until the reader did `more` rounds beyond now (so it read through the
  // daemon serving now); false if it stopped.
  bool ReaderGoesOn(int more) {
    int target = Rounds() + more;
    return WaitFor([&] { return Rounds() >= target || !reader_->running(); },
                   std::chrono::seconds(60)) &&
           reader_->running();
  }
  // Stops the reader; its exit code and what it said.
  std::pair<int, std::string> StopReader() {
    WriteFile(dir_ / "ctl/stop", "");
    int code = reader_->Wait(std::chrono::seconds(60));
    return {code, testing::ReadFileOrDie(dir_ / "reader.log")};
  }
  std::unique_ptr<testing::Process> reader_;
};

TEST_F(TakeoverTest, APlannedUpgradeAndAReloadGoUnnoticed) {
  PushLive("app", "1.0", dir_ / "src");
  auto fuse = Mount(ny_->address(), {}, kSlowFetchMs);
  ASSERT_TRUE(WaitLive("app", "1.0"));
  StartReader();
  ASSERT_TRUE(ReaderGoesOn(20)) << testing::ReadFileOrDie(dir_ / "reader.log");
  pid_t old = fuse->pid();
  EXPECT_EQ(fuse->Upgrade(), 0) << "the old one hands over and exits cleanly\n" << fuse->log();
  EXPECT_NE(fuse->pid(), old);
  ASSERT_TRUE(ReaderGoesOn(20)) << testing::ReadFileOrDie(dir_ / "reader.log") << fuse->log();
  pid_t same = fuse->pid();
  fuse->Reload();
  EXPECT_EQ(fuse->pid(), same) << "a reload keeps the process (systemd's main pid)";
  ASSERT_TRUE(ReaderGoesOn(20)) << testing::ReadFileOrDie(dir_ / "reader.log") << fuse->log();
  // A flip after all that reaches the mount.
  WriteFile(dir_ / "v2/data", "two");
  PushLive("app", "2.0", dir_ / "v2");
  EXPECT_TRUE(WaitLive("app", "2.0")) << fuse->log();
  auto [code, said] = StopReader();
  EXPECT_EQ(code, 0) << said;
  EXPECT_NE(said.find("rounds"), std::string::npos) << said;
  EXPECT_EQ(fuse->Terminate(), 0);
  EXPECT_FALSE(testing::IsVmsMount(mnt())) << "SIGTERM still unmounts";
  EXPECT_TRUE(WaitFor([&] { return !fs::exists(dir_ / "cache/fuse.holder"); }))
      << "the holder goes with the mount";
}

TEST_F(TakeoverTest, KillNineThenRestartTenTimesUnderAReader) {
  PushLive("app", "1.0", dir_ / "src");
  auto fuse = Mount(ny_->address(), {}, kSlowFetchMs);
  ASSERT_TRUE(WaitLive("app", "1.0"));
  StartReader();
  ASSERT_TRUE(ReaderGoesOn(20)) << testing::ReadFileOrDie(dir_ / "reader.log");
  for (int i = 0; i < 10; ++i) {
    fuse->Kill9();
    fuse->Start();
    ASSERT_TRUE(ReaderGoesOn(5)) << "cycle " << i << "\n"
                                 << testing::ReadFileOrDie(dir_ / "reader.log") << fuse->log();
  }
  auto [code, said] = StopReader();
  EXPECT_EQ(code, 0) << said;
  EXPECT_EQ(fuse->Terminate(), 0);
}

// A crash takeover whose inode journal is empty (what a failed append
// leaves) or garbage cannot replay the kernel's INIT: it lets the mount go
// and mounts afresh, rather than serving a mount that answers EIO for ever.
TEST_F(TakeoverTest, AnEmptyOrGarbageInodeJournalMountsAfreshNotEio) {
  PushLive("app", "1.0", dir_ / "src");
  auto fuse = Mount(ny_->address(), {}, kSlowFetchMs);
  ASSERT_TRUE(WaitLive("app", "1.0"));
  const std::string expected = testing::RandomBytes(1 << 20, 2);
  for (const std::string& journal : {std::string(), testing::RandomBytes(4096, 9)}) {
    fuse->Kill9();
    WriteFile(dir_ / "cache/inodes", journal);
    fuse->Start();
    EXPECT_NE(fuse->log().find("detaching it and mounting again"), std::string::npos)
        << fuse->log();
    ASSERT_TRUE(WaitLive("app", "1.0")) << fuse->log();
    EXPECT_EQ(testing::ReadFileOrDie(mnt() + "/app/data/mapped"), expected) << fuse->log();
  }
  EXPECT_EQ(fuse->Terminate(), 0);
}

// A read the daemon was serving when it was killed (its fetch hung on a
// stopped replica) completes, with the right bytes, once another daemon
// takes over: the kernel resends it.
TEST_F(TakeoverTest, AReadInProgressDuringAKillCompletes) {
  PushLive("app", "1.0", dir_ / "src");
  auto fuse = Mount(ny_->address(), {}, kSlowFetchMs);
  ASSERT_TRUE(WaitLive("app", "1.0"));
  std::unique_ptr<testing::Process> cat;
  {
    testing::Stopped hung(ny_.get());
    cat = std::make_unique<testing::Process>(
        std::vector<std::string>{"/bin/cp", mnt() + "/app/data/cold", dir_ / "cold.copy"},
        dir_ / "cp.log");
    // Blocked in the kernel on the mount: in a FUSE request, or on a page
    // whose (asynchronous) FUSE read is pending, which cp may reach through
    // copy_file_range and splice with no fuse_ frame on its stack. Its
    // kernel stack says which; nothing else makes it sleep here.
    const std::string proc = "/proc/" + std::to_string(cat->pid());
    auto blocked = [&] {
      std::string stack = testing::ReadFileOrDie(proc + "/stack");
      std::string wchan = testing::ReadFileOrDie(proc + "/wchan");
      for (const char* mark : {"fuse", "folio_wait", "filemap_", "splice", "request_wait"}) {
        if (stack.find(mark) != std::string::npos || wchan.find(mark) != std::string::npos) {
          return true;
        }
      }
      return false;
    };
    ASSERT_TRUE(WaitFor(blocked)) << "cp never blocked on the mount: stack "
                                  << testing::ReadFileOrDie(proc + "/stack") << " wchan "
                                  << testing::ReadFileOrDie(proc + "/wchan") << "\n"
                                  << testing::ReadFileOrDie(dir_ / "cp.log");
    fuse->Kill9();
    fuse->Start();
    EXPECT_TRUE(cat->running()) << "the read waits for the new daemon, no ENOTCONN";
  }  // the replica answers again
  EXPECT_EQ(cat->Wait(std::chrono::seconds(60)), 0) << testing::ReadFileOrDie(dir_ / "cp.log");
  EXPECT_EQ(testing::ReadFileOrDie(dir_ / "cold.copy"), testing::RandomBytes(4 << 20, 3));
  EXPECT_EQ(fuse->Terminate(), 0);
}

// A second vms-fuse on a served mount is refused, naming the one serving;
// a mount nobody takes over within the grace is let go, and the next start
// detaches it and mounts afresh.
TEST_F(TakeoverTest, ASecondDaemonIsRefusedAndAnOrphanedMountIsLetGo) {
  PushLive("app", "1.0", dir_ / "src");
  auto fuse = Mount(ny_->address(), {"--holder-grace-s", "1"}, kSlowFetchMs);
  ASSERT_TRUE(WaitLive("app", "1.0"));
  std::vector<std::string> argv = {testing::FuseBin(), "-f"};
  for (const std::string& a : FuseArgs(ny_->address())) argv.push_back(a);
  argv.push_back(mnt());
  RunResult second = testing::Run(argv);
  EXPECT_NE(second.exit_code, 0);
  EXPECT_NE(second.err.find("is served by vms-fuse pid " + std::to_string(fuse->pid())),
            std::string::npos)
      << second.err;
  EXPECT_NE(second.err.find("--takeover"), std::string::npos) << second.err;
  EXPECT_EQ(testing::ReadFileOrDie(mnt() + "/app/data/big"), testing::RandomBytes(8 << 20, 1))
      << "the serving one goes on";

  fuse->Kill9();
  EXPECT_TRUE(WaitFor([&] {
    struct statvfs sv;
    return statvfs(mnt().c_str(), &sv) != 0 && errno == ENOTCONN;
  })) << "after the grace the holder lets go: the mount is dead, as with no holder";
  EXPECT_FALSE(fs::exists(dir_ / "cache/fuse.holder"));
  fuse->Start();
  EXPECT_EQ(testing::ReadFileOrDie(mnt() + "/app/data/big"), testing::RandomBytes(8 << 20, 1))
      << fuse->log();
  EXPECT_EQ(fuse->Terminate(), 0);
}

// systemd's part, played by the test: its notify socket receives the mounted
// descriptor (FDSTORE=1), and the restart after a crash passes it back
// (LISTEN_FDS, named "fuse"); no holder is started then.
TEST_F(TakeoverTest, SystemdsDescriptorStoreKeepsTheMountAcrossACrash) {
  PushLive("app", "1.0", dir_ / "src");
  const std::string notify_path = dir_ / "notify";
  Fd notify(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  ASSERT_LT(notify_path.size(), sizeof addr.sun_path);
  std::memcpy(addr.sun_path, notify_path.c_str(), notify_path.size() + 1);
  ASSERT_EQ(bind(notify.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  timeval timeout{30, 0};
  setsockopt(notify.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);

  setenv("NOTIFY_SOCKET", notify_path.c_str(), 1);
  auto fuse = Mount(ny_->address(), {}, kSlowFetchMs);
  unsetenv("NOTIFY_SOCKET");
  Fd stored;
  auto message = ReceiveMessage(notify.get(), &stored);
  ASSERT_TRUE(message.ok()) << message.status();
  EXPECT_NE(message->find("FDSTORE=1"), std::string::npos) << *message;
  EXPECT_NE(message->find("FDNAME=fuse"), std::string::npos) << *message;
  ASSERT_TRUE(stored.valid());
  EXPECT_FALSE(fs::exists(dir_ / "cache/fuse.holder")) << "systemd keeps it: no holder";
  ASSERT_TRUE(WaitLive("app", "1.0"));
  StartReader();
  ASSERT_TRUE(ReaderGoesOn(20)) << testing::ReadFileOrDie(dir_ / "reader.log");

  fuse->Kill9();
  std::vector<std::string> argv = {testing::FuseBin(), "-f"};
  for (const std::string& a : FuseArgs(ny_->address(), {}, kSlowFetchMs)) argv.push_back(a);
  argv.push_back(mnt());
  const int stored_fd = stored.get();
  testing::Process restarted(argv, dir_ / "fuse.log", [&] {
    dup2(stored_fd, 3);  // SD_LISTEN_FDS_START; dup2 leaves it open across exec
    setenv("LISTEN_PID", std::to_string(getpid()).c_str(), 1);
    setenv("LISTEN_FDS", "1", 1);
    setenv("LISTEN_FDNAMES", "fuse", 1);
    setenv("NOTIFY_SOCKET", notify_path.c_str(), 1);
  });
  ASSERT_TRUE(WaitFor([&] {
    return fuse->log().find("taken_over_from=systemd") != std::string::npos || !restarted.running();
  })) << fuse->log();
  ASSERT_TRUE(restarted.running()) << fuse->log();
  ASSERT_TRUE(ReaderGoesOn(20)) << testing::ReadFileOrDie(dir_ / "reader.log") << fuse->log();
  auto [code, said] = StopReader();
  EXPECT_EQ(code, 0) << said;

  restarted.Signal(SIGTERM);
  EXPECT_EQ(restarted.Wait(), 0) << fuse->log();
  message = ReceiveMessage(notify.get());
  ASSERT_TRUE(message.ok()) << message.status();
  EXPECT_NE(message->find("FDSTOREREMOVE=1"), std::string::npos)
      << "a stop takes the descriptor out of the store: " << *message;
  EXPECT_FALSE(testing::IsVmsMount(mnt())) << "SIGTERM unmounts";
}

}  // namespace
}  // namespace vms
