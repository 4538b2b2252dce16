// A master group's log in a real three-member etcd: one leader appends,
// fenced; a leader that lost its lease (as one paused past it does) can
// never append again; no seq is taken twice or skipped.
#include "server/group_log.h"

#include <atomic>
#include <memory>
#include <thread>

#include "gtest/gtest.h"
#include "tests/testing/etcd.h"
#include "tests/testing/testing.h"

namespace vms {
namespace {

class GroupLogTest : public ::testing::Test {
 protected:
  GroupLogTest() : etcd_(dir_.path()) {}

  std::unique_ptr<EtcdClient> Client() {
    auto c = EtcdClient::Create(
        {.endpoints = etcd_.endpoints(),
         .deadline = std::chrono::milliseconds(static_cast<int>(2000 * testing::TimeScale()))});
    EXPECT_TRUE(c.ok()) << c.status();
    return *std::move(c);
  }
  GroupLog Node(EtcdClient* c, const std::string& name, int lease_s = 10) {
    return GroupLog(
        c, {.node = name, .address = name + ":7700", .lease = std::chrono::seconds(lease_s)});
  }
  std::vector<std::pair<uint64_t, std::string>> All(GroupLog* log) {
    auto all = log->Read(0, 1000);
    EXPECT_TRUE(all.ok()) << all.status();
    return all.value_or(std::vector<std::pair<uint64_t, std::string>>());
  }

  testing::TempDir dir_;
  testing::EtcdCluster etcd_;
};

using Log = std::vector<std::pair<uint64_t, std::string>>;

TEST_F(GroupLogTest, OneNodeLeadsAndAppendsAndTheOtherIsToldWho) {
  auto ca = Client(), cb = Client();
  GroupLog a = Node(ca.get(), "a"), b = Node(cb.get(), "b");
  ASSERT_TRUE(a.Campaign().ok());
  EXPECT_TRUE(a.leading());
  absl::Status lost = b.Campaign();
  EXPECT_EQ(lost.code(), absl::StatusCode::kFailedPrecondition) << lost;
  EXPECT_NE(lost.message().find("a a:7700"), std::string::npos) << lost;
  EXPECT_FALSE(b.leading());
  auto who = b.WhoLeads();
  ASSERT_TRUE(who.ok() && who->has_value());
  EXPECT_EQ((*who)->node, "a");
  EXPECT_EQ((*who)->address, "a:7700");

  ASSERT_TRUE(a.Append(1, "one").ok());
  ASSERT_TRUE(a.Append(2, "two").ok());
  EXPECT_EQ(b.Append(3, "from b").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(a.Append(2, "again").code(), absl::StatusCode::kFailedPrecondition) << "seq taken";
  EXPECT_EQ(a.Append(4, "gap").code(), absl::StatusCode::kFailedPrecondition) << "a gap";
  EXPECT_TRUE(a.leading()) << "a refused append is no loss of leadership";
  EXPECT_EQ(All(&a), (Log{{1, "one"}, {2, "two"}}));

  // a stops (resigns): b leads at once and goes on from the head.
  ASSERT_TRUE(a.Resign().ok());
  ASSERT_TRUE(b.Campaign().ok());
  EXPECT_EQ(*b.Head(), 2u);
  ASSERT_TRUE(b.Append(3, "three").ok());
  EXPECT_EQ(a.Append(4, "stale").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(All(&b), (Log{{1, "one"}, {2, "two"}, {3, "three"}}));
}

// A leader paused past its lease (it renews nothing) wakes believing in
// nothing: its own clock says the lease may have run out, and etcd's fence
// refuses it even when its clock is wrong.
TEST_F(GroupLogTest, ALeaderPausedPastItsLeaseCanNeverAppend) {
  auto ca = Client(), cb = Client();
  GroupLog a = Node(ca.get(), "a", /*lease_s=*/1), b = Node(cb.get(), "b");
  ASSERT_TRUE(a.Campaign().ok());
  ASSERT_TRUE(a.Append(1, "one").ok());
  ASSERT_TRUE(testing::WaitFor([&] { return b.Campaign().ok(); })) << "a's lease never ran out";
  ASSERT_TRUE(b.Append(2, "two").ok());

  EXPECT_FALSE(a.leading());
  EXPECT_EQ(a.Append(2, "stale").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(a.Append(3, "stale").code(), absl::StatusCode::kFailedPrecondition);
  // Renewing the lost lease says it is gone (etcd's fence on a stale leader
  // is EtcdClientTest.ALeaderThatLostItsLeaseCanNeverWrite).
  EXPECT_EQ(a.Renew().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(a.Renew().code(), absl::StatusCode::kFailedPrecondition) << "and a leads no more";
  EXPECT_EQ(All(&b), (Log{{1, "one"}, {2, "two"}}));
  EXPECT_TRUE(b.Renew().ok());
  EXPECT_TRUE(b.leading());
}

TEST_F(GroupLogTest, ReadsFromASeqAndTrimsAllButTheNewest) {
  auto c = Client();
  GroupLog log = Node(c.get(), "a");
  EXPECT_EQ(*log.Head(), 0u);
  ASSERT_TRUE(log.Campaign().ok());
  for (uint64_t seq = 1; seq <= 10; ++seq) {
    ASSERT_TRUE(log.Append(seq, "e" + std::to_string(seq)).ok()) << seq;
  }
  EXPECT_EQ(*log.Head(), 10u);
  EXPECT_EQ(*log.Read(4, 3), (Log{{4, "e4"}, {5, "e5"}, {6, "e6"}}));
  EXPECT_EQ(*log.Trim(8), 7);
  EXPECT_EQ(*log.Read(0, 100), (Log{{8, "e8"}, {9, "e9"}, {10, "e10"}}));
  EXPECT_EQ(*log.Trim(100), 2) << "the newest stays";
  EXPECT_EQ(*log.Read(0, 100), (Log{{10, "e10"}}));
  ASSERT_TRUE(log.Append(11, "e11").ok()) << "appends go on after a trim";
  EXPECT_EQ(log.Append(0, "x").code(), absl::StatusCode::kInvalidArgument);
}

// Two nodes in the race: one leads; when it stops, the other leads, told
// each time.
TEST_F(GroupLogTest, WhenTheLeaderStopsTheOtherNodeLeads) {
  auto ca = Client(), cb = Client();
  GroupLog a = Node(ca.get(), "a", 2), b = Node(cb.get(), "b", 2);
  std::atomic<int> a_gained{0}, a_lost{0}, b_gained{0};
  auto in_a = std::make_unique<Leadership>(&a, [&](bool l) { ++(l ? a_gained : a_lost); });
  ASSERT_TRUE(testing::WaitFor([&] { return a_gained == 1; }));
  Leadership in_b(&b, [&](bool l) {
    if (l) ++b_gained;
  });
  // b keeps trying while a renews, for longer than a lease, and never wins.
  std::this_thread::sleep_for(std::chrono::seconds(3));
  EXPECT_EQ(b_gained, 0);
  ASSERT_TRUE(a.Append(1, "one").ok()) << "a still leads after its first lease";
  in_a.reset();  // a stops: it resigns
  EXPECT_EQ(a_lost, 1);
  ASSERT_TRUE(testing::WaitFor([&] { return b_gained == 1; }));
  EXPECT_TRUE(b.leading());
  ASSERT_TRUE(b.Append(2, "two").ok());
  EXPECT_EQ(a.Append(2, "stale").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(a_gained, 1);
}

}  // namespace
}  // namespace vms
