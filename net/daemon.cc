#include "net/daemon.h"

#include <malloc.h>
#include <netdb.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "CLI/CLI.hpp"
#include "absl/synchronization/mutex.h"
#include "core/file_util.h"
#include "core/status_macros.h"
#include "core/strings.h"
#include "grpc/support/log.h"
#include "net/channel.h"
#include "net/rpc.h"
#include "spdlog/sinks/basic_file_sink.h"
#include "spdlog/sinks/stdout_color_sinks.h"
#include "spdlog/spdlog.h"

namespace vms {

void AddConnectionFlags(CLI::App* app, ConnectionLimits* limits) {
  app->add_option("--max-connections-per-peer", limits->per_peer,
                  "Connections one address may hold; more are closed at once (the client "
                  "retries). Raise it for many users behind one NAT address")
      ->check(CLI::Range(1u, 1u << 20));
}

void AddDaemonFlags(CLI::App* app, const std::string& binary, LogOptions* options, TlsFiles* tls,
                    std::string* metrics_listen) {
  app->set_version_flag("--version", binary + " " + VMS_VERSION);
  app->set_config("--config", "", "Read options from this TOML/INI file (keys as the long flags)");
  app->add_option("--log-file", options->file, "Append logs to this file instead of stderr");
  app->add_option("--log-level", options->level,
                  "Log level: trace, debug, info, warn, error, critical, off")
      ->capture_default_str();
  app->add_option("--tls-ca", tls->ca, "The CA certificate(s) peers must be signed by (PEM)");
  app->add_option("--tls-cert", tls->cert,
                  "This daemon's certificate (PEM), naming its vms:// principal");
  app->add_option("--tls-key", tls->key, "The certificate's private key (PEM)");
  app->add_option("--tls-revoked", tls->revoked,
                  "Serials of client certificates to refuse before they expire, one per line "
                  "(as `openssl x509 -noout -serial` prints them); read again when it changes");
  app->add_flag("--insecure", tls->insecure,
                "Plaintext, no identity: every caller may do everything. Only on a trusted "
                "network; peers need --insecure too");
  app->add_option("--metrics-listen", *metrics_listen,
                  "Serve Prometheus metrics at http://ADDR/metrics (host:port, port 0 picks one; "
                  "written to DATA/metrics-address). Off by default. With TLS, an address "
                  "other than loopback serves HTTPS and asks for a client certificate");
}

absl::StatusOr<Credentials> LoadDaemonCredentials(const TlsFiles& tls, PrincipalKind kind,
                                                  const std::string& name) {
  auto credentials = Credentials::Load(tls);
  if (!credentials.ok()) return credentials.status();
  if (credentials->insecure()) {
    spdlog::warn(
        "insecure: plaintext connections and no identity; every caller may do everything. "
        "Use --tls-ca, --tls-cert and --tls-key outside a trusted test network");
    return credentials;
  }
  auto self = ParsePrincipal(credentials->principal());
  if (!self.ok()) return self.status();
  if (self->kind != kind || (!name.empty() && self->name != name)) {
    std::string want =
        name.empty() ? StrCat("vms://", KindName(kind), "/NAME") : Principal{kind, name}.uri();
    return absl::InvalidArgumentError(StrCat("--tls-cert ", tls.cert, " names ", self->uri(),
                                             " but this daemon needs a certificate for ", want));
  }
  spdlog::info("tls principal={}", self->uri());
  return credentials;
}

absl::Status InitLogging(const std::string& name, const LogOptions& options) {
  spdlog::level::level_enum level = spdlog::level::from_str(options.level);
  if (level == spdlog::level::off && options.level != "off") {
    return absl::InvalidArgumentError(
        StrCat("unknown log level \"", options.level,
               "\": use trace, debug, info, warn, error, critical or off"));
  }
  std::shared_ptr<spdlog::logger> logger;
  try {
    logger = options.file.empty() ? spdlog::stderr_color_mt(name)
                                  : spdlog::basic_logger_mt(name, options.file);
  } catch (const spdlog::spdlog_ex& e) {
    return absl::InvalidArgumentError(StrCat("cannot open log file: ", e.what()));
  }
  logger->set_level(level);
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
  // gRPC's own messages (a refused TLS handshake and why) go to the same log.
  gpr_set_log_function([](gpr_log_func_args* args) {
    auto lvl = args->severity == GPR_LOG_SEVERITY_ERROR  ? spdlog::level::warn
               : args->severity == GPR_LOG_SEVERITY_INFO ? spdlog::level::info
                                                         : spdlog::level::debug;
    spdlog::log(lvl, "grpc: {}", args->message);
  });
  return absl::OkStatus();
}

namespace {
sigset_t ShutdownSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}
}  // namespace

