#include <sys/stat.h>

#include <filesystem>

#include "core/chain.h"
#include "gtest/gtest.h"
#include "tests/testing/testing.h"
#include "tools/admin/root.h"

namespace vms::admin {
namespace {

TEST(AdminTest, RootInitMakesKeysAndASelfSignedRootOnce) {
  testing::TempDir dir;
  auto root = InitRoot(dir / "root", 3, 2);
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_EQ(root->keys.size(), 3u);
  for (int i = 1; i <= 3; ++i) {
    struct stat st;
    ASSERT_EQ(stat((dir / ("root/root-" + std::to_string(i) + ".key")).c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
  }
  auto loaded = LoadRoot(dir / "root/root.pub");
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->record.threshold(), 2u);
  EXPECT_EQ(loaded->record.version(), 1u);

  const std::string before = testing::ReadFileOrDie(dir / "root/root.pub");
  auto again = InitRoot(dir / "root");
  EXPECT_TRUE(absl::IsAlreadyExists(again.status())) << again.status();
  EXPECT_EQ(testing::ReadFileOrDie(dir / "root/root.pub"), before);
  EXPECT_TRUE(absl::IsInvalidArgument(InitRoot(dir / "x", 2, 3).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(InitRoot(dir / "y", 0, 1).status()));
}

TEST(AdminTest, KeyringsAndRotationsNeedTheRootsThreshold) {
  testing::TempDir dir;
  ASSERT_TRUE(InitRoot(dir / "root", 3, 2).ok());
  SigningKey admin = SigningKey::Generate(), master = SigningKey::Generate();
  testing::WriteFile(dir / "admin.pub", admin.public_key().Pem());
  testing::WriteFile(dir / "master.pub", master.public_key().Pem());
  KeyringArgs args{.root_dir = dir / "root",
                   .admin_keys = {dir / "admin.pub"},
                   .master_key = dir / "master.pub",
                   .signers = {dir / "root/root-1.key"},
                   .out = dir / "keyring"};
  auto one = SignKeyring(args);
  EXPECT_TRUE(absl::IsFailedPrecondition(one.status())) << one.status();
  EXPECT_NE(std::string(one.status().message()).find("signed by 1 root keys"), std::string::npos);
  args.signers.push_back(dir / "root/root-3.key");
  auto ring = SignKeyring(args);
  ASSERT_TRUE(ring.ok()) << ring.status();
  EXPECT_EQ(ring->version(), 1u);
  EXPECT_TRUE(absl::IsAlreadyExists(SignKeyring(args).status()));  // never over a file

  // A new root: the old threshold signs it, or nothing is written.
  auto short_of = RotateRoot(dir / "root", dir / "root2", 1, 1, {dir / "root/root-2.key"});
  EXPECT_TRUE(absl::IsFailedPrecondition(short_of.status())) << short_of.status();
  EXPECT_FALSE(std::filesystem::exists(dir / "root2/root.pub"));
  auto rotated = RotateRoot(dir / "root", dir / "root2", 1, 1);
  ASSERT_TRUE(rotated.ok()) << rotated.status();
  TrustChain chain(*LoadRoot(dir / "root/root.pub"));
  auto accepted = chain.Accept(rotated->envelope);
  ASSERT_TRUE(accepted.ok()) << accepted.status();
  EXPECT_EQ(chain.root().record.version(), 2u);
  // The next keyring is the new root's.
  args = {.root_dir = dir / "root2",
          .admin_keys = {dir / "admin.pub"},
          .master_key = dir / "master.pub",
          .previous = dir / "keyring",
          .out = dir / "keyring2"};
  auto next = SignKeyring(args);
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(next->version(), 2u);
  EXPECT_EQ(next->root_version(), 2u);
}

}  // namespace
}  // namespace vms::admin
