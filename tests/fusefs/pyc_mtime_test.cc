#include "fusefs/pyc_mtime.h"

#include <cstdint>
#include <string>

#include "gtest/gtest.h"

namespace vms {
namespace {

// A PEP 552 header: magic, flags, mtime, size (little-endian), then code.
std::string Pyc(uint32_t flags, uint32_t mtime, uint32_t size, size_t cut = 0) {
  std::string s;
  for (uint32_t v : {0x0a0d0da7u, flags, mtime, size}) {
    for (int i = 0; i < 4; ++i) s.push_back(static_cast<char>(v >> (8 * i) & 0xff));
  }
  s += "code";
  return s.substr(0, s.size() - cut);
}

TEST(PycMtimeTest, PrefixOfSources) {
  struct Case {
    const char* name;
    const char* prefix;
  } cases[] = {
      {"os.py", "os.cpython-"},
      {"__init__.py", "__init__.cpython-"},
      {"a.b.py", "a.b.cpython-"},
      {".py", ""},  // no stem
      {"py", ""},
      {"os.pyc", ""},
      {"os.pyi", ""},
      {"os.py.txt", ""},
      {"", ""},
  };
  for (const Case& c : cases) EXPECT_EQ(PycPrefix(c.name), c.prefix) << c.name;
}

TEST(PycMtimeTest, SourceMtimeFromTheHeader) {
  struct Case {
    std::string pyc;
    uint64_t source_size;
    std::optional<int64_t> mtime_ms;
  } cases[] = {
      {Pyc(0, 1700000000, 1234), 1234, int64_t{1700000000} * 1000},
      {Pyc(0, 0xffffffff, 7), 7, int64_t{0xffffffff} * 1000},  // unsigned: no sign flip
      {Pyc(0, 1700000000, 1234), 1235, std::nullopt},          // another source
      {Pyc(1, 1700000000, 1234), 1234, std::nullopt},          // hash-based (checked)
      {Pyc(3, 1700000000, 1234), 1234, std::nullopt},          // hash-based (unchecked)
      {Pyc(0, 1700000000, 1234, /*cut=*/4), 1234, int64_t{1700000000} * 1000},  // header only
      {Pyc(0, 1700000000, 1234, /*cut=*/6), 1234, std::nullopt},                // short of a header
      {"", 0, std::nullopt},
      // Python records the size modulo 2^32.
      {Pyc(0, 5, 10), (uint64_t{1} << 32) + 10, int64_t{5000}},
  };
  for (size_t i = 0; i < std::size(cases); ++i) {
    EXPECT_EQ(PycSourceMtimeMs(cases[i].pyc, cases[i].source_size), cases[i].mtime_ms)
        << "case " << i;
  }
}

}  // namespace
}  // namespace vms
