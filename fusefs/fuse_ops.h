// The kernel adapter: libfuse low-level callbacks that call DistFs and only
// reply. Nothing here decides anything about the namespace.
#ifndef VMS_FUSEFS_FUSE_OPS_H_
#define VMS_FUSEFS_FUSE_OPS_H_

#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "core/sync.h"
#include "fusefs/dist_fs.h"
#include "fusefs/object_cache.h"

struct fuse_session;

namespace vms {

struct FuseSession;  // fuse_ops.cc

struct MountOptions {
  std::string mountpoint;
  bool allow_other = false;  // let every user of the host use the mount
  // The host cache behind `fs`, or null. While Run() serves, when open files
  // pin it past its bound, the kernel is asked to let go of files nobody has
  // open (Reclaim), so that it can shrink back.
  ObjectCache* cache = nullptr;
};

// A mounted session. Unmounts (and destroys the session) on destruction.
class FuseMount {
 public:
  // Mounts `fs` read-only, nosuid, nodev at the mountpoint. If a previous
  // vms-fuse died there (kill -9), the dead mount is detached first.
  static absl::StatusOr<std::unique_ptr<FuseMount>> Mount(DistFs* fs, const MountOptions& options);
  ~FuseMount();

  // Serves requests on several threads until SIGTERM/SIGINT/SIGHUP or
  // unmount, with the reclaimer (MountOptions::cache) beside them.
  absl::Status Run();
  // Drops the kernel's cached entry /NAME (after a flip). Any thread.
  void InvalidateRootEntry(const std::string& name);
  // Asks the kernel to drop the entries of unused files whose pinned content
  // adds up to `bytes` (see DistFs::ReclaimCandidates). Any thread.
  void Reclaim(uint64_t bytes);

 private:
  FuseMount() = default;
  // Until Run() ends: reclaims when the cache signals pressure, and checks
  // once a second.
  void ReclaimLoop();

  DistFs* fs_ = nullptr;
  ObjectCache* cache_ = nullptr;
  Mutex reclaim_mu_;
  CondVar reclaim_cv_{&reclaim_mu_};
  bool stopping_ ABSL_GUARDED_BY(reclaim_mu_) = false;
  bool pressure_ ABSL_GUARDED_BY(reclaim_mu_) = false;
  std::unique_ptr<FuseSession> session_;
  fuse_session* se_ = nullptr;
  bool mounted_ = false;
  bool signals_ = false;
};

}  // namespace vms

#endif  // VMS_FUSEFS_FUSE_OPS_H_
