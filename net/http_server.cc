#include "net/http_server.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <memory>
#include <thread>
#include <unordered_map>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "core/file_util.h"
#include "core/status_macros.h"
#include "core/strings.h"
#include "core/x509.h"
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

using Clock = std::chrono::steady_clock;
constexpr size_t kMaxHeader = 8192;

struct SslCtxFree {
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
struct SslFree {
  void operator()(SSL* s) const { SSL_free(s); }
};

std::string OpenSslErrors() {
  std::string out;
  for (unsigned long e; (e = ERR_get_error()) != 0;) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out;
}

// OK when the TLS peer's certificate names exactly one vms principal and is
// not revoked; the principal's name in *who either way, when known.
absl::Status CheckPeer(SSL* ssl, RevokedSerials* revoked, std::string* who) {
  std::unique_ptr<X509, decltype(&X509_free)> cert(SSL_get1_peer_certificate(ssl), X509_free);
  if (cert == nullptr) return absl::UnauthenticatedError("no client certificate");
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  if (bio == nullptr || PEM_write_bio_X509(bio.get(), cert.get()) != 1) {
    return absl::InternalError("cannot read the client certificate");
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  const std::string_view pem(data, static_cast<size_t>(len));
  auto principal = PrincipalOfCertificate(pem);
  if (!principal.ok()) {
    return absl::PermissionDeniedError(
        StrCat("the client's certificate: ", principal.status().message()));
  }
  *who = principal->uri();
  if (revoked != nullptr) {
    auto info = ReadCertificate(pem);
    if (info.ok() && revoked->Has(info->serial)) {
      return absl::PermissionDeniedError(
          StrCat("the certificate of ", *who, " (serial ", info->serial, ") is revoked"));
    }
  }
  return absl::OkStatus();
}

std::string PeerAddress(const sockaddr_storage& a) {
  char text[INET6_ADDRSTRLEN] = "?";
  if (a.ss_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(a).sin_addr, text, sizeof text);
  } else if (a.ss_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6&>(a).sin6_addr, text, sizeof text);
  }
  return text;
}

const char* Reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 413:
      return "Content Too Large";
    case 431:
      return "Request Header Fields Too Large";
    case 505:
      return "HTTP Version Not Supported";
  }
  return "Error";
}

}  // namespace

struct HttpServer::Impl {
  struct Conn {
    Fd fd;
    std::unique_ptr<SSL, SslFree> ssl;
    std::string peer;
    enum Phase { kHandshake, kRead, kWrite } phase = kRead;
    std::string in, out;
    size_t written = 0;
    bool close_after = false;
    int served = 0;
    Clock::time_point deadline;
    uint32_t events = 0;   // what epoll watches for now
    absl::Status refusal;  // of the client's certificate: every request gets 403
  };

  std::string what;
  Limits limits;
  std::vector<HttpRoute> routes;
  std::unique_ptr<SSL_CTX, SslCtxFree> ctx;  // null: plain HTTP
  std::unique_ptr<RevokedSerials> revoked;
  Fd listen_fd, epoll_fd, wake_fd;
  std::atomic<bool> stopping{false};
  std::thread thread;
  // Only the serving thread touches these.
  std::unordered_map<uint64_t, std::unique_ptr<Conn>> conns;
  std::map<std::string, int> per_peer;
  uint64_t next_id = 2;  // 0: the listener, 1: the wake-up
  Clock::time_point accept_paused_until{};

  void Serve();
  void Accept();
  void Drive(uint64_t id, Conn& c);
  void Close(uint64_t id);
  void Watch(uint64_t id, Conn& c, uint32_t events);
  void Answer(Conn& c, size_t header_end);
  // >0 bytes, 0 at end of file, -1 would block (c.events updated), -2 error.
  ssize_t Read(uint64_t id, Conn& c, char* buf, size_t n);
  ssize_t Write(uint64_t id, Conn& c, const char* buf, size_t n);
  // After an OpenSSL call on c that returned `rc` <= 0: as Read() says.
  ssize_t SslFailed(uint64_t id, Conn& c, int rc);
};

