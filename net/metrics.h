// A daemon's Prometheus metrics: the registry it owns (prometheus-cpp), what
// it sets just before each scrape, the text it serves at /metrics, and the
// RPC counters every gRPC server gets.
//
// Components never see the registry: the daemon's main() makes the few
// counters, gauges and histograms each one updates and passes them down
// (../shared/STYLE.md, "Metrics"). Updating one is an atomic add (a mutex
// for a histogram): nothing on a request's path waits on a scrape.
//
// Names follow Prometheus conventions: vms_<component>_<thing>, counters
// end in _total, durations in _seconds, sizes in _bytes.
#ifndef VMS_NET_METRICS_H_
#define VMS_NET_METRICS_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "core/sync.h"
#include "grpcpp/server_builder.h"
#include "net/http_server.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/labels.h"
#include "prometheus/registry.h"

namespace vms {

// Latency buckets, in seconds: 0.5 ms to 60 s.
extern const std::vector<double> kLatencyBuckets;

class Metrics {
 public:
  Metrics();
  prometheus::Registry& registry() { return *registry_; }

  // One metric of a family made here (families are made once per name;
  // a name asked again with other labels adds to it).
  prometheus::Counter& Counter(const std::string& name, const std::string& help,
                               const prometheus::Labels& labels = {});
  prometheus::Gauge& Gauge(const std::string& name, const std::string& help,
                           const prometheus::Labels& labels = {});
  prometheus::Histogram& Histogram(const std::string& name, const std::string& help,
                                   const std::vector<double>& buckets = kLatencyBuckets,
                                   const prometheus::Labels& labels = {});

  // `fn` runs before every scrape (one scrape at a time), to set gauges
  // from state that is cheaper to read than to track (seqs, store sizes).
  void OnScrape(std::function<void()> fn);
  // The text exposition format (version 0.0.4) of every metric, after the
  // OnScrape functions ran.
  std::string Render();
  HttpRoute Route();  // GET /metrics

  // Counts every call a server built by `builder` answers, as
  // vms_rpc_requests_total{method,code}, and times unary calls as
  // vms_rpc_duration_seconds{method}. Call before StartServer().
  void CountRpcs(grpc::ServerBuilder* builder);

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  Mutex scrape_mu_;
  std::vector<std::function<void()>> on_scrape_ ABSL_GUARDED_BY(scrape_mu_);
};

// Serves `metrics` at /metrics on `listen` (net/http_server.h), writing the
// bound address to `address_file`; null when `listen` is empty (metrics are
// off by default).
absl::StatusOr<std::unique_ptr<HttpServer>> ServeMetrics(const std::string& listen,
                                                         const TlsFiles& tls, Metrics* metrics,
                                                         const std::string& address_file);

}  // namespace vms

#endif  // VMS_NET_METRICS_H_
