// The accept guard on its own, in a process of its own (it is global):
// out of descriptors, a waiting connection is shed and the listener stays
// usable.
#include "net/accept_guard.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <vector>

#include "core/file_util.h"
#include "gtest/gtest.h"

namespace vms {
namespace {

TEST(AcceptGuardTest, OutOfDescriptorsAWaitingConnectionIsShedAndTheNextIsAccepted) {
  Fd listener(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));  // as gRPC's
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  ASSERT_EQ(bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(listener.get(), 16), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(getsockname(listener.get(), reinterpret_cast<sockaddr*>(&addr), &len), 0);
  // Clients made before the descriptors run out (connect needs none).
  std::vector<Fd> clients;
  for (int i = 0; i < 5; ++i) clients.emplace_back(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  // A first connection shed by the peer bound, while descriptors remain: the
  // guard logs its first shedding now, not below (UBSan's checks of the
  // logger need a pipe, which it cannot have out of descriptors).
  GuardAccepts({.per_peer = 0, .reserve_fds = 0});
  ASSERT_EQ(connect(clients[4].get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  EXPECT_EQ(accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC), -1);
  EXPECT_EQ(ShedConnections(), 1u);
  GuardAccepts({.per_peer = 1000, .reserve_fds = 0});

  rlimit was;
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &was), 0);
  rlimit low = was;
  low.rlim_cur = static_cast<rlim_t>(clients.back().get() + 32);  // the fd numbers now in use
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
  std::vector<Fd> filler;
  for (;;) {
    Fd fd(open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) break;
    filler.push_back(std::move(fd));
  }
  ASSERT_EQ(errno, EMFILE);

  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(connect(clients[i].get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  }
  const uint64_t shed_before = ShedConnections();
  errno = 0;
  EXPECT_EQ(accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC), -1);
  EXPECT_EQ(errno, EAGAIN) << "the listener is told to wait, not that it failed";
  EXPECT_EQ(ShedConnections() - shed_before, 3u) << "every waiting connection was shed";
  for (int i = 0; i < 3; ++i) {
    char c;
    EXPECT_EQ(recv(clients[i].get(), &c, 1, 0), 0) << "closed by the listener's side";
  }

  filler.resize(filler.size() - 4);
  ASSERT_EQ(connect(clients[3].get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  Fd accepted(accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  EXPECT_TRUE(accepted.valid()) << "descriptors back: connections are accepted again";
  filler.clear();
  setrlimit(RLIMIT_NOFILE, &was);
}

}  // namespace
}  // namespace vms
