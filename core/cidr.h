// Networks as sites declare them (vms-replica --serves 10.1.0.0/16) and the
// addresses a host finds on its interfaces: which site serves this host.
#ifndef VMS_CORE_CIDR_H_
#define VMS_CORE_CIDR_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace vms {

// An IPv4 or IPv6 address, IPv4 as its IPv4-mapped IPv6 form, so one
// comparison covers both.
struct IpAddress {
  std::array<uint8_t, 16> bytes{};
  bool v4 = false;
};

struct Cidr {
  IpAddress base;  // with the bits past the prefix cleared
  int prefix = 0;  // bits, of the IPv6 form (an IPv4 /16 is 96 + 16)
  // As given: "10.1.0.0/16".
  std::string text;

  bool Contains(const IpAddress& a) const;
  // Bits of the address this network fixes: a longer prefix is a nearer site.
  int specificity() const { return prefix; }
};

// "10.1.0.0/16", "fd00::/8"; a bare address is a /32 (/128). InvalidArgument
// naming what is wrong.
absl::StatusOr<Cidr> ParseCidr(std::string_view text);
absl::StatusOr<IpAddress> ParseIp(std::string_view text);
// Every address on this host's interfaces (loopback too), up or not.
std::vector<IpAddress> LocalAddresses();

}  // namespace vms

#endif  // VMS_CORE_CIDR_H_
