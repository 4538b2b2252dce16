// What every vms daemon's main() needs, in one place for vms-master,
// vms-replica and vms-fuse: the common flags (--version, --config, logging),
// logging itself, shutdown signals, and a listening server.
#ifndef VMS_NET_DAEMON_H_
#define VMS_NET_DAEMON_H_

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"
#include "net/accept_guard.h"
#include "net/tls.h"

namespace CLI {
class App;
}

namespace vms {

struct LogOptions {
  std::string file;  // empty: stderr
  std::string level = "info";
};

// Adds --version (printing "BINARY VERSION"), --config (a TOML/INI file whose
// keys are the long flags), --log-file, --log-level, --tls-ca, --tls-cert,
// --tls-key, --insecure and --metrics-listen (net/metrics.h) to `app`.
void AddDaemonFlags(CLI::App* app, const std::string& binary, LogOptions* log, TlsFiles* tls,
                    std::string* metrics_listen);

// Adds --max-connections-per-peer (net/accept_guard.h) to a daemon that
// listens; GuardAccepts(*limits) once the flags are parsed.
void AddConnectionFlags(CLI::App* app, ConnectionLimits* limits);

// Loads the daemon's credentials (net/tls.h) after logging is up, and checks
// that its certificate names a principal of `kind` (and `name`, unless
// empty): a replica of site ny is vms://site/ny. Insecure is logged as a
// warning. The error names the flag and what to do.
absl::StatusOr<Credentials> LoadDaemonCredentials(const TlsFiles& tls, PrincipalKind kind,
                                                  const std::string& name = "");

// Creates the logger `name` (stderr or a file), makes it the default, and
// sets the level. Fails with InvalidArgument on an unknown level or a file
// that cannot be opened.
absl::Status InitLogging(const std::string& name, const LogOptions& options);

// Bounds glibc's malloc arenas (one per thread by default, up to 8 per
// core): a daemon's many threads each keeping freed buffers of big objects
// would hold far more than it uses. Call first thing in main().
void LimitMallocArenas();

// Debian builds abseil without NDEBUG, so every absl::Mutex (gRPC's locks)
// checks each acquisition for deadlock cycles and records its stack: about
// 3% of a replica's CPU in the world benchmark. Turns that off, as an
// upstream release build has it. Call first thing in main(), with
// LimitMallocArenas() (ProcessDefaults() does both).
void DisableMutexDeadlockDetection();
void ProcessDefaults();

// Blocks SIGTERM and SIGINT in the calling thread and every thread it starts
// afterwards; call first thing in main(). WaitForShutdownSignal() then returns
// the signal number when one arrives.
void BlockShutdownSignals();
int WaitForShutdownSignal();

// Binds `host:port` once (without SO_REUSEPORT) to tell "in use" from other
// failures before a server tries: gRPC's and cpp-httplib's own errors say
// neither. FailedPrecondition, naming the port and how to find its holder,
// when in use; OK for port 0.
absl::Status ProbeListen(const std::string& host, const std::string& port);

struct Listening {
  std::unique_ptr<grpc::Server> server;
  std::string address;  // host:port as bound (port 0 resolved)
};

// Builds and starts `builder` listening on `listen` (host:port; port 0 picks
// one). Writes the bound "host:port" atomically to `address_file` so tests
// and scripts can find it. FailedPrecondition, saying so, when the address
// is already in use: two daemons never share a port (no SO_REUSEPORT).
absl::StatusOr<Listening> StartServer(grpc::ServerBuilder* builder, const std::string& listen,
                                      const Credentials& credentials,
                                      const std::string& address_file);

// Waits for SIGTERM or SIGINT (see BlockShutdownSignals), then stops
// `server`: `before_shutdown` first (streams tell their followers, who can
// turn elsewhere at once), then gRPC's shutdown, which lets calls in flight
// finish within `grace`.
void ServeUntilSignal(grpc::Server* server, const std::function<void()>& before_shutdown,
                      std::chrono::milliseconds grace = std::chrono::seconds(3));

}  // namespace vms

#endif  // VMS_NET_DAEMON_H_
