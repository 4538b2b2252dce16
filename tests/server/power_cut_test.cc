// Power cuts, not kill -9: a killed process leaves its writes in the page
// cache, so only a file system that drops what was never synced can show
// that every acknowledged push and flip was really made durable
// (tests/testing/power_cut_fs.h).
#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "core/codec.h"
#include "core/db.h"
#include "core/envelope.h"
#include "core/strings.h"
#include "core/tree.h"
#include "gtest/gtest.h"
#include "server/master.h"
#include "server/replica.h"
#include "tests/testing/fake_upstream.h"
#include "tests/testing/power_cut_fs.h"
#include "tests/testing/testing.h"

namespace vms {
namespace {

using testing::PowerCutFs;

// Every object below `root` is present and matches its hash; trees are
// walked whole (no complete marks taken on trust).
absl::Status VerifyWhole(const ObjectStore& store, const Hash& root) {
  auto raw = store.GetRaw(root);
  if (!raw.ok()) return raw.status();
  auto entries = DecodeTree(*raw);
  if (!entries.ok()) return entries.status();
  for (const TreeEntry& e : *entries) {
    if (e.type == EntryType::kDir) {
      if (absl::Status s = VerifyWhole(store, e.hash); !s.ok()) return s;
    } else if (e.type == EntryType::kFile) {
      if (auto file = store.GetRaw(e.hash); !file.ok()) return file.status();
    }
  }
  return absl::OkStatus();
}

// Stores a version's objects (unsynced, as an upload does): a file of its
// own, a shared one, and a directory holding both.
Hash Upload(Master* master, const std::string& own) {
  std::string shared = "shared by every version";
  std::string sub =
      EncodeTree({{.name = "f", .type = EntryType::kFile, .size = own.size(), .hash = Sha256(own)}})
          .value();
  std::string top =
      EncodeTree(
          {{.name = "d", .type = EntryType::kDir, .size = own.size(), .hash = Sha256(sub)},
           {.name = "s", .type = EntryType::kFile, .size = shared.size(), .hash = Sha256(shared)}})
          .value();
  std::vector<StoredObject> objects;
  for (const std::string& raw : {own, shared, sub, top}) {
    EncodedObject e = Encode(raw, 1);
    objects.push_back({Sha256(raw), e.codec, raw.size(), e.data});
  }
  EXPECT_TRUE(master->PutObjects(&objects).ok());
  return Sha256(top);
}

TEST(PowerCutTest, TheHarnessLosesWhatWasNotSynced) {
  // The control: without this, the tests below could pass on a store that
  // never syncs.
  testing::TempDir dir;
  auto fs = PowerCutFs::Make();
  {
    auto db = Db::Open(dir / "db", {"f"}, fs->env()).value();
    rocksdb::WriteBatch synced, unsynced;
    synced.Put(db->Family("f"), "synced", "1");
    unsynced.Put(db->Family("f"), "unsynced", "2");
    ASSERT_TRUE(db->Write(&synced, /*sync=*/true).ok());
    ASSERT_TRUE(db->Write(&unsynced, /*sync=*/false).ok());
    fs->Cut();
  }
  EXPECT_GT(fs->DropUnsynced(), 0u);
  auto db = Db::Open(dir / "db", {"f"}).value();
  EXPECT_EQ(db->Get("f", "synced").value(), "1");
  EXPECT_EQ(db->Get("f", "unsynced").value(), std::nullopt) << "an unsynced write survived";
}

TEST(PowerCutTest, EveryAcknowledgedPushAndFlipOfTheMasterSurvives) {
  testing::TempDir dir;
  auto fs = PowerCutFs::Make();
  std::vector<std::pair<std::string, Hash>> pushed;
  uint64_t last_live_seq = 0;
  {
    auto master = Master::Open({.data_dir = dir.path(), .env = fs->env()}).value();
    for (int i = 1; i <= 6; ++i) {
      std::string version = "1." + std::to_string(i);
      // Big enough to be kept in a file of its own (core/object_store.h).
      Hash root = Upload(master.get(), "content of " + version + testing::RandomBytes(2 << 20, i));
      ASSERT_TRUE(master->Commit({"app", version, root, "dev@h", ""}).ok());
      pushed.emplace_back(version, root);
      // Every other version goes live; a rollback too.
      if (i % 2 == 0) {
        auto flip = master->SetLive({"app", version, "dev@h"});
        ASSERT_TRUE(flip.ok()) << flip.status();
      }
    }
    auto back = master->Rollback({"app", "", "dev@h"});
    ASSERT_TRUE(back.ok()) << back.status();
    last_live_seq = ParseLiveRecord(back->record).value().live_seq();
    // Uploaded, never committed: no one was told it is stored.
    Upload(master.get(), "never committed");
    fs->Cut();
  }
  EXPECT_GT(fs->DropUnsynced(), 0u) << "the cut lost nothing: the test proves nothing";

  auto master = Master::Open({.data_dir = dir.path()}).value();
  EXPECT_EQ(master->records().head_seq(), 6u + 3u + 1u);
  for (const auto& [version, root] : pushed) {
    auto again = master->Commit({"app", version, root, "dev@h", ""});
    ASSERT_TRUE(again.ok()) << version << ": " << again.status();
    EXPECT_FALSE(again->created) << version << " was acknowledged, then lost";
    EXPECT_TRUE(VerifyWhole(master->records().objects(), root).ok()) << version;
  }
  auto live = master->records().CurrentLive("app").value();
  ASSERT_TRUE(live.has_value());
  LiveRecord record = ParseLiveRecord(*live).value();
  EXPECT_EQ(record.live_seq(), last_live_seq);
  EXPECT_EQ(record.version(), "1.4") << "the rollback from 1.6";
  EXPECT_EQ(master->records().LiveHistory("app").value().size(), 4u);
  // And the master goes on from there.
  EXPECT_TRUE(master->SetLive({"app", "1.5", "dev@h"}).ok());
}

TEST(PowerCutTest, WhatAReplicaAppliedSurvives) {
  testing::TempDir dir;
  auto master = Master::Open({.data_dir = dir / "master"}).value();
  for (int i = 1; i <= 3; ++i) {
    std::string version = std::to_string(i);
    ASSERT_TRUE(
        master->Commit({"app", version, Upload(master.get(), "v" + version), "dev@h", ""}).ok());
  }
  ASSERT_TRUE(master->SetLive({"app", "2", "dev@h"}).ok());
  testing::FakeUpstream upstream(master.get());
  auto fs = PowerCutFs::Make();
  uint64_t applied = 0;
  {
    auto replica = Replica::Open({.data_dir = dir / "ny", .site = "ny", .env = fs->env()},
                                 TrustChain::MasterKeyOnly(master->public_key()))
                       .value();
    std::vector<Event> events = master->records().ReadEvents(0, 100).value();
    for (const Event& e : events) {
      ASSERT_TRUE(replica->Apply(e, &upstream, nullptr).ok());
      applied = replica->applied_seq();
    }
    fs->Cut();
  }
  fs->DropUnsynced();
  auto replica = Replica::Open({.data_dir = dir / "ny", .site = "ny"},
                               TrustChain::MasterKeyOnly(master->public_key()))
                     .value();
  EXPECT_EQ(replica->applied_seq(), applied);
  EXPECT_EQ(replica->applied_seq(), 4u);
  std::vector<Envelope> releases = replica->records().ListVersions("app").value();
  EXPECT_EQ(releases.size(), 3u);
  for (const Envelope& env : releases) {
    Release r = ParseRelease(env).value();
    EXPECT_TRUE(VerifyWhole(replica->records().objects(), Hash::FromBytes(r.root()).value()).ok())
        << r.version();
  }
  auto live = replica->records().CurrentLive("app").value();
  ASSERT_TRUE(live.has_value());
  EXPECT_EQ(ParseLiveRecord(*live).value().version(), "2");
}

// A version of `n` files of their own, each big enough for a file of its own
// in large/, beside the file every version shares.
Hash UploadBig(Master* master, const std::string& version, int n) {
  std::string shared = "shared by every version";
  std::vector<std::string> raws = {shared};
  std::vector<TreeEntry> entries = {
      {.name = "s", .type = EntryType::kFile, .size = shared.size(), .hash = Sha256(shared)}};
  for (int i = 0; i < n; ++i) {
    std::string own = StrCat(version, "/", i, testing::RandomBytes(2 << 20, i + 100 * n));
    entries.push_back({.name = StrCat("f", i),
                       .type = EntryType::kFile,
                       .size = own.size(),
                       .hash = Sha256(own)});
    raws.push_back(std::move(own));
  }
  std::sort(entries.begin(), entries.end(),
            [](const TreeEntry& a, const TreeEntry& b) { return a.name < b.name; });
  raws.push_back(EncodeTree(entries).value());
  std::vector<StoredObject> objects;
  for (const std::string& raw : raws) {
    EncodedObject e = Encode(raw, 1);
    objects.push_back({Sha256(raw), e.codec, raw.size(), e.data});
  }
  EXPECT_TRUE(master->PutObjects(&objects).ok());
  return Sha256(raws.back());
}

std::vector<std::string> FilesIn(const std::filesystem::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    out.push_back(e.path().filename().string());
  }
  return out;
}

// The power goes out in the middle of a sweep, after its synced batch took
// the retired version's objects out of the index: as it moves the first,
// second or third of the version's three large files to the trash, or as
// the trash is emptied. Nothing a kept version uses is lost, and the files
// left behind go when the master opens again.
using Cut = std::pair<PowerCutFs::Op, int>;
class SweepCutTest : public ::testing::TestWithParam<Cut> {};

TEST_P(SweepCutTest, NothingStillReferencedIsLostAndTheRestGoesOnOpen) {
  const auto [op, n] = GetParam();
  testing::TempDir dir;
  const std::filesystem::path db = std::filesystem::path(dir.path()) / "db";
  auto fs = PowerCutFs::Make();
  std::vector<Hash> kept;
  Hash gone;
  {
    auto master = Master::Open({.data_dir = dir.path(), .env = fs->env()}).value();
    gone = UploadBig(master.get(), "1", 3);
    ASSERT_TRUE(master->Commit({"app", "1", gone, "dev@h", ""}).ok());
    for (std::string version : {"2", "3"}) {
      kept.push_back(UploadBig(master.get(), version, 2));
      ASSERT_TRUE(master->Commit({"app", version, kept.back(), "dev@h", ""}).ok());
    }
    ASSERT_TRUE(master->SetLive({"app", "3", "dev@h"}).ok());
    ASSERT_EQ(FilesIn(db / "large").size(), 7u) << "each version's own files are large";
    fs->CutAt(op, n, op == PowerCutFs::Op::kRename ? db / "large" : db / "large-trash");
    auto retired = master->Retire({.app = "app", .version = "1", .principal = "dev@h"});
    ASSERT_TRUE(retired.ok()) << retired.status();
    ASSERT_TRUE(fs->cut()) << "the sweep did fewer operations than planned";
  }
  fs->DropUnsynced();

  auto master = Master::Open({.data_dir = dir.path()}).value();
  EXPECT_EQ(FilesIn(db / "large").size(), 4u) << "the cut sweep's orphans are dropped on open";
  EXPECT_EQ(FilesIn(db / "large-trash").size(), 0u) << "the trash is emptied on open";
  auto state = master->records().LoadAppState("app").value();
  ASSERT_TRUE(state.has_value());
  EXPECT_EQ(state->retired_size(), 1) << "the retirement was acknowledged";
  EXPECT_EQ(master->records().objects().Missing({&gone, 1}).value().size(), 1u)
      << "the swept batch was synced";
  uint64_t large = 0;
  for (const std::string& name : FilesIn(db / "large")) {
    large += std::filesystem::file_size(db / "large" / name);
  }
  EXPECT_EQ(master->records().objects().large_bytes(), large);
  for (const Hash& root : kept) {
    EXPECT_TRUE(VerifyWhole(master->records().objects(), root).ok()) << root.Short();
  }
  auto gc = master->CollectGarbage(/*dry_run=*/false);
  ASSERT_TRUE(gc.ok()) << gc.status();
  EXPECT_EQ(gc->objects_removed(), 0u);
  EXPECT_TRUE(master->SetLive({"app", "2", "dev@h"}).ok());
}

INSTANTIATE_TEST_SUITE_P(
    PowerCutTest, SweepCutTest,
    ::testing::Values(Cut{PowerCutFs::Op::kRename, 1}, Cut{PowerCutFs::Op::kRename, 2},
                      Cut{PowerCutFs::Op::kRename, 3}, Cut{PowerCutFs::Op::kDelete, 1},
                      Cut{PowerCutFs::Op::kDelete, 3}),
    [](const auto& info) {
      return StrCat(info.param.first == PowerCutFs::Op::kRename ? "AtTrashing" : "AtUnlink",
                    info.param.second);
    });

}  // namespace
}  // namespace vms
