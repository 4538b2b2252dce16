// How a host finds its replicas (vms-fuse --discover ADDR): from the site
// map any replica or the master serves (proto SiteMap: every site's replica
// and the networks it serves), it takes the replicas of its own site (the
// site whose declared network holds one of the host's addresses, the longest
// prefix winning), then the nearest others by measured round-trip time as
// fallbacks. CernVM-FS orders its servers with a GeoIP service; this is the
// same need answered by the sites themselves.
//
// The map is kept in the host's cache directory (a host that restarts while
// every seed is away still finds its replicas), and learned again when a
// heartbeat announces another version of it. One thread, started by Start().
#ifndef VMS_FUSEFS_DISCOVERY_H_
#define VMS_FUSEFS_DISCOVERY_H_

#include <chrono>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "core/cidr.h"
#include "core/sync.h"
#include "net/tls.h"
#include "records.pb.h"

namespace vms {

struct DiscoveryChoice {
  std::string site;                   // this host's own site ("": no network holds it)
  std::vector<std::string> replicas;  // its own site's first, then the nearest others
  uint64_t map_version = 0;
};

// The choice, without the network: `rtt_us` holds the measured round trip
// to each other site's address (absent: it did not answer, and comes last).
// `current`: the replicas the host uses now. A host moves only for a cause:
// its own site (the networks an admin assigned) is first whatever it used;
// a host no site holds keeps the first of `current` while it is in the map
// and answers, however near a new site is.
DiscoveryChoice ChooseReplicas(const SiteMap& map, const std::vector<IpAddress>& local,
                               const std::map<std::string, int64_t>& rtt_us, size_t fallbacks,
                               const std::vector<std::string>& current = {});

class Discovery {
 public:
  struct Options {
    std::vector<std::string> seeds;  // --discover: any replicas or the master
    Credentials credentials = Credentials::Insecure();
    std::string cache_file;                    // where the newest map is kept
    size_t fallbacks = 2;                      // other sites' replicas after the own site's
    std::chrono::milliseconds deadline{5000};  // each map fetch; the probes together
    // The host's addresses; empty: its interfaces' (LocalAddresses()).
    std::vector<IpAddress> local;
    std::chrono::milliseconds jitter{2000};
  };
  explicit Discovery(Options options);
  ~Discovery();

  // The map from the first of `ask` then the seeds that answers (else the
  // one kept from before), the round trips measured, and the choice (`ask`
  // is what the host uses now: see ChooseReplicas).
  // Unavailable, naming every failure, when there is no map at all.
  absl::StatusOr<DiscoveryChoice> Learn(const std::vector<std::string>& ask = {});
  // Learn(), again and again (backing off to 5 s) for up to `patience`: a
  // host starting while its seeds are swamped (a whole site booting) waits
  // for them rather than failing.
  absl::StatusOr<DiscoveryChoice> LearnPatiently(std::chrono::milliseconds patience);

  // From now on: each `Announced` version other than the map's is learned
  // again (asking `current()` first), and `on_change` called when the
  // replicas chosen differ.
  void Start(std::function<std::vector<std::string>()> current,
             std::function<void(const DiscoveryChoice&)> on_change);
  void Stop();
  // A heartbeat carried site map `version` (cheap: called per heartbeat).
  // Every host hears of a new map at once: each waits a random moment (up
  // to `jitter`) before asking, so replicas are not asked all at once.
  void Announced(uint64_t version);

 private:
  void Loop();
  std::map<std::string, int64_t> MeasureRtt(const SiteMap& map, const std::string& own_site);

  const Options options_;
  std::vector<IpAddress> local_;
  std::function<std::vector<std::string>()> current_;
  std::function<void(const DiscoveryChoice&)> on_change_;
  Mutex mu_;
  CondVar cv_{&mu_};
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t announced_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t known_ ABSL_GUARDED_BY(mu_) = 0;         // the map version learned
  std::mt19937_64 random_{std::random_device()()};  // the loop's
  std::thread thread_;
};

}  // namespace vms

#endif  // VMS_FUSEFS_DISCOVERY_H_
