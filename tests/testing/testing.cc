#include "tests/testing/testing.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/pki.h"

extern char** environ;

namespace vms::testing {

namespace fs = std::filesystem;

TempDir::TempDir() {
  std::string tmpl = (fs::temp_directory_path() / "vms-test-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
  chmod(path_.c_str(), 0755);  // tests may run a command as another user inside
}

TempDir::~TempDir() {
  // VMS_KEEP_TEST_DIR=1 keeps the directory of a test that failed (=all:
  // of every test), to read its daemons' logs and stores afterwards.
  if (const char* keep = std::getenv("VMS_KEEP_TEST_DIR"); keep != nullptr && *keep != '\0') {
    if (std::string(keep) == "all" || ::testing::Test::HasFailure()) {
      std::fprintf(stderr, "kept test directory %s\n", path_.c_str());
      return;
    }
  }
  std::error_code ec;
  // Tests make read-only trees; make them writable so they can be removed.
  for (auto it = fs::recursive_directory_iterator(path_, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (it->is_directory(ec) && !it->is_symlink(ec)) chmod(it->path().c_str(), 0755);
  }
  fs::remove_all(path_, ec);
}

RunResult RunAs(const TempDir& dir, const std::string& master, const std::string& user,
                std::vector<std::string> args) {
  args.insert(args.begin(), {CliBin(), "--master", master});
  return Run(args,
             {.env = {{"HOME", dir / "home"}, {"VMS_TLS_DIR", TestPki::Get().UserDir(user)}}});
}

std::string WriteToolVersion(const TempDir& dir, const std::string& app,
                             const std::string& version) {
  const std::string src = dir / ("src/" + app + "/" + version);
  WriteFile(src + "/bin/tool", "#!/bin/sh\necho " + version + "\n", 0755);
  return src;
}

void WriteFile(const std::string& path, const std::string& content, mode_t mode) {
  fs::create_directories(fs::path(path).parent_path());
  {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f << content;
    if (!f) throw std::runtime_error("cannot write " + path);
  }
  chmod(path.c_str(), mode);
}

std::string ReadFileOrDie(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("cannot read " + path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

uint64_t DiskBytes(const std::string& path) {
  uint64_t total = 0;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(path, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    std::error_code size_ec;
    if (it->is_regular_file(size_ec)) total += it->file_size(size_ec);
  }
  return total;
}

std::string RandomBytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string out(n, '\0');
  for (size_t i = 0; i < n; i += 8) {
    uint64_t v = rng();
    std::memcpy(out.data() + i, &v, std::min<size_t>(8, n - i));
  }
  return out;
}

namespace {

std::vector<char*> Argv(const std::vector<std::string>& args) {
  std::vector<char*> out;
  for (const std::string& a : args) out.push_back(const_cast<char*>(a.c_str()));
  out.push_back(nullptr);
  return out;
}

int DecodeStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

RunResult Run(const std::vector<std::string>& argv, const RunOptions& options) {
  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe failed");
  }
  const std::vector<std::string> full = WithTestIdentity(argv);
  const std::string user_dir = TestPki::Get().UserDir("admin");
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    // vms (and scripts that run it) as the test's admin user, unless the
    // test says otherwise.
    if (!options.env.contains("VMS_TLS_DIR") && !options.env.contains("VMS_INSECURE")) {
      setenv("VMS_TLS_DIR", user_dir.c_str(), 1);
    }
    for (const auto& [k, v] : options.env) setenv(k.c_str(), v.c_str(), 1);
    if (options.uid >= 0 && (setgid(options.uid) != 0 || setuid(options.uid) != 0)) _exit(126);
    auto args = Argv(full);
    execv(args[0], args.data());
    _exit(127);
  }
  close(out_pipe[1]);
  close(err_pipe[1]);
  RunResult result;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  auto deadline =
      std::chrono::steady_clock::now() +
      std::chrono::duration_cast<std::chrono::milliseconds>(options.timeout * TimeScale());
  int open_fds = 2;
  while (open_fds > 0) {
    int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                    deadline - std::chrono::steady_clock::now())
                                    .count());
    if (left <= 0) {
      kill(pid, SIGKILL);
      break;
    }
    if (poll(fds, 2, left) < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[65536];
      ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        sinks[i]->append(buf, n);
      } else {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  for (pollfd& p : fds) {
    if (p.fd >= 0) close(p.fd);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  result.exit_code = DecodeStatus(status);
  return result;
}

Process::Process(const std::vector<std::string>& argv, const std::string& log_path,
                 const std::function<void()>& in_child) {
  const pid_t parent = getpid();
  const std::vector<std::string> full = WithTestIdentity(argv);
  const std::string user_dir = TestPki::Get().UserDir("admin");
  pid_ = fork();
  if (pid_ == 0) {
    setenv("VMS_TLS_DIR", user_dir.c_str(), 1);
    // If the test process dies without its destructors (a crash, a sanitizer
    // halt, a ctest timeout), its daemons die with it instead of living on.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    if (in_child) in_child();
    auto args = Argv(full);
    execv(args[0], args.data());
    _exit(127);
  }
}

Process::~Process() {
  if (running()) {
    kill(pid_, SIGKILL);
    Wait();
  }
}

bool Process::running() {
  if (exited_) return false;
  int status;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    exited_ = true;
    status_ = status;
    return false;
  }
  return true;
}

void Process::Signal(int sig) {
  if (!exited_) kill(pid_, sig);
}

int Process::Wait(std::chrono::seconds timeout) {
  if (!WaitFor([this] { return !running(); }, timeout)) {
    kill(pid_, SIGKILL);
    int status;
    waitpid(pid_, &status, 0);
    exited_ = true;
    status_ = status;
  }
  return DecodeStatus(status_);
}

Daemon::Daemon(std::string bin, std::string data_dir, std::vector<std::string> args)
    : bin_(std::move(bin)), data_dir_(std::move(data_dir)), args_(std::move(args)) {}

void Daemon::Start() {
  std::string address_file = data_dir_ + "/address";
  fs::create_directories(data_dir_);
  fs::remove(address_file);
  std::string port = "0";
  if (auto colon = address_.rfind(':'); colon != std::string::npos)
    port = address_.substr(colon + 1);
  std::vector<std::string> argv = {
      bin_, "--data", data_dir_, "--listen", "127.0.0.1:" + port, "--heartbeat-ms", "200"};
  argv.insert(argv.end(), args_.begin(), args_.end());
  process_ = std::make_unique<Process>(argv, data_dir_ + "/daemon.log");
  bool up = WaitFor([&] { return fs::exists(address_file) || !process_->running(); });
  if (!up || !fs::exists(address_file)) {
    throw std::runtime_error(bin_ + " did not start; log:\n" + log());
  }
  address_ = ReadFileOrDie(address_file);
  while (!address_.empty() && address_.back() == '\n') address_.pop_back();
}

void Daemon::Kill9() {
  process_->Signal(SIGKILL);
  process_->Wait();
}

int Daemon::Terminate() {
  process_->Signal(SIGTERM);
  return process_->Wait();
}

std::string SanitizerReport(const std::string& log) {
  size_t at = std::string::npos;
  for (const char* mark : {"WARNING: ThreadSanitizer", "ERROR: AddressSanitizer",
                           "runtime error:", "ERROR: LeakSanitizer"}) {
    at = std::min(at, log.find(mark));
  }
  if (at == std::string::npos) return "";
  size_t start = log.rfind('\n', at);
  start = start == std::string::npos ? 0 : start + 1;
  return log.substr(start, 6000);
}

Daemon::~Daemon() {
  if (std::string report = SanitizerReport(log()); !report.empty()) {
    ADD_FAILURE() << bin_ << " in " << data_dir_ << " reported:\n" << report;
  }
}

std::string Daemon::log() const {
  try {
    return ReadFileOrDie(data_dir_ + "/daemon.log");
  } catch (...) {
    return "";
  }
}

MasterProcess::MasterProcess(std::string data_dir, std::vector<std::string> extra_args)
    : Daemon(MasterBin(), std::move(data_dir), std::move(extra_args)) {
  Start();
}

ReplicaProcess::ReplicaProcess(const std::string& site, const std::string& upstream,
                               const std::string& trust, std::string data_dir,
                               std::vector<std::string> extra_args)
    : Daemon(ReplicaBin(), std::move(data_dir), [&] {
        std::vector<std::string> args = {"--site", site, "--upstream", upstream, "--trust", trust};
        args.insert(args.end(), extra_args.begin(), extra_args.end());
        return args;
      }()) {
  Start();
}

bool IsVmsMount(const std::string& path) {
  std::ifstream mounts("/proc/self/mounts");
  std::string dev, where, type, rest;
  // Only the parent is resolved: a dead mount itself cannot be stat'ed.
  std::error_code ec;
  fs::path p(path);
  std::string want = (fs::weakly_canonical(p.parent_path(), ec) / p.filename()).string();
  while (mounts >> dev >> where >> type && std::getline(mounts, rest)) {
    if (where == want && type == "fuse.vms") return true;
  }
  return false;
}

Stopped::Stopped(Daemon* daemon) : daemon_(daemon) {
  daemon_->Signal(SIGSTOP);
  // Every thread's state (the field after "(comm)") is T once it stopped.
  auto all_stopped = [pid = daemon_->pid()] {
    std::error_code ec;
    int threads = 0;
    for (const auto& task : fs::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
      std::ifstream in(task.path() / "stat");
      std::string stat;
      std::getline(in, stat);  // a thread that just ended reads as "": not yet
      size_t paren = stat.rfind(')');
      if (paren == std::string::npos || paren + 2 >= stat.size()) return false;
      char state = stat[paren + 2];
      if (state != 'T' && state != 't') return false;
      ++threads;
    }
    return !ec && threads > 0;
  };
  EXPECT_TRUE(WaitFor(all_stopped, std::chrono::seconds(10))) << "pid " << daemon_->pid();
}

void ForceUnmount(const std::string& path) {
  if (umount2(path.c_str(), MNT_DETACH) != 0) {
    Run({"/bin/fusermount3", "-u", "-z", path}, {.timeout = std::chrono::seconds(10)});
  }
}

void KillProcessesMentioning(const std::string& text) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    const std::string pid = entry.path().filename().string();
    if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos) continue;
    if (std::stoi(pid) == getpid()) continue;
    std::ifstream in(entry.path() / "cmdline", std::ios::binary);
    std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (cmdline.find(text) != std::string::npos) kill(std::stoi(pid), SIGKILL);
  }
}

