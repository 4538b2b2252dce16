// Bounds on the connections a daemon accepts, for listeners it does not own.
//
// gRPC 1.51 (Debian 12) stops listening for good after one accept4() fails
// with EMFILE: a burst of unauthenticated TCP connections beyond the fd
// limit would leave the master deaf until a restart. So every daemon's
// accept4() and accept() go through the guard (it defines them: the
// executable's definition is the one gRPC's and the HTTP server's calls bind
// to), which
//   - sheds a connection (accepts and closes it at once) when its peer
//     address already holds `per_peer` of them, or when the new descriptor
//     would leave fewer than `reserve_fds` free under RLIMIT_NOFILE (files,
//     RocksDB and outgoing connections need them more than one more client);
//   - when accept fails with EMFILE or ENFILE all the same, frees a reserve
//     descriptor, sheds the waiting connection with it and takes it back,
//     and reports EAGAIN, so that the listener stays armed.
// A shed client sees its connection closed and retries; nothing else
// changes. Unix sockets are not limited per peer.
#ifndef VMS_NET_ACCEPT_GUARD_H_
#define VMS_NET_ACCEPT_GUARD_H_

#include <cstdint>

namespace vms {

struct ConnectionLimits {
  uint32_t per_peer = 512;  // connections from one address
  uint32_t reserve_fds = 128;
};

// Turns the guard on (it is off until then: accept4() is the plain call).
// Raises RLIMIT_NOFILE's soft limit to its hard limit first.
void GuardAccepts(const ConnectionLimits& limits);

// Connections shed since the guard was turned on.
uint64_t ShedConnections();

}  // namespace vms

#endif  // VMS_NET_ACCEPT_GUARD_H_
