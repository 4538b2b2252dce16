// Test helpers: temp dirs, file trees, and real subprocesses.
//
// Every test gets its own TempDir (removed at the end); daemons listen on
// port 0 and report the bound address through a file, so tests can run in
// parallel without colliding.
#ifndef VMS_TESTS_TESTING_TESTING_H_
#define VMS_TESTS_TESTING_TESTING_H_

#include <signal.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace vms::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& rel) const { return path_ + "/" + rel; }

 private:
  std::string path_;
};

// Creates parent directories as needed.
void WriteFile(const std::string& path, const std::string& content, mode_t mode = 0644);
std::string ReadFileOrDie(const std::string& path);
// Deterministic pseudo-random bytes.
std::string RandomBytes(size_t n, uint64_t seed);
// Bytes of the files under `path` (0 if there is none).
uint64_t DiskBytes(const std::string& path);

struct RunResult {
  int exit_code = -1;  // 128 + signal when killed
  std::string out, err;
};

struct RunOptions {
  std::map<std::string, std::string> env;  // added to (or replacing in) the environment
  int uid = -1;                            // run as this user (needs root)
  std::chrono::seconds timeout{120};
};

// Runs argv to completion, capturing stdout and stderr.
RunResult Run(const std::vector<std::string>& argv, const RunOptions& options = {});

// As `user` (vms://user/USER, their certificate directory as VMS_TLS_DIR),
// runs the real vms against `master` with HOME in `dir`.
RunResult RunAs(const TempDir& dir, const std::string& master, const std::string& user,
                std::vector<std::string> args);
// A version directory DIR/src/APP/VERSION holding bin/tool, which echoes
// VERSION; its path.
std::string WriteToolVersion(const TempDir& dir, const std::string& app,
                             const std::string& version);

// A background process whose stderr goes to a file. It is killed when the
// thread that started it ends (PR_SET_PDEATHSIG): start daemons from the
// test's own thread.
class Process {
 public:
  // `in_child` (if given) runs in the child just before exec: to set up
  // descriptors or the environment the way a service manager would.
  Process(const std::vector<std::string>& argv, const std::string& log_path,
          const std::function<void()>& in_child = nullptr);
  ~Process();  // SIGKILL if still running
  pid_t pid() const { return pid_; }
  bool running();
  void Signal(int sig);
  // Waits for exit; returns the exit code, or 128 + signal.
  int Wait(std::chrono::seconds timeout = std::chrono::seconds(30));

 private:
  pid_t pid_ = -1;
  bool exited_ = false;
  int status_ = 0;
};

// A real vms daemon (master or replica) in `data_dir`, listening on
// 127.0.0.1 port 0 the first time and on the same port after a restart (so
// that what follows it finds it again). Its log is DATA_DIR/daemon.log.
class Daemon {
 public:
  Daemon(std::string bin, std::string data_dir, std::vector<std::string> args);
  // Fails the test if the daemon's log holds a sanitizer report: a finding
  // in a daemon fails its test even when the test did not notice it die.
  virtual ~Daemon();
  // Starts (again) and waits until it listens.
  void Start();
  // The arguments of the next Start() (after --data, --listen).
  void SetArgs(std::vector<std::string> args) { args_ = std::move(args); }
  void Kill9();
  int Terminate();  // SIGTERM, returns the exit code
  void Signal(int sig) { process_->Signal(sig); }
  bool running() { return process_ && process_->running(); }
  pid_t pid() const { return process_ ? process_->pid() : -1; }
  const std::string& address() const { return address_; }
  std::string log() const;
  const std::string& data_dir() const { return data_dir_; }

 private:
  std::string bin_;
  std::string data_dir_;
  std::vector<std::string> args_;
  std::unique_ptr<Process> process_;
  std::string address_;
};

class MasterProcess : public Daemon {
 public:
  explicit MasterProcess(std::string data_dir, std::vector<std::string> extra_args = {});
  std::string pub() const { return data_dir() + "/master.pub"; }
};

class ReplicaProcess : public Daemon {
 public:
  ReplicaProcess(const std::string& site, const std::string& upstream, const std::string& trust,
                 std::string data_dir, std::vector<std::string> extra_args = {});
};

// A real vms-fuse in the foreground at `mountpoint` (created). The
// destructor always leaves the mountpoint unmounted, even after a failure.
class FuseProcess {
 public:
  FuseProcess(std::string mountpoint, std::vector<std::string> args, std::string log_path);
  ~FuseProcess();
  // Starts (again) and waits until the mount is there.
  void Start();
  int Terminate();  // SIGTERM; returns the exit code
  void Kill9();
  // A planned upgrade: starts another vms-fuse with --takeover, waits until
  // it serves the mount, and returns the exit code of the one it replaced.
  int Upgrade();
  // SIGHUP: the process executes its binary again, which takes the mount
  // over; waits until it serves.
  void Reload();
  bool running() { return process_ && process_->running(); }
  pid_t pid() const { return process_ ? process_->pid() : -1; }
  std::string log() const;

 private:
  std::string mountpoint_;
  std::vector<std::string> args_;
  std::string log_path_;
  std::unique_ptr<Process> process_;
  // How many times the log says "mounted at=".
  size_t MountsLogged() const;
  // Waits until the log says it mounted more than `before` times.
  void WaitMounted(size_t before, Process* process);
  // A child that unmounts the mountpoint when the test process dies without
  // running this destructor (a sanitizer abort, a crash, SIGKILL): it waits
  // for EOF on a pipe only this process holds.
  int watch_fd_ = -1;
  pid_t watcher_ = -1;
};

// Stops `daemon` (SIGSTOP) for its scope: a hung process, whose sockets stay
// open and silent, unlike a killed one's, which the kernel resets at once.
// The constructor returns once every thread of the daemon has stopped:
// kill() only queues the signal, and a thread already running may answer one
// more request before it takes it.
class Stopped {
 public:
  explicit Stopped(Daemon* daemon);
  ~Stopped() { daemon_->Signal(SIGCONT); }
  Stopped(const Stopped&) = delete;
  Stopped& operator=(const Stopped&) = delete;

 private:
  Daemon* daemon_;
};

// The first sanitizer report (ASan, UBSan, TSan) in a daemon's log, with
// some of its stack; "" when there is none.
std::string SanitizerReport(const std::string& log);

// True when a vms FUSE filesystem is mounted at `path`.
bool IsVmsMount(const std::string& path);
// Unmounts `path` (lazily) if anything is mounted there.
void ForceUnmount(const std::string& path);
// SIGKILLs every process whose command line mentions `text` (a test's own
// temp path): for daemons a test started that are not its children.
void KillProcessesMentioning(const std::string& text);

// Paths of the built binaries.
std::string MasterBin();
std::string ReplicaBin();
std::string FuseBin();
std::string CliBin();

// How much slower than an optimised build this run is allowed to be:
// $VMS_TEST_TIME_SCALE (1 to 20; ops/test sets it for sanitized builds).
// Run(), Process::Wait() and WaitFor() stretch their timeouts by it.
double TimeScale();

// Polls `pred` until true or the timeout; returns its last value.
bool WaitFor(const std::function<bool()>& pred,
             std::chrono::milliseconds timeout = std::chrono::seconds(20));

// Until the master at `master` lists `site` in `vms sites` (a push waits
// only for the sites the master knows); false after the timeout.
bool WaitForSite(const std::string& master, const std::string& site);

}  // namespace vms::testing

#endif  // VMS_TESTS_TESTING_TESTING_H_
