// The site map a host discovers its replicas from (any replica may serve
// it): parsed, and a choice made from it for a few local addresses.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/cidr.h"
#include "fusefs/discovery.h"
#include "records.pb.h"
#include "vms.pb.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vms;
  SiteMap map;
  if (!map.ParseFromString(std::string(reinterpret_cast<const char*>(data), size))) return 0;
  static const std::vector<IpAddress> local = {*ParseIp("10.1.2.3"), *ParseIp("fd00::5"),
                                               *ParseIp("127.0.0.1")};
  std::map<std::string, int64_t> rtt;
  int64_t us = 100;
  for (const auto& site : map.sites()) rtt[site.site()] = us += 50;
  (void)ChooseReplicas(map, local, rtt, 2);
  (void)ChooseReplicas(map, {}, {}, 0);
  return 0;
}