void HttpServer::Impl::Serve() {
  epoll_event events[64];
  while (!stopping.load()) {
    auto now = Clock::now();
    auto next = now + std::chrono::seconds(1);
    for (auto& [id, c] : conns) next = std::min(next, c->deadline);
    if (accept_paused_until > now) next = std::min(next, accept_paused_until);
    int timeout = static_cast<int>(
                      std::chrono::duration_cast<std::chrono::milliseconds>(next - now).count()) +
                  1;
    int n = epoll_wait(epoll_fd.get(), events, 64, std::max(timeout, 0));
    for (int i = 0; i < n; ++i) {
      const uint64_t id = events[i].data.u64;
      if (id == 0) {
        Accept();
      } else if (id != 1) {
        auto it = conns.find(id);
        if (it != conns.end()) Drive(id, *it->second);
      }
    }
    now = Clock::now();
    if (accept_paused_until != Clock::time_point{} && accept_paused_until <= now) {
      accept_paused_until = {};
      epoll_event ev{.events = EPOLLIN, .data = {.u64 = 0}};
      epoll_ctl(epoll_fd.get(), EPOLL_CTL_ADD, listen_fd.get(), &ev);
    }
    std::vector<uint64_t> late;
    for (auto& [id, c] : conns) {
      if (c->deadline <= now) late.push_back(id);
    }
    for (uint64_t id : late) {
      Conn& c = *conns[id];
      spdlog::debug("{}: closed the connection of {}: {} not complete in time", what, c.peer,
                    c.phase == Conn::kWrite ? "answer" : "request");
      Close(id);
    }
  }
  std::vector<uint64_t> all;
  for (auto& [id, c] : conns) all.push_back(id);
  for (uint64_t id : all) Close(id);
}

void HttpServer::Impl::Accept() {
  for (;;) {
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    Fd fd(accept4(listen_fd.get(), reinterpret_cast<sockaddr*>(&addr), &len,
                  SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!fd.valid()) {
      if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED) return;
      // Out of descriptors (or memory): try again shortly rather than spin
      // on a listener that stays readable.
      spdlog::warn("{}: accept: {}; pausing for 100 ms", what, strerror(errno));
      epoll_ctl(epoll_fd.get(), EPOLL_CTL_DEL, listen_fd.get(), nullptr);
      accept_paused_until = Clock::now() + std::chrono::milliseconds(100);
      return;
    }
    std::string peer = PeerAddress(addr);
    if (static_cast<int>(conns.size()) >= limits.max_connections ||
        per_peer[peer] >= limits.max_per_peer) {
      spdlog::debug("{}: closed a connection from {} at once: {} connections ({} from it)", what,
                    peer, conns.size(), per_peer[peer]);
      if (per_peer[peer] == 0) per_peer.erase(peer);
      continue;  // fd closes here
    }
    auto c = std::make_unique<Conn>();
    c->fd = std::move(fd);
    c->peer = peer;
    c->deadline = Clock::now() + limits.request_deadline;
    if (ctx != nullptr) {
      c->ssl.reset(SSL_new(ctx.get()));
      if (c->ssl == nullptr || SSL_set_fd(c->ssl.get(), c->fd.get()) != 1) {
        spdlog::warn("{}: cannot start TLS for {}: {}", what, peer, OpenSslErrors());
        continue;
      }
      SSL_set_accept_state(c->ssl.get());
      c->phase = Conn::kHandshake;
    }
    ++per_peer[peer];
    const uint64_t id = next_id++;
    Conn& ref = *c;
    conns.emplace(id, std::move(c));
    epoll_event ev{.events = EPOLLIN, .data = {.u64 = id}};
    ref.events = EPOLLIN;
    epoll_ctl(epoll_fd.get(), EPOLL_CTL_ADD, ref.fd.get(), &ev);
    Drive(id, ref);
  }
}

void HttpServer::Impl::Close(uint64_t id) {
  auto it = conns.find(id);
  if (it == conns.end()) return;
  Conn& c = *it->second;
  epoll_ctl(epoll_fd.get(), EPOLL_CTL_DEL, c.fd.get(), nullptr);
  if (c.ssl != nullptr && c.phase != Conn::kHandshake) SSL_shutdown(c.ssl.get());
  if (--per_peer[c.peer] <= 0) per_peer.erase(c.peer);
  conns.erase(it);
}

