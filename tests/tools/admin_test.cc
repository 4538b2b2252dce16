#include <sys/stat.h>

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

}  // namespace
}  // namespace vms::admin