void LimitMallocArenas() {
  // Measured on a 400 MiB push: the replica's peak resident memory was
  // half again its peak heap with the default.
  mallopt(M_ARENA_MAX, 4);
}

void DisableMutexDeadlockDetection() {
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
}

void ProcessDefaults() {
  LimitMallocArenas();
  DisableMutexDeadlockDetection();
}

void BlockShutdownSignals() {
  sigset_t set = ShutdownSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int WaitForShutdownSignal() {
  sigset_t set = ShutdownSignals();
  int sig = 0;
  // sigwait fails only for a bad set, or where something wraps it (as
  // libfaketime does): never spin on it.
  while (sigwait(&set, &sig) != 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  return sig;
}

absl::Status ProbeListen(const std::string& host, const std::string& port) {
  if (port == "0") return absl::OkStatus();
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  std::string h = host;
  if (h.size() > 1 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  if (int rc = getaddrinfo(h.empty() ? nullptr : h.c_str(), port.c_str(), &hints, &found);
      rc != 0) {
    return absl::InvalidArgumentError(
        StrCat("cannot listen on ", host, ":", port, ": ", gai_strerror(rc)));
  }
  std::unique_ptr<addrinfo, void (*)(addrinfo*)> owner(found, freeaddrinfo);
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    Fd fd(socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol));
    if (!fd.valid()) continue;
    int one = 1;  // as gRPC does: a port in TIME_WAIT is free
    setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd.get(), a->ai_addr, a->ai_addrlen) == 0) continue;
    if (errno == EADDRINUSE) {
      return absl::FailedPreconditionError(
          StrCat("cannot listen on ", host, ":", port,
                 ": the address is already in use (another vms daemon, or another program, listens "
                 "there; `ss -ltnp 'sport = :",
                 port, "'` shows which); stop it or pick another address"));
    }
    return ErrnoError(errno, StrCat("cannot listen on ", host, ":", port));
  }
  return absl::OkStatus();
}

absl::StatusOr<Listening> StartServer(grpc::ServerBuilder* builder, const std::string& listen,
                                      const Credentials& credentials,
                                      const std::string& address_file) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos) {
    return absl::InvalidArgumentError(
        StrCat("listen address \"", listen, "\" is not host:port (e.g. 127.0.0.1:7700)"));
  }
  VMS_RETURN_IF_ERROR(ProbeListen(listen.substr(0, colon), listen.substr(colon + 1)));
  int port = 0;
  ConfigureServer(builder);
  builder->AddListeningPort(listen, credentials.ForServer(), &port);
  std::unique_ptr<grpc::Server> server = builder->BuildAndStart();
  if (server == nullptr || port == 0) {
    return absl::UnavailableError(
        StrCat("cannot listen on ", listen, " (in use, or not an address of this host?)"));
  }
  std::string bound = StrCat(listen.substr(0, colon), ":", port);
  VMS_RETURN_IF_ERROR(WriteFileAtomic(address_file, bound + "\n"));
  spdlog::info("listening address={}", bound);
  return Listening{std::move(server), bound};
}

void ServeUntilSignal(grpc::Server* server, const std::function<void()>& before_shutdown,
                      std::chrono::milliseconds grace) {
  int sig = WaitForShutdownSignal();
  spdlog::info("shutting down signal={}", sig);
  if (before_shutdown) before_shutdown();
  server->Shutdown(DeadlineAfter(grace));
  server->Wait();
}

}  // namespace vms
