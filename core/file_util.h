// Small file helpers with Status errors that name the path and the errno text.
#ifndef VMS_CORE_FILE_UTIL_H_
#define VMS_CORE_FILE_UTIL_H_

#include <sys/types.h>

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace vms {

// Maps errno to a Status code (ENOENT -> NotFound, EACCES -> PermissionDenied,
// ...) with the message "<what>: <strerror>".
absl::Status ErrnoError(int err, std::string_view what);

// An owned file descriptor, closed on destruction.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { Reset(); }
  Fd(Fd&& o) noexcept : fd_(o.Release()) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      Reset();
      fd_ = o.Release();
    }
    return *this;
  }
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int Release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void Reset();

 private:
  int fd_ = -1;
};

absl::StatusOr<std::string> ReadFile(const std::string& path);

// Writes `data` to a temporary file beside `path` and renames it over `path`:
// readers see the old or the new content. With `durable`, the file and the
// directory are fsynced so the new content also survives a power loss.
absl::Status WriteFileAtomic(const std::string& path, std::string_view data, mode_t mode = 0644,
                             bool durable = true);

// Bytes an unprivileged writer may still use on the filesystem of `path`.
absl::StatusOr<uint64_t> FreeBytes(const std::string& path);

// mkdir -p; OK if it already exists as a directory.
absl::Status MakeDirs(const std::string& path, mode_t mode = 0755);

}  // namespace vms

#endif  // VMS_CORE_FILE_UTIL_H_
