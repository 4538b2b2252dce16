#include "fusefs/inode_journal.h"

#include <unistd.h>

#include <filesystem>

#include "gtest/gtest.h"
#include "tests/testing/testing.h"

namespace vms {
namespace {

Node File(const std::string& content) {
  Node n;
  n.kind = Node::kFile;
  n.hash = Sha256(content);
  n.size = content.size();
  n.app = "app";
  n.version = "1.0";
  n.mtime_ms = 1764064800000;
  return n;
}

Node AppLink(const std::string& version, uint64_t live_seq) {
  Node n;
  n.kind = Node::kAppLink;
  n.app = "app";
  n.version = version;
  n.target = "app@" + version;
  n.live_seq = live_seq;
  return n;
}

class InodeJournalTest : public ::testing::Test {
 protected:
  // A table journaling to a new journal at path_.
  std::unique_ptr<InodeJournal> Journaled(InodeTable* table) {
    auto journal = InodeJournal::Create(path_);
    EXPECT_TRUE(journal.ok()) << journal.status();
    if (!journal.ok()) return nullptr;
    table->SetJournal(journal->get());
    return *std::move(journal);
  }
  testing::TempDir dir_;
  const std::string path_ = dir_ / "inodes";
};

TEST_F(InodeJournalTest, NodesRoundTrip) {
  Node n = File("x");
  n.exec = true;
  n.chunked = true;
  n.parent = 7;
  n.name = "bin";
  std::string encoded = EncodeNode(n);
  std::string_view in = encoded;
  Node back;
  ASSERT_TRUE(DecodeNode(&in, &back));
  EXPECT_TRUE(in.empty());
  EXPECT_TRUE(back.SameIdentity(n));
  EXPECT_EQ(back.parent, 7u);
  EXPECT_EQ(back.name, "bin");
  EXPECT_EQ(back.size, 1u);
  EXPECT_EQ(back.mtime_ms, n.mtime_ms);
  EXPECT_TRUE(back.chunked);
  for (size_t cut = 0; cut < encoded.size(); ++cut) {
    std::string_view part = std::string_view(encoded).substr(0, cut);
    EXPECT_FALSE(DecodeNode(&part, &back)) << "cut at " << cut;
  }
}

// A successor restores exactly what the kernel holds: the same numbers for
// the same nodes, the same counts, and numbers never handed out again.
TEST_F(InodeJournalTest, ASuccessorKnowsEveryInodeTheKernelHolds) {
  InodeTable before;
  auto journal = Journaled(&before);
  ASSERT_NE(journal, nullptr);
  before.JournalInit("the INIT request");
  uint64_t link1 = before.Lookup(InodeTable::kRoot, "app", AppLink("1.0", 1));
  uint64_t a = before.Lookup(InodeTable::kRoot, "a", File("a"));
  before.Lookup(InodeTable::kRoot, "a", File("a"));
  uint64_t b = before.Lookup(InodeTable::kRoot, "b", File("b"));
  uint64_t gone = before.Lookup(InodeTable::kRoot, "gone", File("gone"));
  before.Forget(gone, 1);
  before.Forget(a, 1);
  uint64_t link2 = before.Lookup(InodeTable::kRoot, "app", AppLink("2.0", 2));  // a flip

  InodeJournal::State state;
  auto resumed = InodeJournal::Resume(path_, &state);
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  EXPECT_EQ(state.init, "the INIT request");
  InodeTable after;
  auto files = after.Restore(state.next, state.inodes);
  EXPECT_EQ(files.size(), 2u) << "a and b";
  for (uint64_t ino : {link1, a, b, link2}) {
    ASSERT_NE(after.Get(ino), nullptr) << ino;
    EXPECT_TRUE(after.Get(ino)->SameIdentity(*before.Get(ino))) << ino;
    EXPECT_EQ(after.Get(ino)->name, before.Get(ino)->name);
    EXPECT_EQ(after.lookups(ino), before.lookups(ino)) << ino;
  }
  EXPECT_EQ(after.Get(gone), nullptr);
  EXPECT_EQ(after.Get(link1)->target, "app@1.0") << "a path resolved before the flip";
  EXPECT_EQ(after.Lookup(InodeTable::kRoot, "app", AppLink("2.0", 2)), link2)
      << "the live link is found again by name";
  EXPECT_EQ(after.Lookup(InodeTable::kRoot, "b", File("b")), b);
  EXPECT_GT(after.Lookup(InodeTable::kRoot, "gone", File("gone")), link2)
      << "a number once handed out is never handed out again";
}

TEST_F(InodeJournalTest, ARecordCutShortByACrashIsDropped) {
  const std::string& path = path_;
  {
    InodeTable t;
    auto journal = Journaled(&t);
    ASSERT_NE(journal, nullptr);
    t.Lookup(InodeTable::kRoot, "a", File("a"));
    t.Lookup(InodeTable::kRoot, "b", File("b"));
  }
  auto size = std::filesystem::file_size(path);
  ASSERT_EQ(truncate(path.c_str(), static_cast<off_t>(size - 3)), 0);
  InodeJournal::State state;
  auto resumed = InodeJournal::Resume(path, &state);
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  ASSERT_EQ(state.inodes.size(), 1u) << "b's record was never whole, so never answered";
  EXPECT_EQ(state.inodes.begin()->second.node.name, "a");
  // Appends go on after the last whole record.
  InodeTable t;
  t.Restore(state.next, state.inodes);
  t.SetJournal(resumed->get());
  t.Lookup(InodeTable::kRoot, "c", File("c"));
  resumed->reset();
  ASSERT_TRUE(InodeJournal::Resume(path, &state).ok());
  EXPECT_EQ(state.inodes.size(), 2u);
}

TEST_F(InodeJournalTest, HistoryIsCompactedIntoASnapshot) {
  const std::string& path = path_;
  InodeTable t;
  auto journal = Journaled(&t);
  ASSERT_NE(journal, nullptr);
  t.JournalInit("init");
  uint64_t kept = t.Lookup(InodeTable::kRoot, "kept", File("kept"));
  for (int i = 0; i < 100000; ++i) {
    uint64_t ino = t.Lookup(InodeTable::kRoot, "f" + std::to_string(i), File(std::to_string(i)));
    t.Forget(ino, 1);
  }
  EXPECT_LT(journal->bytes(), 8u << 20) << "the file does not grow with history";
  InodeJournal::State state;
  ASSERT_TRUE(InodeJournal::Resume(path, &state).ok());
  EXPECT_EQ(state.init, "init") << "a snapshot keeps the INIT request";
  ASSERT_EQ(state.inodes.size(), 1u);
  EXPECT_EQ(state.inodes.begin()->first, kept);
  EXPECT_GT(state.next, kept + 100000);
}

// The lookup whose record makes the journal due for a snapshot is in that
// snapshot: it was once taken before the new inode was in the table, so a
// takeover right after lost an inode the kernel holds (ENOENT on that open
// file or cwd).
TEST_F(InodeJournalTest, TheInodeThatTriggersASnapshotIsInIt) {
  InodeTable t;
  auto journal = Journaled(&t);
  ASSERT_NE(journal, nullptr);
  uint64_t held = 0;
  for (int i = 0; i < 200000 && held == 0; ++i) {
    const uint64_t before = journal->bytes();
    uint64_t ino = t.Lookup(InodeTable::kRoot, "f" + std::to_string(i), File(std::to_string(i)));
    if (journal->bytes() < before) {
      held = ino;  // this lookup wrote a snapshot; the kernel still holds it
    } else {
      t.Forget(ino, 1);
    }
  }
  ASSERT_NE(held, 0u) << "no snapshot was taken";
  InodeJournal::State state;
  ASSERT_TRUE(InodeJournal::Resume(path_, &state).ok());
  ASSERT_TRUE(state.inodes.contains(held)) << "inode " << held << " lost";
  EXPECT_EQ(state.inodes.at(held).nlookup, 1u);
  EXPECT_GT(state.next, held);
}

}  // namespace
}  // namespace vms
