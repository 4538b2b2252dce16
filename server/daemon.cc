#include "server/daemon.h"

#include <signal.h>

#include "CLI/CLI.hpp"
#include "core/strings.h"
#include "core/file_util.h"
#include "proto/wire.h"
#include "spdlog/sinks/basic_file_sink.h"
#include "spdlog/sinks/stdout_color_sinks.h"
#include "spdlog/spdlog.h"

namespace vms {

void AddLogFlags(CLI::App* app, LogOptions* options) {
  app->add_option("--log-file", options->file, "Append logs to this file instead of stderr");
  app->add_option("--log-level", options->level,
                  "Log level: trace, debug, info, warn, error, critical, off")
      ->capture_default_str();
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

void BlockShutdownSignals() {
  sigset_t set = ShutdownSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int WaitForShutdownSignal() {
  sigset_t set = ShutdownSignals();
  int sig = 0;
  while (sigwait(&set, &sig) != 0) {
  }
  return sig;
}

absl::StatusOr<std::unique_ptr<grpc::Server>> StartServer(grpc::ServerBuilder* builder,
                                                         const std::string& listen,
                                                         const std::string& address_file) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos) {
    return absl::InvalidArgumentError(
        StrCat("listen address \"", listen, "\" is not host:port (e.g. 127.0.0.1:7700)"));
  }
  int port = 0;
  ConfigureServer(builder);
  builder->AddListeningPort(listen, grpc::InsecureServerCredentials(), &port);
  std::unique_ptr<grpc::Server> server = builder->BuildAndStart();
  if (server == nullptr || port == 0) {
    return absl::UnavailableError(
        StrCat("cannot listen on ", listen, " (in use, or not an address of this host?)"));
  }
  std::string bound = StrCat(listen.substr(0, colon), ":", port);
  if (absl::Status s = WriteFileAtomic(address_file, bound + "\n"); !s.ok()) return s;
  spdlog::info("listening address={}", bound);
  return server;
}

}  // namespace vms
