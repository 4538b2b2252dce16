// The test process's own PKI: a CA made on first use in a fresh temp dir
// (removed at exit), certificates issued on demand (tools/pki). Every real
// daemon a test starts gets a certificate through it (testing::Run and
// Process add --tls-* flags to vms-master, vms-replica and vms-fuse, and
// VMS_TLS_DIR for vms), so the whole suite runs over mutual TLS.
//
//   vms-master            vms://master/main, with --admins admin
//   vms-replica --site S  vms://site/S
//   vms-fuse              vms://host/test
//   vms                   vms://user/admin (an admin of the master)
//
// Thread-safe.
#ifndef VMS_TESTS_TESTING_PKI_H_
#define VMS_TESTS_TESTING_PKI_H_

#include <string>
#include <vector>

namespace vms::testing {

struct CertFiles {
  std::string ca, cert, key;
};

class TestPki {
 public:
  static TestPki& Get();

  const std::string& dir() const { return dir_; }
  std::string ca() const { return dir_ + "/ca.crt"; }

  // KIND-NAME.{crt,key}, issued on first use.
  CertFiles Files(const std::string& kind, const std::string& name);
  // {"--tls-ca", CA, "--tls-cert", CERT, "--tls-key", KEY}.
  std::vector<std::string> Flags(const std::string& kind, const std::string& name);
  // A directory for VMS_TLS_DIR: ca.crt, cert.crt and cert.key of user NAME.
  std::string UserDir(const std::string& name);

 private:
  TestPki();
  std::string dir_;
};

// `argv` with the test identity of its binary added (see above), unless it
// names its own (--tls-* or --insecure).
std::vector<std::string> WithTestIdentity(const std::vector<std::string>& argv);

}  // namespace vms::testing

#endif  // VMS_TESTS_TESTING_PKI_H_
