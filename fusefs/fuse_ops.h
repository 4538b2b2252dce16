// The kernel adapter: libfuse low-level callbacks that call DistFs and only
// reply. Nothing here decides anything about the namespace.
#ifndef VMS_FUSEFS_FUSE_OPS_H_
#define VMS_FUSEFS_FUSE_OPS_H_

#include <string>

#include "absl/status/status.h"
#include "fusefs/dist_fs.h"

struct fuse_session;

namespace vms {

struct FuseSession;  // fuse_ops.cc

struct MountOptions {
  std::string mountpoint;
  bool allow_other = false;  // let every user of the host use the mount
};

// A mounted session. Unmounts (and destroys the session) on destruction.
class FuseMount {
 public:
  // Mounts `fs` read-only, nosuid, nodev at the mountpoint. If a previous
  // vms-fuse died there (kill -9), the dead mount is detached first.
  static absl::StatusOr<std::unique_ptr<FuseMount>> Mount(DistFs* fs, const MountOptions& options);
  ~FuseMount();

  // Serves requests on several threads until SIGTERM/SIGINT/SIGHUP or unmount.
  absl::Status Run();
  // Drops the kernel's cached entry /NAME (after a flip). Any thread.
  void InvalidateRootEntry(const std::string& name);
  // Asks the kernel to drop the entries of unused files whose pinned content
  // adds up to `bytes` (see DistFs::ReclaimCandidates). Any thread.
  void Reclaim(uint64_t bytes);

 private:
  FuseMount() = default;
  DistFs* fs_ = nullptr;
  std::unique_ptr<FuseSession> session_;
  fuse_session* se_ = nullptr;
  bool mounted_ = false;
  bool signals_ = false;
};

}  // namespace vms

#endif  // VMS_FUSEFS_FUSE_OPS_H_
