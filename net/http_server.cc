#include "net/http_server.h"

#include <arpa/inet.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <sys/socket.h>

#include <memory>
#include <thread>
#include <utility>

#include "absl/strings/numbers.h"
#include "core/file_util.h"
#include "core/status_macros.h"
#include "core/strings.h"
#include "core/x509.h"
#include "httplib.h"
#include "net/daemon.h"
#include "spdlog/spdlog.h"

namespace vms {

bool IsLoopbackHost(const std::string& host) {
  std::string h = host;
  if (h.size() > 1 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  if (h == "localhost") return true;
  in_addr v4{};
  if (inet_pton(AF_INET, h.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  return inet_pton(AF_INET6, h.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

namespace {

// OK when the TLS peer's certificate names exactly one vms principal.
absl::Status PeerPrincipalOf(const SSL* ssl) {
  if (ssl == nullptr) return absl::UnauthenticatedError("no TLS session");
  std::unique_ptr<X509, decltype(&X509_free)> cert(SSL_get1_peer_certificate(ssl), X509_free);
  if (cert == nullptr) return absl::UnauthenticatedError("no client certificate");
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  if (bio == nullptr || PEM_write_bio_X509(bio.get(), cert.get()) != 1) {
    return absl::InternalError("cannot read the client certificate");
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  auto principal = PrincipalOfCertificate(std::string_view(data, static_cast<size_t>(len)));
  if (!principal.ok()) {
    return absl::PermissionDeniedError(
        StrCat("the client's certificate: ", principal.status().message()));
  }
  return absl::OkStatus();
}

}  // namespace

struct HttpServer::Impl {
  std::unique_ptr<httplib::Server> server;
  std::thread thread;
};

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(const std::string& listen,
                                                              const TlsFiles& tls,
                                                              std::vector<HttpRoute> routes,
                                                              const std::string& what,
                                                              const std::string& address_file) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return absl::InvalidArgumentError(
        StrCat("--", what, "-listen \"", listen, "\" is not host:port (e.g. 127.0.0.1:9100)"));
  }
  std::string host = listen.substr(0, colon), port_text = listen.substr(colon + 1);
  int port = 0;
  if (!absl::SimpleAtoi(port_text, &port) || port < 0 || port > 65535) {
    return absl::InvalidArgumentError(
        StrCat("--", what, "-listen \"", listen, "\": the port is not a number 0-65535"));
  }
  VMS_RETURN_IF_ERROR(ProbeListen(host, port_text));
  // OpenSSL writes to the socket with write(2): a client that hangs up
  // mid-answer must not kill the daemon.
  signal(SIGPIPE, SIG_IGN);
  const bool loopback = IsLoopbackHost(host);
  const bool use_tls = !tls.insecure && !loopback;
  auto impl = std::make_unique<Impl>();
  if (use_tls) {
    impl->server =
        std::make_unique<httplib::SSLServer>(tls.cert.c_str(), tls.key.c_str(), tls.ca.c_str());
    if (!impl->server->is_valid()) {
      return absl::InvalidArgumentError(StrCat("cannot serve ", what, " over HTTPS on ", listen,
                                               " with --tls-cert ", tls.cert, ", --tls-key ",
                                               tls.key, " and --tls-ca ", tls.ca,
                                               ": check that they are readable PEM files"));
    }
  } else {
    impl->server = std::make_unique<httplib::Server>();
    if (!loopback) {
      spdlog::warn("{} served over plain HTTP on {} (--insecure): anyone who reaches it reads it",
                   what, listen);
    }
  }
  httplib::Server& s = *impl->server;
  s.new_task_queue = [] { return new httplib::ThreadPool(kThreads); };
  s.set_keep_alive_max_count(kRequestsPerConnection);
  s.set_keep_alive_timeout(kIdle.count());
  s.set_read_timeout(kIdle.count());
  s.set_write_timeout(kIdle.count());
  s.set_payload_max_length(0);
  // SO_REUSEADDR alone, not cpp-httplib's default SO_REUSEPORT as well: two
  // daemons never share a port, and a port a predecessor closed (its
  // connections in TIME_WAIT) can be bound again at once.
  s.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  for (HttpRoute& route : routes) {
    const std::string path = route.path;
    s.Get(path,
          [r = std::move(route), use_tls](const httplib::Request& req, httplib::Response& res) {
            res.set_header("Cache-Control", "no-store");
            // The same identity rule as the gRPC port: a client certificate names
            // exactly one vms principal (OpenSSL checked its chain already).
            if (use_tls) {
              if (absl::Status who = PeerPrincipalOf(req.ssl); !who.ok()) {
                spdlog::warn("refused an HTTPS request for {}: {}", req.path, Sv(who.message()));
                res.status = 403;
                res.set_content(StrCat(who.message(), "\n"), "text/plain");
                return;
              }
            }
            res.set_content(r.body(), r.content_type);
          });
  }
  if (host.size() > 1 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  int bound = port == 0 ? s.bind_to_any_port(host) : (s.bind_to_port(host, port) ? port : -1);
  if (bound <= 0) {
    return absl::UnavailableError(StrCat("cannot serve ", what, " on ", listen,
                                         " (in use, or not an address of this host?)"));
  }
  impl->thread = std::thread([&s] { s.listen_after_bind(); });
  std::string address = StrCat(listen.substr(0, colon), ":", bound);
  if (!address_file.empty()) {
    if (absl::Status written = WriteFileAtomic(address_file, address + "\n"); !written.ok()) {
      s.stop();
      impl->thread.join();
      return written;
    }
  }
  auto server =
      std::unique_ptr<HttpServer>(new HttpServer(std::move(impl), std::move(address), use_tls));
  spdlog::info("serving {} url={}", what, server->url());
  return server;
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl, std::string address, bool tls)
    : impl_(std::move(impl)), address_(std::move(address)), tls_(tls) {}

HttpServer::~HttpServer() {
  impl_->server->stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

std::string HttpServer::url() const { return StrCat(tls_ ? "https://" : "http://", address_); }

}  // namespace vms
