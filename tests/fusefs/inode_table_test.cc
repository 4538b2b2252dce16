#include "fusefs/inode_table.h"

#include "gtest/gtest.h"

namespace vms {
namespace {

Node File(const std::string& content) {
  Node n;
  n.kind = Node::kFile;
  n.hash = Sha256(content);
  return n;
}

TEST(InodeTableTest, LookupsCountAndForgetFrees) {
  InodeTable t;
  uint64_t a = t.Lookup(InodeTable::kRoot, "a", File("x"));
  EXPECT_EQ(t.Lookup(InodeTable::kRoot, "a", File("x")), a) << "same name, same inode";
  EXPECT_EQ(t.lookups(a), 2u);
  t.Forget(a, 1);
  ASSERT_NE(t.Get(a), nullptr);
  t.Forget(a, 1);
  EXPECT_EQ(t.Get(a), nullptr) << "count zero: gone";
  uint64_t again = t.Lookup(InodeTable::kRoot, "a", File("x"));
  EXPECT_NE(again, a) << "inode numbers are never reused";
  EXPECT_EQ(t.lookups(again), 1u);
}

TEST(InodeTableTest, ForgetMoreThanCountedClampsToZero) {
  InodeTable t;
  uint64_t a = t.Lookup(InodeTable::kRoot, "a", File("x"));
  t.Forget(a, 5);
  EXPECT_EQ(t.Get(a), nullptr);
  t.Forget(a, 1);  // forgetting a gone inode is harmless
  EXPECT_EQ(t.size(), 1u);
}

TEST(InodeTableTest, RootIsNeverForgotten) {
  InodeTable t;
  t.Forget(InodeTable::kRoot, 100);
  ASSERT_NE(t.Get(InodeTable::kRoot), nullptr);
  EXPECT_EQ(t.Get(InodeTable::kRoot)->kind, Node::kRoot);
}

TEST(InodeTableTest, ChangedMeaningMakesANewInodeAndKeepsTheOld) {
  InodeTable t;
  Node v1;
  v1.kind = Node::kAppLink;
  v1.target = "app@1";
  v1.live_seq = 1;
  Node v2 = v1;
  v2.target = "app@2";
  v2.live_seq = 2;
  uint64_t old_ino = t.Lookup(InodeTable::kRoot, "app", v1);
  uint64_t new_ino = t.Lookup(InodeTable::kRoot, "app", v2);
  EXPECT_NE(old_ino, new_ino);
  ASSERT_NE(t.Get(old_ino), nullptr) << "who resolved it before the flip still has it";
  EXPECT_EQ(t.Get(old_ino)->target, "app@1");
  EXPECT_EQ(t.Get(new_ino)->target, "app@2");
  t.Forget(old_ino, 1);
  EXPECT_EQ(t.Get(old_ino), nullptr);
  EXPECT_EQ(t.Lookup(InodeTable::kRoot, "app", v2), new_ino) << "the name still maps to the new";
}

TEST(InodeTableTest, SameNameUnderOtherParentsIsAnotherInode) {
  InodeTable t;
  Node dir;
  dir.kind = Node::kDir;
  uint64_t d1 = t.Lookup(InodeTable::kRoot, "d1", dir);
  uint64_t d2 = t.Lookup(InodeTable::kRoot, "d2", dir);
  EXPECT_NE(t.Lookup(d1, "f", File("x")), t.Lookup(d2, "f", File("x")));
  EXPECT_EQ(t.Get(t.Lookup(d1, "f", File("x")))->parent, d1);
}

}  // namespace
}  // namespace vms
