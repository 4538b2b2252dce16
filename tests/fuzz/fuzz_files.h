// For the fuzz targets whose parser reads a file: the input written to a
// file of a temp dir of this process, removed at exit.
#ifndef VMS_TESTS_FUZZ_FUZZ_FILES_H_
#define VMS_TESTS_FUZZ_FUZZ_FILES_H_

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "core/check.h"

namespace vms::fuzz {

// Not synced (a fuzzer writes thousands a second); the path stays the same
// from one input to the next.
inline std::string InputFile(const std::string& name, const uint8_t* data, size_t size) {
  static const std::string dir = [] {
    char made[] = "/tmp/vms-fuzz-XXXXXX";
    VMS_CHECK(mkdtemp(made) != nullptr, "mkdtemp");
    static std::string removed_at_exit = made;
    std::atexit([] { std::filesystem::remove_all(removed_at_exit); });
    return std::string(made);
  }();
  const std::string path = dir + "/" + name;
  FILE* f = std::fopen(path.c_str(), "wb");
  VMS_CHECK(f != nullptr, "open the input file");
  VMS_CHECK(std::fwrite(data, 1, size, f) == size, "write the input file");
  std::fclose(f);
  return path;
}

}  // namespace vms::fuzz

#endif  // VMS_TESTS_FUZZ_FUZZ_FILES_H_
