// Must not compile: an absl::Status dropped on the floor. Debian's abseil
// declares Status and StatusOr [[nodiscard]] (absl/status/internal/
// status_internal.h), and every vms build warns with -Wall, so with -Werror
// (CI) an ignored Status is a build error. tests/CMakeLists.txt compiles
// this and passes only when the compiler refuses it for that reason.
#include "core/file_util.h"

void Careless() { vms::MakeDirs("/tmp/never-checked"); }
