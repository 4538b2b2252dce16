// The inode journal a vms-fuse takeover replays, as it lies on disk (torn by
// a crash, or anything else): replayed, then restored into an inode table.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fusefs/inode_journal.h"
#include "fusefs/inode_table.h"
#include "tests/fuzz/fuzz_files.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vms;
  const std::string path = fuzz::InputFile("inodes", data, size);
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