void HttpServer::Impl::Watch(uint64_t id, Conn& c, uint32_t events) {
  if (c.events == events) return;
  c.events = events;
  epoll_event ev{.events = events, .data = {.u64 = id}};
  epoll_ctl(epoll_fd.get(), EPOLL_CTL_MOD, c.fd.get(), &ev);
}

ssize_t HttpServer::Impl::Read(uint64_t id, Conn& c, char* buf, size_t n) {
  if (c.ssl == nullptr) {
    ssize_t got = recv(c.fd.get(), buf, n, 0);
    if (got >= 0) return got;
    if (errno == EAGAIN || errno == EINTR) {
      Watch(id, c, EPOLLIN);
      return -1;
    }
    return -2;
  }
  int got = SSL_read(c.ssl.get(), buf, static_cast<int>(n));
  return got > 0 ? got : SslFailed(id, c, got);
}

ssize_t HttpServer::Impl::SslFailed(uint64_t id, Conn& c, int rc) {
  switch (SSL_get_error(c.ssl.get(), rc)) {
    case SSL_ERROR_WANT_READ:
      Watch(id, c, EPOLLIN);
      return -1;
    case SSL_ERROR_WANT_WRITE:
      Watch(id, c, EPOLLOUT);
      return -1;
    case SSL_ERROR_ZERO_RETURN:
      return 0;
  }
  ERR_clear_error();
  return -2;
}

ssize_t HttpServer::Impl::Write(uint64_t id, Conn& c, const char* buf, size_t n) {
  if (c.ssl == nullptr) {
    ssize_t put = send(c.fd.get(), buf, n, MSG_NOSIGNAL);
    if (put >= 0) return put;
    if (errno == EAGAIN || errno == EINTR) {
      Watch(id, c, EPOLLOUT);
      return -1;
    }
    return -2;
  }
  int put = SSL_write(c.ssl.get(), buf, static_cast<int>(std::min<size_t>(n, 1 << 20)));
  if (put > 0) return put;
  const ssize_t failed = SslFailed(id, c, put);
  return failed == 0 ? -2 : failed;  // closed mid-answer: an error here
}

void HttpServer::Impl::Drive(uint64_t id, Conn& c) {
  for (;;) {
    switch (c.phase) {
      case Conn::kHandshake: {
        int rc = SSL_do_handshake(c.ssl.get());
        if (rc == 1) {
          std::string who;
          c.refusal = CheckPeer(c.ssl.get(), revoked.get(), &who);
          if (!c.refusal.ok()) {
            spdlog::warn("{}: refusing HTTPS requests from {} ({}): {}", what, c.peer,
                         who.empty() ? "no principal" : who, Sv(c.refusal.message()));
          }
          c.phase = Conn::kRead;
          continue;
        }
        int err = SSL_get_error(c.ssl.get(), rc);
        if (err == SSL_ERROR_WANT_READ) return Watch(id, c, EPOLLIN);
        if (err == SSL_ERROR_WANT_WRITE) return Watch(id, c, EPOLLOUT);
        const long verify = SSL_get_verify_result(c.ssl.get());
        std::string why =
            verify != X509_V_OK ? X509_verify_cert_error_string(verify) : OpenSslErrors();
        ERR_clear_error();
        spdlog::warn("{}: refused an HTTPS handshake from {}: {}", what, c.peer,
                     why.empty() ? "the client hung up" : why);
        return Close(id);
      }
      case Conn::kRead: {
        if (size_t end = c.in.find("\r\n\r\n"); end != std::string::npos) {
          Answer(c, end + 4);
          c.phase = Conn::kWrite;
          c.written = 0;
          c.deadline = Clock::now() + limits.write_deadline;
          continue;
        }
        if (c.in.size() >= kMaxHeader) {
          c.in.clear();
          c.out =
              "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\n"
              "Connection: close\r\n\r\n";
          c.close_after = true;
          c.phase = Conn::kWrite;
          c.written = 0;
          c.deadline = Clock::now() + limits.write_deadline;
          continue;
        }
        char buf[4096];
        ssize_t got = Read(id, c, buf, std::min(sizeof buf, kMaxHeader - c.in.size()));
        if (got == -1) return;
        if (got <= 0) return Close(id);
        c.in.append(buf, static_cast<size_t>(got));
        continue;
      }
      case Conn::kWrite: {
        if (c.written < c.out.size()) {
          ssize_t put = Write(id, c, c.out.data() + c.written, c.out.size() - c.written);
          if (put == -1) return;
          if (put < 0) return Close(id);
          c.written += static_cast<size_t>(put);
          continue;
        }
        if (c.close_after || ++c.served >= limits.requests_per_connection) return Close(id);
        c.out.clear();
        c.phase = Conn::kRead;
        c.deadline = Clock::now() + limits.request_deadline;
        Watch(id, c, EPOLLIN);
        continue;
      }
    }
  }
}

