// Keeping a mount's /dev/fuse descriptor alive across vms-fuse processes, so
// that a crash or an upgrade of the daemon never shows a program a dead mount
// (ENOTCONN): while anyone holds the descriptor, the kernel keeps the
// connection and queues requests for whoever serves it next.
//
// Two keepers, one protocol of takeover:
//  - vms-fuse-holder (holder_main.cc), a tiny process started at a fresh
//    mount that holds the descriptor and hands it over a unix socket
//    (<cache>/fuse.holder, the owner's only) to the next vms-fuse: at once
//    if the last one died, or, for a planned upgrade (--takeover), after
//    asking the serving one to stop (it answers what it is serving, stops
//    reading requests and exits without unmounting);
//  - systemd's file-descriptor store where systemd runs (FDSTORE=1 at mount,
//    LISTEN_FDS with the name "fuse" at a restart; SIGHUP re-executes the
//    binary in place for a planned upgrade).
// The new daemon then replays the inode journal (inode_journal.h) and asks
// the kernel to resend the requests its predecessor read but never answered
// (FUSE_NOTIFY_RESEND).
#ifndef VMS_FUSEFS_HANDOVER_H_
#define VMS_FUSEFS_HANDOVER_H_

#include <sys/types.h>
#include <sys/un.h>

#include <chrono>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "core/file_util.h"

namespace vms {

// One message (a SOCK_SEQPACKET record), with a descriptor attached or not.
absl::Status SendMessage(int sock, std::string_view message, int fd = -1);
// The next message; *fd (if given) gets an attached descriptor or -1.
// "" at end of file.
absl::StatusOr<std::string> ReceiveMessage(int sock, Fd* fd = nullptr);

// The messages.
inline constexpr std::string_view kTakeOver = "TAKEOVER";  // only if no one serves
inline constexpr std::string_view kReplace = "REPLACE";    // ask the one serving to stop
inline constexpr std::string_view kStop = "STOP";          // holder -> serving daemon
inline constexpr std::string_view kOk = "OK ";             // + mountpoint, with the descriptor
inline constexpr std::string_view kError = "ERR ";         // + why

// The address of the unix socket at `path` (a leading NUL: abstract);
// InvalidArgument if it does not fit.
absl::StatusOr<sockaddr_un> UnixAddress(const std::string& path);

// `path` made absolute with its parent resolved, for comparing mountpoints.
// The mountpoint itself is never resolved: that would ask the mount, which
// nobody serves during a takeover.
std::string MountpointName(const std::string& path);

// OK when `fd` is a descriptor of /dev/fuse.
absl::Status CheckFuseDevice(int fd);

// OK when `dir` is a directory of ours that nobody else can write: where the
// holder's socket lives, which hands out the mount.
absl::Status CheckPrivateDir(const std::string& dir);

// The holder's socket for a cache directory.
std::string HolderSocketPath(const std::string& cache_dir);

struct TakenOver {
  Fd fuse;  // the mounted /dev/fuse descriptor
  Fd link;  // the connection to the holder, which now counts us as serving
};

// Asks the holder at `socket` for the descriptor of the mount at
// `mountpoint`; with `replace`, a serving daemon is asked to stop first.
// NotFound when no holder listens there (nothing to take over);
// FailedPrecondition with the holder's words when it refuses.
absl::StatusOr<TakenOver> TakeOverFromHolder(const std::string& socket,
                                             const std::string& mountpoint, bool replace,
                                             std::chrono::milliseconds timeout);

// Starts vms-fuse-holder holding `fuse_fd` for the mount at `mountpoint`;
// returns our link to it (we count as serving). A holder with no daemon for
// `grace` lets the descriptor go (programs then see the dead mount, as with
// no holder at all). The holder gets the FUSE descriptor as fd 3 and its
// link as fd 4, whatever numbers they have here. `holder`: its binary,
// by default vms-fuse-holder beside this one.
absl::StatusOr<Fd> SpawnHolder(const std::string& socket, const std::string& mountpoint,
                               int fuse_fd, std::chrono::seconds grace, std::string holder = "");

// systemd's file-descriptor store: true if there is one ($NOTIFY_SOCKET).
bool SystemdPresent();
// Stores (or, with fd -1, removes) the descriptor under the name "fuse".
absl::Status SystemdStoreFd(int fd);
// The descriptor named "fuse" that systemd passed in (LISTEN_FDS), or -1.
int SystemdPassedFd();

}  // namespace vms

#endif  // VMS_FUSEFS_HANDOVER_H_
