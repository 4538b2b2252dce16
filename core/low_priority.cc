#include "core/low_priority.h"

#include <linux/ioprio.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "spdlog/spdlog.h"

namespace vms {

namespace {

// Linux applies nice and the I/O priority to the thread whose id is given.
void LowerThisThread() {
  const pid_t tid = static_cast<pid_t>(syscall(SYS_gettid));
  if (setpriority(PRIO_PROCESS, tid, 19) != 0) {
    spdlog::debug("cannot lower the CPU priority of a background thread: {}", strerror(errno));
  }
  if (syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, tid,
              IOPRIO_PRIO_VALUE(IOPRIO_CLASS_BE, IOPRIO_BE_NR - 1)) != 0) {
    spdlog::debug("cannot lower the I/O priority of a background thread: {}", strerror(errno));
  }
}

}  // namespace

absl::Status RunAtLowPriority(const std::function<absl::Status()>& fn) {
  absl::Status result;
  std::thread worker([&] {
    LowerThisThread();
    result = fn();
  });
  worker.join();
  return result;
}

}  // namespace vms
