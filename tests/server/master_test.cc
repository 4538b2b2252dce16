#include "server/master.h"

#include <random>

#include "core/envelope.h"
#include "core/tree.h"
#include "gtest/gtest.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/master_trees.h"
#include "tests/testing/testing.h"

namespace vms {
namespace {

class MasterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    clock_.TickWallEveryRead(std::chrono::milliseconds(1));
    Reopen();
  }
  void Reopen() {
    master_.reset();
    master_ = Master::Open({.data_dir = dir_.path(), .clock = &clock_}).value();
  }

  // Stores a one-file tree and returns its root.
  Hash StoreTree(const std::string& content) {
    auto root = testing::StoreOneFileTree(master_.get(), "file", content);
    EXPECT_TRUE(root.ok()) << root.status();
    return root.value_or(Hash());
  }

  absl::StatusOr<CommitResult> Commit(const std::string& app, const std::string& version,
                                      const Hash& root) {
    return master_->Commit({.app = app, .version = version, .root = root, .principal = "dev@h"});
  }

  testing::TempDir dir_;
  testing::FakeClock clock_;  // each record stamped later than the one before
  std::unique_ptr<Master> master_;
};

TEST_F(MasterTest, CommitSignsReleaseAndLogsEvent) {
  Hash root = StoreTree("content");
  auto r = Commit("app", "1.0", root);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->created);
  EXPECT_EQ(r->seq, 1u);
  auto release = OpenRelease(r->release, master_->public_key());
  ASSERT_TRUE(release.ok()) << release.status();
  EXPECT_EQ(release->file_count(), 1u);
  EXPECT_EQ(release->byte_count(), 7u);
  EXPECT_EQ(release->publisher(), "dev@h");
  auto events = master_->records().ReadEvents(0, 10).value();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type(), Event::RELEASE_ADDED);
  EXPECT_EQ(events[0].version(), "1.0");
}

TEST_F(MasterTest, CommitRefusesIncompleteClosure) {
  std::string tree =
      EncodeTree({{.name = "f", .type = EntryType::kFile, .size = 3, .hash = Sha256("abc")}})
          .value();
  std::vector<StoredObject> objs = {{Sha256(tree), Codec::kRaw, tree.size(), tree}};
  ASSERT_TRUE(master_->PutObjects(&objs).ok());
  auto s = Commit("app", "1.0", Sha256(tree)).status();
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  EXPECT_NE(s.message().find("1 objects"), std::string::npos) << s;
  EXPECT_EQ(master_->records().head_seq(), 0u);
  EXPECT_TRUE(absl::IsNotFound(master_->records().ListVersions("app").status()));
}

// Bytes no compressor shrinks.
std::string Incompressible(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string out(n, '\0');
  for (char& c : out) c = static_cast<char>(rng());
  return out;
}

TEST_F(MasterTest, UploadsPastAPrincipalsQuotaAreRefusedUntilACommitNamesThem) {
  testing::TempDir dir;
  auto open = [&] {
    return Master::Open({.data_dir = dir.path(), .upload_quota_bytes = 100 << 10, .clock = &clock_})
        .value();
  };
  auto master = open();
  const std::string first = Incompressible(60 << 10, 1), second = Incompressible(60 << 10, 2);
  auto root = testing::StoreOneFileTree(master.get(), "f", first, "vms://user/alice");
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_GE(master->UnreferencedUploadBytes("vms://user/alice"), 60u << 10);

  auto refused = testing::StoreOneFileTree(master.get(), "f", second, "vms://user/alice");
  EXPECT_TRUE(absl::IsResourceExhausted(refused.status())) << refused.status();
  EXPECT_NE(refused.status().message().find("--upload-quota"), std::string::npos);
  Hash second_hash = Sha256(second);
  EXPECT_EQ(master->MissingObjects({&second_hash, 1}).value().size(), 1u) << "nothing stored";
  EXPECT_TRUE(testing::StoreOneFileTree(master.get(), "f", second, "vms://user/bob").ok())
      << "the quota is alice's, not everyone's";

  ASSERT_TRUE(
      master->Commit({.app = "app", .version = "1", .root = *root, .principal = "alice"}).ok());
  EXPECT_EQ(master->UnreferencedUploadBytes("vms://user/alice"), 0u) << "a release names them now";
  const uint64_t bobs = master->UnreferencedUploadBytes("vms://user/bob");
  master.reset();
  master = open();
  EXPECT_EQ(master->UnreferencedUploadBytes("vms://user/bob"), bobs) << "counted again at start";
  EXPECT_EQ(master->UnreferencedUploadBytes("vms://user/alice"), 0u);
  EXPECT_TRUE(
      testing::StoreOneFileTree(master.get(), "g", Incompressible(60 << 10, 3), "vms://user/alice")
          .ok());
}

