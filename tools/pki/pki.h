// A certificate authority for vms, with OpenSSL: for the local world, tests
// and small installations (vms accepts any X.509 CA; a company uses its
// own). A principal is the URI SAN of a certificate: vms://KIND/NAME
// (core/principal.h; core/x509.h reads certificates).
//
//   InitCa(DIR)                 DIR/ca.crt, DIR/ca.key (0600)
//   Issue(DIR, KIND, NAME, ...) DIR/KIND-NAME.crt, DIR/KIND-NAME.key (0600)
//
// Keys are P-256 (the default: every TLS stack speaks it) or Ed25519.
// Certificates of sites and the master are for serving and connecting
// (serverAuth and clientAuth) and name the addresses they serve on (DNS and
// IP SANs; localhost and 127.0.0.1 when none are given); those of users and
// hosts only connect (clientAuth). Nothing is ever overwritten: a CA or a
// certificate that exists is an error that says so.
#ifndef VMS_TOOLS_PKI_PKI_H_
#define VMS_TOOLS_PKI_PKI_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace vms::pki {

enum class KeyType { kP256, kEd25519 };

struct CaOptions {
  int days = 3650;
  KeyType key = KeyType::kP256;
  std::string name = "vms";  // goes into the CA's common name
};
absl::Status InitCa(const std::string& dir, const CaOptions& options = {});

struct IssueOptions {
  int days = 365;
  KeyType key = KeyType::kP256;
  std::vector<std::string> dns;  // sites and the master: names they serve under
  std::vector<std::string> ips;  // ... and addresses
  // Valid until an hour ago: for tests that a stale certificate is refused.
  bool expired = false;
  // Further URI SANs: for tests that a certificate naming two principals
  // is refused everywhere.
  std::vector<std::string> extra_uris;
};
struct Issued {
  std::string cert_path, key_path, principal;
};
absl::StatusOr<Issued> Issue(const std::string& dir, const std::string& kind,
                             const std::string& name, const IssueOptions& options = {});

}  // namespace vms::pki

#endif  // VMS_TOOLS_PKI_PKI_H_
