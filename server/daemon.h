// What every vms daemon's main() needs: logging, signals, a listening server.
#ifndef VMS_SERVER_DAEMON_H_
#define VMS_SERVER_DAEMON_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"

namespace CLI {
class App;
}

namespace vms {

struct LogOptions {
  std::string file;  // empty: stderr
  std::string level = "info";
};

// Adds --log-file and --log-level to `app`.
void AddLogFlags(CLI::App* app, LogOptions* options);

// Creates the logger `name` (stderr or a file), makes it the default, and
// sets the level. Fails with InvalidArgument on an unknown level or a file
// that cannot be opened.
absl::Status InitLogging(const std::string& name, const LogOptions& options);

// Blocks SIGTERM and SIGINT in the calling thread and every thread it starts
// afterwards; call first thing in main(). WaitForShutdownSignal() then returns
// the signal number when one arrives.
void BlockShutdownSignals();
int WaitForShutdownSignal();

// Builds and starts `builder` listening on `listen` (host:port; port 0 picks
// one). Writes the bound "host:port" atomically to `address_file` so tests
// and scripts can find it. FailedPrecondition, saying so, when the address
// is already in use: two daemons never share a port (no SO_REUSEPORT).
absl::StatusOr<std::unique_ptr<grpc::Server>> StartServer(grpc::ServerBuilder* builder,
                                                          const std::string& listen,
                                                          const std::string& address_file);

}  // namespace vms

#endif  // VMS_SERVER_DAEMON_H_
