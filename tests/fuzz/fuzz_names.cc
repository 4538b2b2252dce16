// Every name and address a caller or a config file hands over: CIDRs, IPs,
// principals, app, version, site, label and entry names, certificate
// serials and revocation lists, and instants.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/check.h"
#include "core/cidr.h"
#include "core/clock.h"
#include "core/lifecycle.h"
#include "core/names.h"
#include "core/principal.h"
#include "core/x509.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vms;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto cidr = ParseCidr(text);
  auto ip = ParseIp(text);
  if (cidr.ok() && ip.ok()) (void)cidr->Contains(*ip);
  auto principal = ParsePrincipal(text);
  auto normal = NormalizePrincipal(text);
  if (normal.ok()) {
    auto again = NormalizePrincipal(*normal);
    VMS_CHECK(again.ok() && *again == *normal, "a normal principal normalises to itself");
  }
  (void)principal;
  (void)ParseKind(text);
  (void)ValidateAppName(text);
  (void)ValidateVersionName(text);
  (void)ValidateSiteName(text);
  (void)ValidatePrincipalName(text);
  (void)ValidateEntryName(text);
  (void)ValidateLabel(text);
  // Certificate serials (vms-master --tls-revoked) and instants (/dist/.at).
  if (std::string serial = NormalizeSerial(text); !serial.empty()) {
    VMS_CHECK(NormalizeSerial(serial) == serial, "a normal serial normalises to itself");
  }
  for (const std::string& s : ParseRevokedSerials(text)) {
    VMS_CHECK(!s.empty() && NormalizeSerial(s) == s, "a revoked serial is a normal one");
  }
  (void)ParseInstantMs(text);
  return 0;
}
