// The kernel adapter: libfuse low-level callbacks that call DistFs and only
// reply. Nothing here decides anything about the namespace.
#ifndef VMS_FUSEFS_FUSE_OPS_H_
#define VMS_FUSEFS_FUSE_OPS_H_

#include <array>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "core/file_util.h"
#include "core/sync.h"
#include "fusefs/dist_fs.h"
#include "fusefs/object_cache.h"
#include "prometheus/counter.h"

struct fuse_session;

namespace vms {

struct FuseSession;  // fuse_ops.cc

// FUSE opcodes below this are counted by name; others as "other".
inline constexpr uint32_t kFuseOpcodes = 52;
// The name of a FUSE opcode ("lookup", "read", "batch_forget"), or "other".
const char* FuseOpName(uint32_t opcode);
// A counter per opcode, to count every request the kernel sends.
using FuseRequestCounters = std::array<prometheus::Counter*, kFuseOpcodes + 1>;  // last: other

struct MountOptions {
  std::string mountpoint;
  bool allow_other = false;  // let every user of the host use the mount
  // The host cache behind `fs`, or null. While Run() serves, when open files
  // pin it past its bound, the kernel is asked to let go of files nobody has
  // open (Reclaim), so that it can shrink back.
  ObjectCache* cache = nullptr;
  // Counts requests by opcode, when given (vms-fuse's metrics); must outlive
  // the mount.
  const FuseRequestCounters* requests = nullptr;
};

// A mounted session. Unmounts (and destroys the session) on destruction,
// unless it was handed over to a successor.
class FuseMount {
 public:
  // Mounts `fs` read-only, nosuid, nodev at the mountpoint. If a previous
  // vms-fuse died there with nobody holding its descriptor, the dead mount is
  // detached first.
  static absl::StatusOr<std::unique_ptr<FuseMount>> Mount(DistFs* fs, const MountOptions& options);
  // Serves a mount a predecessor served (handover.h): `fuse` is its mounted
  // /dev/fuse descriptor and `init` the kernel's FUSE_INIT request it
  // recorded, replayed into this session so that it negotiates exactly what
  // the kernel did. `fs` must have resumed the predecessor's inode journal.
  // The kernel is asked to resend what the predecessor read but never
  // answered.
  static absl::StatusOr<std::unique_ptr<FuseMount>> Adopt(DistFs* fs, const MountOptions& options,
                                                          Fd fuse, const std::string& init);
  ~FuseMount();

  // The mounted /dev/fuse descriptor (for a holder or systemd to keep).
  int fd() const;

  enum class Ended {
    kStopped,     // SIGTERM or SIGINT: unmount and exit
    kUnmounted,   // someone unmounted it
    kHandedOver,  // HandOver(): a successor serves it now
    kReload,      // SIGHUP: hand over to a new copy of this binary
  };
  // Serves requests on several threads until one of the above, with the
  // reclaimer (MountOptions::cache) beside them. Requests being served when
  // it ends are answered; those not yet read stay queued in the kernel.
  absl::StatusOr<Ended> Run();
  // Ends Run() with kHandedOver. Any thread.
  void HandOver();
  // Drops the kernel's cached entry /NAME (after a flip). Any thread.
  void InvalidateRootEntry(const std::string& name);
  // Asks the kernel to drop the entries of unused files whose pinned content
  // adds up to `bytes` (see DistFs::ReclaimCandidates). Any thread.
  void Reclaim(uint64_t bytes);

 private:
  FuseMount() = default;
  // A mount with its session, not mounted yet.
  static absl::StatusOr<std::unique_ptr<FuseMount>> Create(DistFs* fs, const MountOptions& o);
  // Until Run() ends: reclaims when the cache signals pressure, and checks
  // once a second.
  void ReclaimLoop();
  // One of the threads that read requests and answer them.
  struct Worker {
    std::thread thread;
    std::atomic<bool> in_read{false};
    std::atomic<bool> done{false};
  };
  void Serve(Worker* w);
  // Ends Run() for `why` (one byte: a signal handler can write it).
  void Wake(char why);
  // Stops the workers: each finishes what it serves; one blocked reading is
  // interrupted (its read returns EINTR, so no request is taken from the
  // kernel half-way).
  void StopWorkers(std::vector<std::unique_ptr<Worker>>* workers);
  absl::Status Unmount();

  DistFs* fs_ = nullptr;
  ObjectCache* cache_ = nullptr;
  const FuseRequestCounters* requests_ = nullptr;
  Mutex reclaim_mu_;
  CondVar reclaim_cv_{&reclaim_mu_};
  bool stopping_reclaim_ ABSL_GUARDED_BY(reclaim_mu_) = false;
  bool pressure_ ABSL_GUARDED_BY(reclaim_mu_) = false;
  std::unique_ptr<FuseSession> session_;
  fuse_session* se_ = nullptr;
  std::string mountpoint_;
  bool mounted_ = false;      // by us, through libfuse
  bool adopted_ = false;      // mounted by a predecessor
  bool handed_over_ = false;  // a successor serves it: never unmount
  std::atomic<bool> stopping_{false};
  std::atomic<bool> init_seen_{false};
  Fd wake_read_, wake_write_;
};

}  // namespace vms

#endif  // VMS_FUSEFS_FUSE_OPS_H_
