// The inode journal a vms-fuse takeover replays, as it lies on disk (torn by
// a crash, or anything else): replayed, then restored into an inode table.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "core/check.h"
#include "fusefs/inode_journal.h"
#include "fusefs/inode_table.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vms;
  static const std::string path = [] {
    char dir[] = "/tmp/vms-fuzz-journal-XXXXXX";
    VMS_CHECK(mkdtemp(dir) != nullptr, "mkdtemp");
    static std::string made = dir;
    std::atexit([] { std::filesystem::remove_all(made); });
    return std::string(dir) + "/inodes";
  }();
  FILE* f = std::fopen(path.c_str(), "wb");
  VMS_CHECK(f != nullptr, "open the journal file");
  VMS_CHECK(std::fwrite(data, 1, size, f) == size, "write the journal file");
  std::fclose(f);
  InodeJournal::State state;
  auto journal = InodeJournal::Resume(path, &state);
  if (!journal.ok()) return 0;
  InodeTable table;
  (void)table.Restore(state.next, state.inodes);
  for (const auto& [ino, held] : state.inodes) {
    (void)table.Get(ino);
    table.Forget(ino, held.nlookup);
  }
  return 0;
}
