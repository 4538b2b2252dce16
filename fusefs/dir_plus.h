// Readdirplus replies, built apart from the session so that their lookup
// bookkeeping is tested without a mount (tests/fusefs/dist_fs_test.cc).
// Links libfuse for its entry encoding only.
#ifndef VMS_FUSEFS_DIR_PLUS_H_
#define VMS_FUSEFS_DIR_PLUS_H_

#include <sys/stat.h>

#include <cstddef>
#include <cstdint>
#include <functional>

#include "fusefs/dist_fs.h"

namespace vms {

// Offsets: 0 starts a listing, n+1 follows entry n, where "." and ".." are
// entries 0 and 1 and carry no lookup; the directory's own entries follow
// from 2 on.
inline constexpr int64_t kDirDots = 2;

// The kernel's stat of an Attr.
struct stat StatOf(const Attr& a);

// The entries of `ino` from `off` on, as many as fit in `size` bytes, each
// with its attributes; only those that fit are looked up (each such entry
// counts as a lookup of its inode, as the kernel expects). `send` hands the
// reply to the kernel (fuse_reply_buf) and returns nonzero when the kernel
// did not take it (an interrupted or aborted request): the lookups the
// reply carried are then taken back, or the content they pin would stay
// pinned forever. Returns 0, or the errno of a listing that failed, in which
// case nothing was sent and no lookup is kept.
int ReplyDirPlus(DistFs* fs, uint64_t ino, size_t size, int64_t off,
                 const std::function<int(const char* data, size_t len)>& send);

}  // namespace vms

#endif  // VMS_FUSEFS_DIR_PLUS_H_
