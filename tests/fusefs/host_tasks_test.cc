// The vms-fuse background tasks on their own: counted, never timed.
#include "fusefs/host_tasks.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "fusefs/handover.h"
#include "gtest/gtest.h"
#include "tests/testing/testing.h"

namespace vms {
namespace {

using std::chrono::milliseconds;

Hash HashOf(const std::string& s) { return Sha256(s); }

TEST(CacheReclaimerTest, EachRetiredVersionIsTriedItsTimesThenForgotten) {
  Mutex mu;
  std::map<std::string, int> tries;
  CacheReclaimer reclaimer([&](const Hash& root) -> uint64_t {
    MutexLock lock(&mu);
    ++tries[root.Hex()];
    return 100;
  });
  ASSERT_TRUE(reclaimer.Add("app", "1", HashOf("1")));
  ASSERT_TRUE(reclaimer.Add("app", "2", HashOf("2")));
  ASSERT_TRUE(testing::WaitFor([&] {
    MutexLock lock(&mu);
    return tries[HashOf("1").Hex()] == CacheReclaimer::kTries &&
           tries[HashOf("2").Hex()] == CacheReclaimer::kTries;
  }));
  // Then it is idle: no more tries, whatever the wait.
  std::this_thread::sleep_for(CacheReclaimer::kRetry * 3);
  MutexLock lock(&mu);
  EXPECT_EQ(tries[HashOf("1").Hex()], CacheReclaimer::kTries);
  EXPECT_EQ(tries.size(), 2u);
}

TEST(CacheReclaimerTest, TheQueueIsBounded) {
  std::atomic<bool> release{false};
  CacheReclaimer reclaimer([&](const Hash&) -> uint64_t {
    while (!release) std::this_thread::sleep_for(milliseconds(1));
    return 0;
  });
  size_t taken = 0;
  for (size_t i = 0; i < CacheReclaimer::kMaxQueued + 10; ++i) {
    taken += reclaimer.Add("app", std::to_string(i), HashOf(std::to_string(i)));
  }
  EXPECT_EQ(taken, CacheReclaimer::kMaxQueued);
  release = true;
}

TEST(CensusReporterTest, SendsEachIntervalAndGoesOnAfterARefusal) {
  std::atomic<int> sent{0};
  Mutex mu;
  HostUsageReport last;
  {
    CensusReporter reporter(
        [] {
          VersionUsage v;
          v.set_app("app");
          v.set_version("1");
          return std::vector<VersionUsage>{v};
        },
        [&](const HostUsageReport& r) {
          MutexLock lock(&mu);
          last = r;
          // The first is not taken; the next ones are sent all the same.
          return ++sent == 1 ? absl::UnavailableError("replica down") : absl::OkStatus();
        },
        "host1", milliseconds(5));
    ASSERT_TRUE(testing::WaitFor([&] { return sent.load() >= 3; }));
  }
  const int after = sent.load();
  std::this_thread::sleep_for(milliseconds(30));
  EXPECT_EQ(sent.load(), after);  // destroyed: nothing more
  MutexLock lock(&mu);
  EXPECT_EQ(last.host(), "host1");
  EXPECT_EQ(last.interval_ms(), 5);
  ASSERT_EQ(last.versions_size(), 1);
}

// Attack run 2, fault 12: `vms retire` within a census interval of a
// program's start took the version from it: the census could not see it.
// A new use (HostCensus::SetOnNewUse, dist_fs_test) makes the reporter
// report within seconds (kSettle), however long its interval; still at least
// kMinGap apart.
TEST(CensusReporterTest, SoonReportsWithinSecondsNotAtTheNextInterval) {
  std::atomic<int> sent{0};
  CensusReporter reporter([] { return std::vector<VersionUsage>(); },
                          [&](const HostUsageReport&) {
                            ++sent;
                            return absl::OkStatus();
                          },
                          "host1", std::chrono::hours(1));
  reporter.Soon();
  ASSERT_TRUE(testing::WaitFor([&] { return sent.load() == 1; }));
  reporter.Soon();
  reporter.Soon();
  ASSERT_TRUE(testing::WaitFor([&] { return sent.load() == 2; }));
  EXPECT_EQ(sent.load(), 2) << "two cues within kMinGap: one report";
}

TEST(HolderLinkTest, AStopFromTheHolderPreparesThenHandsTheMountOver) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  Fd holder(sv[0]), daemon(sv[1]);
  std::atomic<int> step{0};
  int prepared_at = -1, handed_at = -1;
  HolderLink link(
      daemon.get(), [&] { prepared_at = step++; }, [&] { handed_at = step++; });
  ASSERT_TRUE(SendMessage(holder.get(), kStop).ok());
  ASSERT_TRUE(testing::WaitFor([&] { return step.load() == 2; }));
  link.Stop();
  EXPECT_EQ(prepared_at, 0);
  EXPECT_EQ(handed_at, 1);
}

TEST(HolderLinkTest, StopEndsTheWaitWithoutAHandover) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  Fd holder(sv[0]), daemon(sv[1]);
  std::atomic<int> calls{0};
  HolderLink link(
      daemon.get(), [&] { ++calls; }, [&] { ++calls; });
  link.Stop();
  EXPECT_EQ(calls.load(), 0);
}

