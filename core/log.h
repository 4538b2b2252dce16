// One named logger per component ("master", "replica", ...): what a daemon
// registered under that name at start (net/daemon.h InitLogging), else a
// copy of the default logger under that name (tests, tools). Each
// component asks here instead of keeping its own lookup. Code shared by
// the daemons (core/, net/) logs to the default logger, which InitLogging
// makes the daemon's own.
#ifndef VMS_CORE_LOG_H_
#define VMS_CORE_LOG_H_

#include <memory>
#include <string>

#include "spdlog/spdlog.h"

namespace vms {

// Looked up on every call (cheap: spdlog's registry), so a logger
// registered after a first use is the one used from then on.
std::shared_ptr<spdlog::logger> ComponentLogger(const std::string& component);

// The components' loggers.
inline std::shared_ptr<spdlog::logger> MasterLog() { return ComponentLogger("master"); }
inline std::shared_ptr<spdlog::logger> ReplicaLog() { return ComponentLogger("replica"); }
inline std::shared_ptr<spdlog::logger> FuseLog() { return ComponentLogger("fuse"); }

}  // namespace vms

#endif  // VMS_CORE_LOG_H_
