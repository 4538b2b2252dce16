// The master group's etcd client against a real three-member etcd: the
// fence that keeps a leader that lost its lease from writing, and members
// going away under it.
#include "server/etcd_client.h"

#include <signal.h>

#include <thread>

#include "gtest/gtest.h"
#include "tests/testing/etcd.h"
#include "tests/testing/testing.h"

namespace vms {
namespace {

class EtcdClientTest : public ::testing::Test {
 protected:
  EtcdClientTest() : etcd_(dir_.path()) {}

  std::unique_ptr<EtcdClient> Client(std::vector<std::string> endpoints = {}) {
    auto c = EtcdClient::Create(
        {.endpoints = endpoints.empty() ? etcd_.endpoints() : endpoints,
         .deadline = std::chrono::milliseconds(static_cast<int>(2000 * testing::TimeScale()))});
    EXPECT_TRUE(c.ok()) << c.status();
    return *std::move(c);
  }
  // Until the cluster has a leader and takes writes.
  bool Ready(EtcdClient* c) {
    absl::Status last;
    bool ready =
        testing::WaitFor([&] { return (last = c->Put("ready", "1")).ok(); },
                         std::chrono::seconds(static_cast<int>(30 * testing::TimeScale())));
    if (!ready) ADD_FAILURE() << "etcd never took a write: " << last;
    return ready;
  }

  testing::TempDir dir_;
  testing::EtcdCluster etcd_;
};

TEST_F(EtcdClientTest, PutsAndReadsAndRanges) {
  auto c = Client();
  ASSERT_TRUE(Ready(c.get())) << etcd_.log(0);
  ASSERT_TRUE(c->Put("log/00000001", "one").ok());
  ASSERT_TRUE(c->Put("log/00000002", "two").ok());
  auto one = c->Get("log/00000001");
  ASSERT_TRUE(one.ok()) << one.status();
  ASSERT_TRUE(one->has_value());
  EXPECT_EQ((*one)->value, "one");
  EXPECT_GT((*one)->create_revision, 0);
  auto none = c->Get("log/00000003");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  auto range = c->Range("log/", "log0");
  ASSERT_TRUE(range.ok());
  ASSERT_EQ(range->size(), 2u);
  EXPECT_EQ((*range)[1].first, "log/00000002");
  EXPECT_EQ(c->Range("log/", "log0", 1)->size(), 1u);
}

TEST_F(EtcdClientTest, OneCampaignWinsAndTheOtherIsToldWhoHolds) {
  auto a = Client(), b = Client();
  ASSERT_TRUE(Ready(a.get()));
  auto lease_a = a->GrantLease(std::chrono::seconds(5));
  auto lease_b = b->GrantLease(std::chrono::seconds(5));
  ASSERT_TRUE(lease_a.ok() && lease_b.ok());
  auto won = a->Campaign("leader", "node-a", *lease_a);
  ASSERT_TRUE(won.ok()) << won.status();
  auto lost = b->Campaign("leader", "node-b", *lease_b);
  EXPECT_EQ(lost.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(lost.status().message().find("held by \"node-a\""), std::string::npos) << lost.status();
  // The winner asking again (its answer lost) is told it won, at the same
  // revision.
  auto again = a->Campaign("leader", "node-a", *lease_a);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*again, *won);
}

// A leader whose lease expired (paused, cut off) cannot append, even though
// it still believes it leads; the new leader can, and no key is written
// twice.
TEST_F(EtcdClientTest, ALeaderThatLostItsLeaseCanNeverWrite) {
  auto old_leader = Client(), new_leader = Client();
  ASSERT_TRUE(Ready(old_leader.get()));
  auto lease = old_leader->GrantLease(std::chrono::seconds(1));
  ASSERT_TRUE(lease.ok());
  auto fence = old_leader->Campaign("leader", "old", *lease);
  ASSERT_TRUE(fence.ok());
  ASSERT_TRUE(old_leader->PutFenced("leader", *fence, "log/1", "from old").ok());
  EXPECT_TRUE(old_leader->PutFenced("leader", *fence, "log/1", "from old").ok())
      << "an earlier try that took is no failure";
  EXPECT_EQ(old_leader->PutFenced("leader", *fence, "log/1", "other").code(),
            absl::StatusCode::kFailedPrecondition);

  // No keep-alive: etcd lets the lease go, and the leader key with it.
  ASSERT_TRUE(testing::WaitFor([&] {
    auto held = new_leader->Get("leader");
    return held.ok() && !held->has_value();
  })) << "the lease never expired";
  EXPECT_EQ(old_leader->KeepAlive(*lease).code(), absl::StatusCode::kNotFound);
  auto new_lease = new_leader->GrantLease(std::chrono::seconds(10));
  ASSERT_TRUE(new_lease.ok());
  auto new_fence = new_leader->Campaign("leader", "new", *new_lease);
  ASSERT_TRUE(new_fence.ok()) << new_fence.status();
  EXPECT_GT(*new_fence, *fence);

  absl::Status stale = old_leader->PutFenced("leader", *fence, "log/2", "from old");
  EXPECT_EQ(stale.code(), absl::StatusCode::kFailedPrecondition) << stale;
  EXPECT_NE(stale.message().find("leadership was lost"), std::string::npos) << stale;
  ASSERT_TRUE(new_leader->PutFenced("leader", *new_fence, "log/2", "from new").ok());
  EXPECT_EQ(new_leader->Get("log/2")->value().value, "from new");
  EXPECT_TRUE(new_leader->KeepAlive(*new_lease).ok());
}

// One member down: requests go to the others, unnoticed. Two down: no
// majority, and the error says what is needed.
TEST_F(EtcdClientTest, OneMemberDownIsUnnoticedAndTwoDownIsNamed) {
  auto c = Client();
  ASSERT_TRUE(Ready(c.get()));
  etcd_.Kill(0);
  EXPECT_TRUE(testing::WaitFor([&] { return c->Put("k", "v").ok(); })) << etcd_.log(1);
  EXPECT_EQ(c->Get("k")->value().value, "v");

  // A client that knows only the dead member is told so.
  auto only_dead = Client({etcd_.endpoints()[0]});
  absl::Status dead = only_dead->Put("k", "w");
  EXPECT_EQ(dead.code(), absl::StatusCode::kUnavailable) << dead;
  EXPECT_NE(dead.message().find("a majority of the members must be up"), std::string::npos) << dead;

  etcd_.Kill(1);
  absl::Status minority = c->Put("k", "x");
  EXPECT_FALSE(minority.ok());
  // Back to a majority: writes go on, and what was written is there.
  etcd_.Start(0);
  EXPECT_TRUE(testing::WaitFor([&] { return c->Put("k", "y").ok(); },
                               std::chrono::seconds(static_cast<int>(60 * testing::TimeScale()))))
      << etcd_.log(0);
  EXPECT_EQ(c->Get("k")->value().value, "y");
}

TEST(EtcdClientOptionsTest, NoEndpointOrAMissingTlsFileIsNamed) {
  EXPECT_NE(EtcdClient::Create({}).status().message().find("--etcd"), std::string::npos);
  auto tls = EtcdClient::Create({.endpoints = {"127.0.0.1:1"}, .ca_file = "/nonexistent/ca"});
  EXPECT_EQ(tls.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace vms
