#include "core/process.h"

#include <sys/stat.h>

#include <filesystem>

#include "gtest/gtest.h"
#include "tests/testing/testing.h"

namespace vms {
namespace {

TEST(ProcessTest, ArgumentsAreNeverInterpretedByAShell) {
  // vms-fuse once detached a dead mount with std::system("fusermount3 -u -z
  // 'PATH'"): a quote in the mountpoint ended the string and the rest ran.
  testing::TempDir d;
  const std::string planted = d / "planted";
  const std::string path = d / ("it's; touch " + planted + "; echo '");
  std::filesystem::create_directories(path);
  auto rc = RunQuietly({"ls", "-d", "--", path});
  ASSERT_TRUE(rc.ok()) << rc.status();
  EXPECT_EQ(*rc, 0) << "ls was given the path, whole";
  EXPECT_FALSE(std::filesystem::exists(planted)) << "nothing in the path ran";
}

TEST(ProcessTest, ExitStatusAndMissingProgram) {
  EXPECT_EQ(RunQuietly({"false"}).value(), 1);
  EXPECT_EQ(RunQuietly({"sh", "-c", "kill -9 $$"}).value(), 128 + 9);
  auto missing = RunQuietly({"no-such-program-vms"});
  EXPECT_TRUE(absl::IsUnavailable(missing.status())) << missing.status();
}

}  // namespace
}  // namespace vms