FuseProcess::FuseProcess(std::string mountpoint, std::vector<std::string> args,
                         std::string log_path)
    : mountpoint_(std::move(mountpoint)), args_(std::move(args)), log_path_(std::move(log_path)) {
  fs::create_directories(mountpoint_);
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  watcher_ = fork();
  if (watcher_ == 0) {
    // No PR_SET_PDEATHSIG here: it must outlive the test process.
    dup2(fds[0], STDIN_FILENO);
    execl("/bin/sh", "sh", "-c", "read -r _; exec umount -l \"$0\" 2>/dev/null",
          mountpoint_.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  close(fds[0]);
  watch_fd_ = fds[1];
  Start();
}

FuseProcess::~FuseProcess() {
  if (running()) {
    process_->Signal(SIGTERM);
    process_->Wait(std::chrono::seconds(10));
  }
  if (IsVmsMount(mountpoint_)) ForceUnmount(mountpoint_);
  // Unmounted: the watcher's umount finds nothing to do.
  if (watch_fd_ >= 0) close(watch_fd_);
  if (watcher_ > 0) waitpid(watcher_, nullptr, 0);
  if (std::string report = SanitizerReport(log()); !report.empty()) {
    ADD_FAILURE() << "vms-fuse at " << mountpoint_ << " reported:\n" << report;
  }
}

size_t FuseProcess::MountsLogged() const {
  std::string log_text = log();
  size_t n = 0;
  for (size_t at = 0; (at = log_text.find("mounted at=", at)) != std::string::npos; ++at) ++n;
  return n;
}

void FuseProcess::WaitMounted(size_t before, Process* process) {
  if (!WaitFor([&] { return MountsLogged() > before || !process->running(); }) ||
      !process->running() || !IsVmsMount(mountpoint_)) {
    throw std::runtime_error("vms-fuse did not mount; log:\n" + log());
  }
}

void FuseProcess::Start() {
  // A dead mount left by a kill -9 is still listed: wait for this process to
  // say it mounted, not just for a mount to be there.
  size_t before = MountsLogged();
  std::vector<std::string> argv = {FuseBin(), "-f"};
  argv.insert(argv.end(), args_.begin(), args_.end());
  argv.push_back(mountpoint_);
  process_ = std::make_unique<Process>(argv, log_path_);
  WaitMounted(before, process_.get());
}

int FuseProcess::Upgrade() {
  size_t before = MountsLogged();
  std::vector<std::string> argv = {FuseBin(), "-f", "--takeover"};
  argv.insert(argv.end(), args_.begin(), args_.end());
  argv.push_back(mountpoint_);
  auto next = std::make_unique<Process>(argv, log_path_);
  WaitMounted(before, next.get());
  int old = process_->Wait();
  process_ = std::move(next);
  return old;
}

void FuseProcess::Reload() {
  size_t before = MountsLogged();
  process_->Signal(SIGHUP);
  WaitMounted(before, process_.get());
}

int FuseProcess::Terminate() {
  process_->Signal(SIGTERM);
  return process_->Wait();
}

void FuseProcess::Kill9() {
  process_->Signal(SIGKILL);
  process_->Wait();
}

std::string FuseProcess::log() const {
  try {
    return ReadFileOrDie(log_path_);
  } catch (...) {
    return "";
  }
}

std::string MasterBin() { return VMS_MASTER_BIN; }
std::string FuseBin() { return VMS_FUSE_BIN; }
std::string ReplicaBin() { return VMS_REPLICA_BIN; }
std::string CliBin() { return VMS_CLI_BIN; }

double TimeScale() {
  static const double scale = [] {
    const char* v = getenv("VMS_TEST_TIME_SCALE");
    double s = v == nullptr ? 1 : atof(v);
    return s < 1 ? 1.0 : s > 20 ? 20.0 : s;
  }();
  return scale;
}

namespace {
template <typename D>
auto Scaled(D d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d * TimeScale());
}
}  // namespace

bool WaitFor(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + Scaled(timeout);
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return pred();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

bool WaitForSite(const std::string& master, const std::string& site) {
  return WaitFor([&] {
    RunResult sites = Run({CliBin(), "--master", master, "sites", "--json"});
    if (sites.exit_code != 0) return false;
    for (const nlohmann::json& s : nlohmann::json::parse(sites.out)) {
      // Reported, not only added by an admin (which gives no address yet).
      if (s["site"] == site && !s["address"].get<std::string>().empty()) return true;
    }
    return false;
  });
}

}  // namespace vms::testing