TEST_F(MasterTest, UploadsThatWouldFillTheDiskAreRefusedAndNothingIsStored) {
  testing::TempDir dir;
  auto master =
      Master::Open({.data_dir = dir.path(), .min_free_bytes = uint64_t{1} << 60, .clock = &clock_})
          .value();
  const std::string content = Incompressible(4096, 4);
  auto refused = testing::StoreOneFileTree(master.get(), "f", content, "vms://user/alice");
  EXPECT_TRUE(absl::IsResourceExhausted(refused.status())) << refused.status();
  EXPECT_NE(refused.status().message().find("disk is nearly full"), std::string::npos);
  Hash h = Sha256(content);
  EXPECT_EQ(master->MissingObjects({&h, 1}).value().size(), 1u);
  EXPECT_EQ(master->UnreferencedUploadBytes("vms://user/alice"), 0u);
}

TEST_F(MasterTest, VersionsAreImmutable) {
  Hash a = StoreTree("a"), b = StoreTree("b");
  ASSERT_TRUE(Commit("app", "1.0", a).ok());
  ASSERT_TRUE(Commit("app", "2.0", b).ok());
  auto again = Commit("app", "1.0", a);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->created);
  EXPECT_EQ(again->seq, 1u) << "the seq of the event that added it, as CommitResponse says";
  EXPECT_EQ(master_->records().head_seq(), 2u);
  auto s = Commit("app", "1.0", b).status();
  EXPECT_TRUE(absl::IsFailedPrecondition(s));
  EXPECT_NE(s.message().find("already exists with different content"), std::string::npos);
}

TEST_F(MasterTest, RefusesBadNames) {
  Hash a = StoreTree("a");
  EXPECT_TRUE(absl::IsInvalidArgument(Commit("Bad", "1.0", a).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(Commit("app", "1 0", a).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(
      master_->Commit({.app = "app", .version = "1", .root = a, .principal = ""}).status()));
}

TEST_F(MasterTest, ListingsAndStatePersistAcrossRestart) {
  ASSERT_TRUE(Commit("beta", "2", StoreTree("x")).ok());
  ASSERT_TRUE(Commit("alpha", "1", StoreTree("y")).ok());
  ASSERT_TRUE(Commit("alpha", "0.9", StoreTree("z")).ok());
  std::string keyid = master_->public_key().keyid();
  Reopen();
  EXPECT_EQ(master_->public_key().keyid(), keyid);
  EXPECT_EQ(master_->records().head_seq(), 3u);
  auto apps = master_->records().ListApps().value();
  ASSERT_EQ(apps.size(), 2u);
  EXPECT_EQ(apps[0].app(), "alpha");
  EXPECT_EQ(apps[0].version_count(), 2u);
  EXPECT_EQ(apps[0].latest_version(), "0.9");
  auto versions = master_->records().ListVersions("alpha").value();
  ASSERT_EQ(versions.size(), 2u);
  EXPECT_EQ(ParseRelease(versions[0]).value().version(), "1");  // oldest first
  auto events = master_->records().ReadEvents(1, 10).value();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].seq(), 2u);
  EXPECT_EQ(events[1].seq(), 3u);
  ASSERT_TRUE(Commit("alpha", "3", StoreTree("w")).ok());
  EXPECT_EQ(master_->records().head_seq(), 4u);
}

TEST_F(MasterTest, SubscribersHearEveryEvent) {
  std::vector<uint64_t> heard;
  uint64_t id = master_->read_api()->Subscribe([&](uint64_t seq) { heard.push_back(seq); });
  ASSERT_TRUE(Commit("app", "1", StoreTree("1")).ok());
  ASSERT_TRUE(Commit("app", "2", StoreTree("2")).ok());
  master_->read_api()->Unsubscribe(id);
  ASSERT_TRUE(Commit("app", "3", StoreTree("3")).ok());
  EXPECT_EQ(heard, (std::vector<uint64_t>{1, 2}));
}

}  // namespace
}  // namespace vms