// A daemon started with stdin closed gets the socket pair at 0 and 3: the
// holder must still find the FUSE descriptor at 3 and its link at 4 (the
// first copy to 3 used to replace the link before it was copied to 4).
TEST(SpawnHolderTest, TheHolderGetsTheMountAt3AndItsLinkAt4WhenStdinWasClosed) {
  testing::TempDir dir;
  // A stand-in holder: says it is ready, then what its fds 3 and 4 are.
  const std::string holder = dir / "holder";
  testing::WriteFile(holder,
                     "#!/bin/sh\n"
                     "printf 'OK ready' >&4\n"
                     "printf 'fds %s %s' \"$(readlink /proc/self/fd/3)\" "
                     "\"$(readlink /proc/self/fd/4)\" >&4\n",
                     0755);
  int fuse_stand_in[2];
  ASSERT_EQ(pipe(fuse_stand_in), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // Only async-signal-safe calls until the descriptors are laid out.
    if (dup2(fuse_stand_in[0], 20) != 20) _exit(10);
    close(fuse_stand_in[0]);
    close(fuse_stand_in[1]);
    close(0);
    close(3);
    auto link = SpawnHolder(dir / "holder.sock", dir / "mnt", 20, std::chrono::seconds(1), holder);
    if (!link.ok()) {
      fprintf(stderr, "SpawnHolder: %s\n", std::string(link.status().message()).c_str());
      _exit(11);
    }
    auto fds = ReceiveMessage(link->get());
    char want[64] = {};
    if (readlink("/proc/self/fd/20", want, sizeof want - 1) <= 0) _exit(12);
    const std::string expected = std::string("fds ") + want + " socket:";
    if (!fds.ok() || !fds->starts_with(expected)) {
      fprintf(stderr, "the holder saw \"%s\", not \"%s[...]\"\n",
              fds.ok() ? fds->c_str() : "nothing", expected.c_str());
      _exit(13);
    }
    _exit(0);
  }
  close(fuse_stand_in[0]);
  close(fuse_stand_in[1]);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "see the child's stderr above";
}
// A stand-in holder listening at `path` that hands a pipe over as "the
// mount", running as `uid` (in a child process) or as us (uid < 0).
class FakeHolder {
 public:
  FakeHolder(const std::string& path, int uid) {
    listen_ = Fd(socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
    auto addr = UnixAddress(path);
    if (!addr.ok() ||
        bind(listen_.get(), reinterpret_cast<const sockaddr*>(&*addr), sizeof *addr) != 0) {
      ADD_FAILURE() << "bind " << path;
      return;
    }
    if (uid < 0) {
      listen(listen_.get(), 1);
      thread_ = std::thread([this] { Serve(); });
      return;
    }
    int ready[2];
    if (pipe(ready) != 0) return;
    child_ = fork();
    if (child_ == 0) {
      // SO_PEERCRED names whoever called listen().
      if (setresgid(uid, uid, uid) != 0 || setresuid(uid, uid, uid) != 0) _exit(10);
      listen(listen_.get(), 1);
      if (write(ready[1], "r", 1) != 1) _exit(11);
      Serve();
      _exit(0);
    }
    close(ready[1]);
    char byte;
    if (read(ready[0], &byte, 1) != 1) ADD_FAILURE() << "the stand-in holder did not start";
    close(ready[0]);
  }
  ~FakeHolder() {
    if (thread_.joinable()) thread_.join();
    if (child_ > 0) {
      kill(child_, SIGKILL);
      waitpid(child_, nullptr, 0);
    }
  }

 private:
  void Serve() {
    Fd c(accept4(listen_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!c.valid()) return;
    (void)ReceiveMessage(c.get());
    int p[2];
    if (pipe(p) != 0) return;
    Fd r(p[0]), w(p[1]);
    (void)SendMessage(c.get(), "OK /mnt", r.get());
    (void)ReceiveMessage(c.get());  // until the taker closes
  }

  Fd listen_;
  std::thread thread_;
  pid_t child_ = -1;
};

TEST(HolderTakeoverTest, AHolderSocketOfAnotherUserIsRefused) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to run a holder as another user";
  testing::TempDir dir;
  const std::string socket = dir / "fuse.holder";
  FakeHolder planted(socket, 65534);
  auto taken = TakeOverFromHolder(socket, "/mnt", false, milliseconds(5000));
  ASSERT_FALSE(taken.ok());
  EXPECT_EQ(taken.status().code(), absl::StatusCode::kPermissionDenied) << taken.status();
  EXPECT_NE(taken.status().message().find("uid 65534"), std::string::npos) << taken.status();
}

TEST(HolderTakeoverTest, ADescriptorThatIsNotDevFuseIsRefused) {
  testing::TempDir dir;
  const std::string socket = dir / "fuse.holder";
  FakeHolder impostor(socket, -1);
  auto taken = TakeOverFromHolder(socket, "/mnt", false, milliseconds(5000));
  ASSERT_FALSE(taken.ok());
  EXPECT_EQ(taken.status().code(), absl::StatusCode::kPermissionDenied) << taken.status();
  EXPECT_NE(taken.status().message().find("not /dev/fuse"), std::string::npos) << taken.status();
}

TEST(HolderTakeoverTest, ACacheDirOthersCanWriteIsRefused) {
  testing::TempDir dir;
  const std::string cache = dir / "cache";
  ASSERT_TRUE(MakeDirs(cache, 0700).ok());
  EXPECT_TRUE(CheckPrivateDir(cache).ok());
  ASSERT_EQ(chmod(cache.c_str(), 01777), 0);
  absl::Status s = CheckPrivateDir(cache);
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied) << s;
  EXPECT_NE(s.message().find("chmod go-w"), std::string::npos) << s;
  ASSERT_EQ(chmod(cache.c_str(), 0770), 0);
  EXPECT_FALSE(CheckPrivateDir(cache).ok());
  if (geteuid() == 0) {
    ASSERT_EQ(chmod(cache.c_str(), 0700), 0);
    ASSERT_EQ(chown(cache.c_str(), 65534, 65534), 0);
    s = CheckPrivateDir(cache);
    EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied) << s;
    EXPECT_NE(s.message().find("belongs to uid 65534"), std::string::npos) << s;
  }
}

TEST(MetricsEndpointTest, ServesAndStops) {
  testing::TempDir dir;
  Metrics metrics;
  MetricsEndpoint endpoint("127.0.0.1:0", TlsFiles{.insecure = true}, &metrics,
                           dir.path() + "/address");
  ASSERT_TRUE(testing::WaitFor([&] { return endpoint.serving(); }));
  endpoint.Stop();
  EXPECT_FALSE(endpoint.serving());
}

}  // namespace
}  // namespace vms