// Parses the request in c.in[0, header_end) and puts the answer in c.out.
void HttpServer::Impl::Answer(Conn& c, size_t header_end) {
  const std::string head = c.in.substr(0, header_end);
  c.in.erase(0, header_end);
  int status = 200;
  std::string body, type = "text/plain; charset=utf-8";
  bool head_only = false;
  const size_t line_end = head.find("\r\n");
  const std::string line = head.substr(0, line_end);
  const std::vector<std::string> parts = absl::StrSplit(line, ' ');
  // Headers that matter: Connection, and any sign of a body (refused: this
  // server reads none, so it could not find where the next request starts).
  bool http10 = false, keep_alive = false, close = false, body_sent = false;
  for (size_t at = line_end + 2; at < head.size();) {
    size_t end = head.find("\r\n", at);
    if (end == std::string::npos || end == at) break;
    std::string field = head.substr(at, end - at);
    at = end + 2;
    size_t colon = field.find(':');
    if (colon == std::string::npos) continue;
    std::string name = absl::AsciiStrToLower(field.substr(0, colon));
    std::string value = absl::AsciiStrToLower(absl::StripAsciiWhitespace(field.substr(colon + 1)));
    if (name == "connection") {
      close = close || value.find("close") != std::string::npos;
      keep_alive = keep_alive || value.find("keep-alive") != std::string::npos;
    } else if ((name == "content-length" && value != "0") || name == "transfer-encoding") {
      body_sent = true;
    }
  }
  if (parts.size() != 3 || !parts[2].starts_with("HTTP/1.")) {
    status = parts.size() == 3 && parts[2].starts_with("HTTP/") ? 505 : 400;
    body = "a request line is METHOD PATH HTTP/1.x\n";
    close = true;
  } else if (body_sent) {
    status = 413;
    body = "requests here carry no body\n";
    close = true;
  } else {
    http10 = parts[2] == "HTTP/1.0";
    head_only = parts[0] == "HEAD";
    const std::string path = parts[1].substr(0, parts[1].find('?'));
    const HttpRoute* route = nullptr;
    for (const HttpRoute& r : routes) {
      if (r.path == path) route = &r;
    }
    if (parts[0] != "GET" && parts[0] != "HEAD") {
      status = 405;
      body = "only GET and HEAD\n";
    } else if (route == nullptr) {
      status = 404;
      body = "not found\n";
    } else if (!c.refusal.ok()) {
      // The same identity rule as the gRPC port: a client certificate names
      // exactly one vms principal (OpenSSL checked its chain already).
      status = 403;
      body = StrCat(c.refusal.message(), "\n");
    } else {
      body = route->body();
      type = route->content_type;
    }
  }
  c.close_after = close || (http10 && !keep_alive);
  c.out = StrCat("HTTP/1.1 ", status, " ", Reason(status), "\r\nContent-Type: ", type,
                 "\r\nContent-Length: ", body.size(), "\r\nCache-Control: no-store\r\nConnection: ",
                 c.close_after ? "close" : "keep-alive", "\r\n\r\n");
  if (!head_only) c.out += body;
}

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(
    const std::string& listen, const TlsFiles& tls, std::vector<HttpRoute> routes,
    const std::string& what, const std::string& address_file, const Limits& limits) {
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
  // A client that hangs up mid-answer must not kill the daemon (OpenSSL
  // writes with write(2)).
  signal(SIGPIPE, SIG_IGN);
  const bool loopback = IsLoopbackHost(host);
  const bool use_tls = !tls.insecure && !loopback;
  auto impl = std::make_unique<Impl>();
  impl->what = what;
  impl->limits = limits;
  impl->routes = std::move(routes);
  if (use_tls) {
    impl->ctx.reset(SSL_CTX_new(TLS_server_method()));
    SSL_CTX* ctx = impl->ctx.get();
    if (ctx == nullptr || SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
        SSL_CTX_use_certificate_chain_file(ctx, tls.cert.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, tls.key.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1 ||
        SSL_CTX_load_verify_locations(ctx, tls.ca.c_str(), nullptr) != 1) {
      return absl::InvalidArgumentError(
          StrCat("cannot serve ", what, " over HTTPS on ", listen, " with --tls-cert ", tls.cert,
                 ", --tls-key ", tls.key, " and --tls-ca ", tls.ca,
                 ": check that they are readable PEM files (", OpenSslErrors(), ")"));
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    if (!tls.revoked.empty()) impl->revoked = std::make_unique<RevokedSerials>(tls.revoked);
  } else if (!loopback) {
    spdlog::warn("{} served over plain HTTP on {} (--insecure): anyone who reaches it reads it",
                 what, listen);
  }
  if (host.size() > 1 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  if (int rc = getaddrinfo(host.c_str(), port_text.c_str(), &hints, &found); rc != 0) {
    return absl::InvalidArgumentError(
        StrCat("--", what, "-listen \"", listen, "\": ", gai_strerror(rc)));
  }
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> addrs(found, freeaddrinfo);
  int err = 0;
  for (addrinfo* a = found; a != nullptr && !impl->listen_fd.valid(); a = a->ai_next) {
    Fd fd(socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol));
    if (!fd.valid()) continue;
    // SO_REUSEADDR: a port a predecessor closed (its connections in
    // TIME_WAIT) can be bound again at once. Never SO_REUSEPORT: two daemons
    // do not share a port.
    int yes = 1;
    setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    if (bind(fd.get(), a->ai_addr, a->ai_addrlen) == 0 && ::listen(fd.get(), 128) == 0) {
      impl->listen_fd = std::move(fd);
    } else {
      err = errno;
    }
  }
  if (!impl->listen_fd.valid()) {
    return absl::UnavailableError(StrCat("cannot serve ", what, " on ", listen, ": ", strerror(err),
                                         " (in use, or not an address of this host?)"));
  }
  sockaddr_storage bound{};
  socklen_t bound_len = sizeof bound;
  getsockname(impl->listen_fd.get(), reinterpret_cast<sockaddr*>(&bound), &bound_len);
  const int bound_port =
      ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6&>(bound).sin6_port
                                        : reinterpret_cast<sockaddr_in&>(bound).sin_port);
  impl->epoll_fd = Fd(epoll_create1(EPOLL_CLOEXEC));
  impl->wake_fd = Fd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!impl->epoll_fd.valid() || !impl->wake_fd.valid()) {
    return ErrnoError(errno, StrCat("cannot serve ", what, ": epoll"));
  }
  epoll_event ev{.events = EPOLLIN, .data = {.u64 = 0}};
  epoll_ctl(impl->epoll_fd.get(), EPOLL_CTL_ADD, impl->listen_fd.get(), &ev);
  ev.data.u64 = 1;
  epoll_ctl(impl->epoll_fd.get(), EPOLL_CTL_ADD, impl->wake_fd.get(), &ev);
  std::string address = StrCat(listen.substr(0, colon), ":", bound_port);
  if (!address_file.empty()) {
    VMS_RETURN_IF_ERROR(WriteFileAtomic(address_file, address + "\n"));
  }
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->Serve(); });
  auto server =
      std::unique_ptr<HttpServer>(new HttpServer(std::move(impl), std::move(address), use_tls));
  spdlog::info("serving {} url={}", what, server->url());
  return server;
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl, std::string address, bool tls)
    : impl_(std::move(impl)), address_(std::move(address)), tls_(tls) {}

HttpServer::~HttpServer() {
  impl_->stopping.store(true);
  uint64_t one = 1;
  (void)!write(impl_->wake_fd.get(), &one, sizeof one);
  if (impl_->thread.joinable()) impl_->thread.join();
}

std::string HttpServer::url() const { return StrCat(tls_ ? "https://" : "http://", address_); }

}  // namespace vms
