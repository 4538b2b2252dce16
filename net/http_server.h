// A small read-only HTTP server for what people and Prometheus read from a
// daemon: /metrics on every daemon, the master's status page and its JSON.
// cpp-httplib underneath; nothing here writes anything.
//
// Transport follows the daemon's gRPC settings (net/tls.h):
// - a daemon with TLS serves HTTPS with its own certificate on any address
//   but loopback, and requires a client certificate from the same CA, as its
//   gRPC port does (Prometheus scrapes with a vms certificate; a person's
//   browser presents theirs);
// - on a loopback address (127.0.0.0/8, ::1, localhost) it serves plain
//   HTTP: only this host reaches it, and a person opens it with no
//   certificate (ops/quickstart does this);
// - an --insecure daemon serves plain HTTP anywhere, with a warning when the
//   address is not loopback.
//
// Event-driven and bounded (a slow or silent client holds a few kilobytes,
// never a thread): one thread serves every connection; each request
// (TLS handshake and headers included) must arrive whole within
// Limits::request_deadline of the connection's start or of the previous
// answer, however the bytes trickle, and each answer be taken within
// Limits::write_deadline; at most Limits::max_connections at once and
// Limits::max_per_peer from one address (more are closed at once);
// headers up to 8 KiB; only GET (and HEAD) of the registered paths, no
// request body. Handlers run on that thread and must be quick (the status
// page's is cached).
#ifndef VMS_NET_HTTP_SERVER_H_
#define VMS_NET_HTTP_SERVER_H_

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "net/tls.h"

namespace vms {

struct HttpRoute {
  std::string path;          // exact, e.g. "/metrics"
  std::string content_type;  // e.g. "text/plain; version=0.0.4"
  std::function<std::string()> body;
};

class HttpServer {
 public:
  struct Limits {
    int max_connections = 256;
    int max_per_peer = 32;
    std::chrono::milliseconds request_deadline{5000};
    std::chrono::milliseconds write_deadline{20000};
    int requests_per_connection = 100;
  };

  // Listens on `listen` (host:port; port 0 picks one) and serves `routes`
  // until destroyed; writes the bound host:port to `address_file` (unless
  // empty), atomically. `what` names the endpoint in logs and errors, and
  // its flag (--WHAT-listen): "metrics", "http".
  // FailedPrecondition when the address is in use; InvalidArgument for an
  // address that is not host:port or TLS files the HTTP side cannot load.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(
      const std::string& listen, const TlsFiles& tls, std::vector<HttpRoute> routes,
      const std::string& what, const std::string& address_file, const Limits& limits);
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(const std::string& listen,
                                                           const TlsFiles& tls,
                                                           std::vector<HttpRoute> routes,
                                                           const std::string& what,
                                                           const std::string& address_file) {
    return Start(listen, tls, std::move(routes), what, address_file, Limits{});
  }
  ~HttpServer();  // stops serving and joins its threads
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  const std::string& address() const { return address_; }  // host:port as bound
  // "http://127.0.0.1:9100" or "https://...".
  std::string url() const;

 private:
  struct Impl;
  HttpServer(std::unique_ptr<Impl> impl, std::string address, bool tls);
  std::unique_ptr<Impl> impl_;
  std::string address_;
  bool tls_ = false;
};

// Whether `host` (as in a listen address) is a loopback address or name.
bool IsLoopbackHost(const std::string& host);

}  // namespace vms

#endif  // VMS_NET_HTTP_SERVER_H_
