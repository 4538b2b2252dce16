#include "core/cidr.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include <cstring>

#include "core/strings.h"

namespace vms {

namespace {

IpAddress FromV4(const in_addr& a) {
  IpAddress out;
  out.v4 = true;
  out.bytes[10] = 0xff;
  out.bytes[11] = 0xff;
  memcpy(out.bytes.data() + 12, &a, 4);
  return out;
}

IpAddress FromV6(const in6_addr& a) {
  IpAddress out;
  memcpy(out.bytes.data(), &a, 16);
  return out;
}

}  // namespace

absl::StatusOr<IpAddress> ParseIp(std::string_view text) {
  std::string s(text.substr(0, 64));
  in_addr v4;
  if (inet_pton(AF_INET, s.c_str(), &v4) == 1) return FromV4(v4);
  in6_addr v6;
  if (inet_pton(AF_INET6, s.c_str(), &v6) == 1) return FromV6(v6);
  return absl::InvalidArgumentError(
      StrCat("'", s, "' is not an IP address (e.g. 10.1.2.3 or fd00::1)"));
}

absl::StatusOr<Cidr> ParseCidr(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(StrCat("network '", text.substr(0, 64), "': ", why,
                                             " (a CIDR, e.g. 10.1.0.0/16 or fd00:1::/32)"));
  };
  if (text.size() > 64) return bad("too long");
  size_t slash = text.find('/');
  auto ip = ParseIp(text.substr(0, slash));
  if (!ip.ok()) return bad("not an IP address before the /");
  const int max = ip->v4 ? 32 : 128;
  int bits = max;
  if (slash != std::string_view::npos) {
    std::string_view p = text.substr(slash + 1);
    if (p.empty() || p.size() > 3) return bad("no prefix length after the /");
    bits = 0;
    for (char c : p) {
      if (c < '0' || c > '9') return bad("the prefix length is not a number");
      bits = bits * 10 + (c - '0');
    }
    if (bits > max) return bad(StrCat("the prefix length is at most ", max));
  }
  Cidr out;
  out.base = *ip;
  out.prefix = ip->v4 ? 96 + bits : bits;
  out.text = std::string(text);
  for (int i = out.prefix; i < 128; ++i) out.base.bytes[i / 8] &= ~(0x80 >> (i % 8));
  return out;
}

bool Cidr::Contains(const IpAddress& a) const {
  for (int i = 0; i < prefix; ++i) {
    uint8_t bit = 0x80 >> (i % 8);
    if ((a.bytes[i / 8] & bit) != (base.bytes[i / 8] & bit)) return false;
  }
  return true;
}

std::vector<IpAddress> LocalAddresses() {
  std::vector<IpAddress> out;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return out;
  for (ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr) continue;
    if (i->ifa_addr->sa_family == AF_INET) {
      out.push_back(FromV4(reinterpret_cast<sockaddr_in*>(i->ifa_addr)->sin_addr));
    } else if (i->ifa_addr->sa_family == AF_INET6) {
      out.push_back(FromV6(reinterpret_cast<sockaddr_in6*>(i->ifa_addr)->sin6_addr));
    }
  }
  freeifaddrs(list);
  return out;
}

}  // namespace vms
