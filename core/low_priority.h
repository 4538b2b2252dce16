// Background work that must not slow what users wait for: a collection's
// mark, its file deletions and compactions take seconds of CPU and disk,
// and on a two-core replica they would otherwise halve the speed of the
// flips and pushes running beside them.
#ifndef VMS_CORE_LOW_PRIORITY_H_
#define VMS_CORE_LOW_PRIORITY_H_

#include <functional>

#include "absl/status/status.h"

namespace vms {

// Runs `fn` on a thread of its own at the lowest CPU priority (nice 19) and
// the lowest best-effort I/O priority, and returns what it returns. The
// calling thread keeps its priority (an unprivileged thread could not raise
// it back): work it does between two such calls, like holding a lock that
// writers wait for, is not slowed. Where a priority cannot be lowered, `fn`
// runs at the thread's default and a debug line says so.
absl::Status RunAtLowPriority(const std::function<absl::Status()>& fn);

}  // namespace vms

#endif  // VMS_CORE_LOW_PRIORITY_H_
