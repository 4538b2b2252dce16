// The files whose content is pinned in the host cache, by inode: pinned
// while the kernel holds the inode (a file open in any process holds its
// inode), so open content is never evicted. A large (chunked) file's chunks
// are pinned as they are first read, so that its first bytes are served
// before its last chunk has come. Each remembers how recently it
// was read, so that under cache pressure the least recently read can be let
// go (DistFs::ReclaimCandidates). Thread-safe; its own lock, never held
// across a pin, an unpin or a fetch.
#ifndef VMS_FUSEFS_OPEN_FILES_H_
#define VMS_FUSEFS_OPEN_FILES_H_

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "core/hash.h"
#include "core/sync.h"
#include "fusefs/content.h"

namespace vms {

class OpenFiles {
 public:
  // One object of a file: `size` bytes at `offset` of the file.
  struct Piece {
    Hash hash;
    uint64_t offset = 0, size = 0;
    bool pinned = true;  // by the caller of Add, or since its first read
  };
  // `len` bytes at `pos` of object `hash`, the file's piece number `piece`.
  struct Span {
    Hash hash;
    uint64_t pos = 0;
    size_t len = 0;
    size_t piece = 0;
    bool pinned = false;
  };

  // `content` must outlive this.
  explicit OpenFiles(Content* content) : content_(content) {}

  bool Contains(uint64_t ino) const;
  // Records `ino` with its `pieces`, those marked pinned pinned by the
  // caller. When `ino` is there already (another thread got there first),
  // unpins them again and returns false.
  bool Add(uint64_t ino, std::vector<Piece> pieces);
  // Records that the caller pinned piece `piece` of `ino`; false (and the
  // caller unpins it again) if it was pinned already or `ino` is gone.
  bool MarkPinned(uint64_t ino, size_t piece);
  // Unpins the content of `ino` and forgets it (the kernel forgot the inode).
  void Remove(uint64_t ino);
  // Marks `ino` read; true at its first read.
  bool MarkRead(uint64_t ino);
  // Where bytes [offset, offset + size) of `ino` are, as a read now; false
  // when `ino` is not open.
  bool Locate(uint64_t ino, uint64_t offset, size_t size, std::vector<Span>* out);
  // The objects of `ino` holding bytes [offset, offset + bytes), in order.
  std::vector<Hash> Ahead(uint64_t ino, uint64_t offset, uint64_t bytes) const;
  // Open files, least recently read first, until their bytes add up to
  // `bytes`.
  std::vector<uint64_t> LeastRecentlyRead(uint64_t bytes) const;
  size_t size() const;

 private:
  struct File {
    std::vector<Piece> pieces;
    uint64_t bytes = 0;
    uint64_t last_read = 0;  // clock_ at the last read
    bool read = false;       // read at least once
  };
  Content* content_;
  mutable Mutex mu_;
  std::unordered_map<uint64_t, File> files_ ABSL_GUARDED_BY(mu_);
  uint64_t clock_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace vms

#endif  // VMS_FUSEFS_OPEN_FILES_H_
