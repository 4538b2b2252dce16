// Running a program without a shell: argv goes to execvp as given, so no
// character of an argument (a quote in a path, "$(...)") is ever
// interpreted.
#ifndef VMS_CORE_PROCESS_H_
#define VMS_CORE_PROCESS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace vms {

// Runs argv[0] (looked up in PATH) with its stdout and stderr discarded and
// waits for it; its exit status, or 128 + the signal that ended it.
// Unavailable if it could not be started.
absl::StatusOr<int> RunQuietly(const std::vector<std::string>& argv);

}  // namespace vms

#endif  // VMS_CORE_PROCESS_H_
