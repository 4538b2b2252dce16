#include "core/names.h"

#include <string>

#include "gtest/gtest.h"

namespace vms {
namespace {

struct Case {
  std::string name;
  bool ok;
};

TEST(NamesTest, AppNames) {
  const Case cases[] = {
      {"python", true},
      {"a", true},
      {"0day", true},
      {"my-app_2.x", true},
      {std::string(64, 'a'), true},
      {"", false},
      {std::string(65, 'a'), false},
      {"Python", false},
      {"-app", false},
      {".hidden", false},
      {"a b", false},
      {"a/b", false},
      {"app@1", false},
      {"caf\xc3\xa9", false},
  };
  for (const Case& c : cases) {
    absl::Status s = ValidateAppName(c.name);
    EXPECT_EQ(s.ok(), c.ok) << "\"" << c.name << "\": " << s;
    if (!s.ok()) {
      EXPECT_NE(s.message().find("a-z, 0-9"), std::string::npos) << "message states the rule";
    }
  }
}

TEST(NamesTest, VersionNames) {
  const Case cases[] = {
      {"3.11.7", true},
      {"1.0.0-rc1+build.5", true},
      {"V2", true},
      {"2024_01", true},
      {std::string(64, '1'), true},
      {"", false},
      {std::string(65, '1'), false},
      {"-1", false},
      {".1", false},
      {"1 0", false},
      {"1/2", false},
      {"1:2", false},
  };
  for (const Case& c : cases) {
    absl::Status s = ValidateVersionName(c.name);
    EXPECT_EQ(s.ok(), c.ok) << "\"" << c.name << "\": " << s;
  }
}

TEST(NamesTest, EntryNames) {
  const Case cases[] = {
      {"bin", true},
      {".profile", true},
      {"a b", true},
      {"...", true},
      {std::string(255, 'x'), true},
      {"caf\xc3\xa9", true},
      {"", false},
      {".", false},
      {"..", false},
      {"a/b", false},
      {std::string("a\0b", 3), false},
      {std::string(256, 'x'), false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(ValidateEntryName(c.name).ok(), c.ok) << "\"" << c.name << "\"";
  }
}

TEST(NamesTest, SymlinkTargets) {
  EXPECT_TRUE(ValidateSymlinkTarget("../lib/libx.so.1").ok());
  EXPECT_TRUE(ValidateSymlinkTarget("/usr/bin/env").ok());
  EXPECT_FALSE(ValidateSymlinkTarget("").ok());
  EXPECT_FALSE(ValidateSymlinkTarget(std::string("a\0b", 3)).ok());
  EXPECT_FALSE(ValidateSymlinkTarget(std::string(4096, 'a')).ok());
}

}  // namespace
}  // namespace vms
