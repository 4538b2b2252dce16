// What vms reads from X.509 certificates, with OpenSSL, for TLS set-up
// (net/tls.h) and the PKI tool: the principal a certificate names, whether
// it is valid now under a CA, whether a key belongs to it, and whether it
// names a host. Every failure says what is wrong in words a person can act
// on. Thread-safe (no shared state).
#ifndef VMS_CORE_X509_H_
#define VMS_CORE_X509_H_

#include <chrono>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "core/principal.h"

namespace vms {

struct CertificateInfo {
  std::vector<std::string> uris;  // every URI SAN, vms:// or not
  std::chrono::system_clock::time_point not_before, not_after;
  std::string serial;  // lowercase hex, no leading zeros ("0" for zero)
};

// A serial as written by people and tools ("serial=0A1B", "0a:1b", "a1b"):
// lowercase hex without separators or leading zeros; "" if it is not hex.
std::string NormalizeSerial(std::string_view text);

// The serials of a revocation list as vms-master --tls-revoked reads it:
// one per line, in any spelling NormalizeSerial takes, `#` to the end of a
// line a comment; lines that are not a serial are skipped.
std::set<std::string> ParseRevokedSerials(std::string_view text);

// The first certificate of a PEM text. InvalidArgument when there is none.
absl::StatusOr<CertificateInfo> ReadCertificate(std::string_view pem);

// The one vms principal (vms://KIND/NAME URI SAN) the first certificate of
// `pem` names; InvalidArgument when it names none or several.
absl::StatusOr<Principal> PrincipalOfCertificate(std::string_view pem);

// Verifies the first certificate of `cert_pem` (later ones are intermediates)
// against the CAs of `ca_pem`, now. Unauthenticated with OpenSSL's reason
// ("certificate has expired", "unable to get local issuer certificate") when
// it does not verify.
// `as_client`: for a TLS client's certificate, as a server checks it (its key
// usage must allow client authentication).
absl::Status VerifyCertificate(std::string_view ca_pem, std::string_view cert_pem,
                               bool as_client = false);

// OK when `key_pem` is the private key of the first certificate of
// `cert_pem`.
absl::Status KeyMatchesCertificate(std::string_view cert_pem, std::string_view key_pem);

// True when the first certificate of `cert_pem` names `host` (a DNS name or
// an IP address) in its SANs.
bool CertificateNamesHost(std::string_view cert_pem, std::string_view host);

}  // namespace vms

#endif  // VMS_CORE_X509_H_
