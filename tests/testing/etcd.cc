#include "tests/testing/etcd.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>

namespace vms::testing {

namespace {

// Ports nothing listens on now, from the kernel's ephemeral range, all
// different (each socket is held until every port is picked).
std::vector<int> FreePorts(int n) {
  std::vector<int> fds, ports;
  for (int i = 0; i < n; ++i) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      if (fd >= 0) close(fd);
      for (int f : fds) close(f);
      throw std::runtime_error("cannot find a free port");
    }
    fds.push_back(fd);
    ports.push_back(ntohs(addr.sin_port));
  }
  for (int f : fds) close(f);
  return ports;
}

// etcd as ops/install-deps installs it (Process runs a path, not a name).
std::string EtcdBin() {
  for (const char* path : {"/usr/bin/etcd", "/usr/local/bin/etcd"}) {
    if (access(path, X_OK) == 0) return path;
  }
  throw std::runtime_error("no etcd in /usr/bin: run ops/install-deps (etcd-server)");
}

std::string Url(int port) { return "http://127.0.0.1:" + std::to_string(port); }

}  // namespace

EtcdCluster::EtcdCluster(const std::string& dir, int members) {
  std::filesystem::create_directories(dir);
  const std::vector<int> ports = FreePorts(2 * members);
  token_ = "vms-test-" + std::to_string(getpid()) + "-" + std::to_string(ports[0]);
  for (int i = 0; i < members; ++i) {
    Member m;
    m.name = "m" + std::to_string(i);
    m.data = dir + "/etcd-" + m.name;
    m.log = dir + "/etcd-" + m.name + ".log";
    m.client_port = ports[2 * i];
    m.peer_port = ports[2 * i + 1];
    initial_cluster_ += (i ? "," : "") + m.name + "=" + Url(m.peer_port);
    members_.push_back(std::move(m));
  }
  for (int i = 0; i < members; ++i) Start(i);
  // A connection made before a member serves can hang in its listener, so
  // the test's clients connect only once every member says it serves.
  for (int i = 0; i < members; ++i) {
    if (!WaitFor([&] { return log(i).find("ready to serve client requests") != std::string::npos; },
                 std::chrono::seconds(static_cast<int>(60 * TimeScale())))) {
      throw std::runtime_error("etcd member " + members_[i].name + " never served: " + log(i));
    }
  }
}

EtcdCluster::~EtcdCluster() {
  for (Member& m : members_) m.process.reset();  // SIGKILL
}

std::vector<std::string> EtcdCluster::endpoints() const {
  std::vector<std::string> out;
  for (const Member& m : members_) out.push_back("127.0.0.1:" + std::to_string(m.client_port));
  return out;
}

void EtcdCluster::Start(int i) {
  Member& m = members_[i];
  m.process.reset();
  m.process = std::make_unique<Process>(
      std::vector<std::string>{
          EtcdBin(), "--name", m.name, "--data-dir", m.data, "--listen-client-urls",
          Url(m.client_port), "--advertise-client-urls", Url(m.client_port), "--listen-peer-urls",
          Url(m.peer_port), "--initial-advertise-peer-urls", Url(m.peer_port), "--initial-cluster",
          initial_cluster_, "--initial-cluster-token", token_,
          // Ignored by a member that has its data: it rejoins.
          "--initial-cluster-state", "new",
          // Quick elections: tests kill and pause members.
          "--heartbeat-interval", "100", "--election-timeout", "1000"},
      m.log);
}

void EtcdCluster::Kill(int i) { members_[i].process.reset(); }

void EtcdCluster::Signal(int i, int sig) { members_[i].process->Signal(sig); }

std::string EtcdCluster::log(int i) const {
  std::ifstream in(members_[i].log);  // not there yet: the member has not started
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace vms::testing
