#include "net/metrics.h"

#include <chrono>
#include <map>
#include <sstream>
#include <utility>

#include "grpcpp/support/server_interceptor.h"
#include "net/http_server.h"
#include "prometheus/text_serializer.h"

namespace vms {

const std::vector<double> kLatencyBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                             0.25,   0.5,   1,      2.5,   5,    10,    30,   60};

namespace {

// gRPC's names for its codes, as Prometheus users see them elsewhere.
const char* CodeName(grpc::StatusCode code) {
  static const char* const kNames[] = {"OK",
                                       "CANCELLED",
                                       "UNKNOWN",
                                       "INVALID_ARGUMENT",
                                       "DEADLINE_EXCEEDED",
                                       "NOT_FOUND",
                                       "ALREADY_EXISTS",
                                       "PERMISSION_DENIED",
                                       "RESOURCE_EXHAUSTED",
                                       "FAILED_PRECONDITION",
                                       "ABORTED",
                                       "OUT_OF_RANGE",
                                       "UNIMPLEMENTED",
                                       "INTERNAL",
                                       "UNAVAILABLE",
                                       "DATA_LOSS",
                                       "UNAUTHENTICATED"};
  auto i = static_cast<size_t>(code);
  return i < std::size(kNames) ? kNames[i] : "UNKNOWN";
}

// The counters and histograms of every (method, code) seen, made on first
// use. Bounded: past kMaxSeries a method is counted as "other" (a server
// has a few dozen methods; only a caller inventing names goes beyond).
class RpcMetrics {
 public:
  static constexpr size_t kMaxSeries = 512;

  explicit RpcMetrics(Metrics* metrics) : metrics_(metrics) {}

  void Done(const std::string& method, grpc::StatusCode code, bool unary, double seconds) {
    prometheus::Counter* counter;
    prometheus::Histogram* histogram = nullptr;
    {
      MutexLock lock(&mu_);
      std::string m = series_ < kMaxSeries || counters_.count({method, code}) ? method : "other";
      auto [it, added] = counters_.try_emplace({m, code}, nullptr);
      if (added) {
        ++series_;
        it->second =
            &metrics_->Counter("vms_rpc_requests_total", "RPCs answered, by method and status code",
                               {{"method", m}, {"code", CodeName(code)}});
      }
      counter = it->second;
      if (unary) {
        auto [h, made] = durations_.try_emplace(m, nullptr);
        if (made) {
          h->second = &metrics_->Histogram("vms_rpc_duration_seconds",
                                           "Time to answer a unary RPC, by method", kLatencyBuckets,
                                           {{"method", m}});
        }
        histogram = h->second;
      }
    }
    counter->Increment();
    if (histogram != nullptr) histogram->Observe(seconds);
  }

 private:
  Metrics* metrics_;
  Mutex mu_;
  size_t series_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<std::pair<std::string, grpc::StatusCode>, prometheus::Counter*> counters_
      ABSL_GUARDED_BY(mu_);
  std::map<std::string, prometheus::Histogram*> durations_ ABSL_GUARDED_BY(mu_);
};

class RpcInterceptor : public grpc::experimental::Interceptor {
 public:
  RpcInterceptor(RpcMetrics* metrics, grpc::experimental::ServerRpcInfo* info)
      : metrics_(metrics),
        method_(info->method() != nullptr ? info->method() : "unknown"),
        unary_(info->type() == grpc::experimental::ServerRpcInfo::Type::UNARY) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS)) {
      std::chrono::duration<double> took = std::chrono::steady_clock::now() - start_;
      metrics_->Done(method_, methods->GetSendStatus().error_code(), unary_, took.count());
    }
    methods->Proceed();
  }

 private:
  RpcMetrics* metrics_;
  std::string method_;
  bool unary_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

class RpcInterceptorFactory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit RpcInterceptorFactory(std::shared_ptr<RpcMetrics> metrics)
      : metrics_(std::move(metrics)) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new RpcInterceptor(metrics_.get(), info);
  }

 private:
  std::shared_ptr<RpcMetrics> metrics_;
};

}  // namespace

Metrics::Metrics() : registry_(std::make_shared<prometheus::Registry>()) {}

prometheus::Counter& Metrics::Counter(const std::string& name, const std::string& help,
                                      const prometheus::Labels& labels) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(*registry_).Add(labels);
}

prometheus::Gauge& Metrics::Gauge(const std::string& name, const std::string& help,
                                  const prometheus::Labels& labels) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(*registry_).Add(labels);
}

prometheus::Histogram& Metrics::Histogram(const std::string& name, const std::string& help,
                                          const std::vector<double>& buckets,
                                          const prometheus::Labels& labels) {
  return prometheus::BuildHistogram()
      .Name(name)
      .Help(help)
      .Register(*registry_)
      .Add(labels, buckets);
}

void Metrics::OnScrape(std::function<void()> fn) {
  MutexLock lock(&scrape_mu_);
  on_scrape_.push_back(std::move(fn));
}

std::string Metrics::Render() {
  MutexLock lock(&scrape_mu_);
  for (const auto& fn : on_scrape_) fn();
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, registry_->Collect());
  return out.str();
}

HttpRoute Metrics::Route() {
  return {"/metrics", "text/plain; version=0.0.4; charset=utf-8", [this] { return Render(); }};
}

void Metrics::CountRpcs(grpc::ServerBuilder* builder) {
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> factories;
  factories.push_back(std::make_unique<RpcInterceptorFactory>(std::make_shared<RpcMetrics>(this)));
  builder->experimental().SetInterceptorCreators(std::move(factories));
}

absl::StatusOr<std::unique_ptr<HttpServer>> ServeMetrics(const std::string& listen,
                                                         const TlsFiles& tls, Metrics* metrics,
                                                         const std::string& address_file) {
  if (listen.empty()) return std::unique_ptr<HttpServer>();
  return HttpServer::Start(listen, tls, {metrics->Route()}, "metrics", address_file);
}

}  // namespace vms
