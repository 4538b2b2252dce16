// A real etcd cluster for a test: `members` etcd processes on free loopback
// ports, each with a data directory under the test's own, killed when the
// cluster goes. etcd must know every member's peer address before it
// starts, so the ports are picked free first (the kernel's next free one;
// another process taking it between is possible and fails the start loudly).
#ifndef VMS_TESTS_TESTING_ETCD_H_
#define VMS_TESTS_TESTING_ETCD_H_

#include <memory>
#include <string>
#include <vector>

#include "tests/testing/testing.h"

namespace vms::testing {

class EtcdCluster {
 public:
  EtcdCluster(const std::string& dir, int members = 3);
  ~EtcdCluster();

  // host:port of each member's client endpoint.
  std::vector<std::string> endpoints() const;
  // SIGKILL, SIGSTOP, SIGCONT of member `i`; Start(i) runs it again on its
  // data directory.
  void Kill(int i);
  void Start(int i);
  void Signal(int i, int sig);
  std::string log(int i) const;

 private:
  struct Member {
    std::string name, data, log;
    int client_port = 0, peer_port = 0;
    std::unique_ptr<Process> process;
  };
  std::vector<Member> members_;
  std::string initial_cluster_, token_;
};

}  // namespace vms::testing

#endif  // VMS_TESTS_TESTING_ETCD_H_
