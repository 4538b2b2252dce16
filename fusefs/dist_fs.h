// The /dist namespace, with no FUSE in sight: every operation the kernel
// adapter (fuse_adapter.cc) forwards does its work here and returns 0 or an
// errno, as libfuse's passthrough_ll splits lo_do_lookup from lo_lookup.
//
//   /dist                 the apps (one symlink each)
//   /dist/APP             -> APP@VERSION, the live version
//   /dist/APP@VERSION/... the immutable tree of any version the site holds
//
// Version trees never change, so the adapter lets the kernel cache their
// entries, attributes and pages for a long time; only the root and the app
// symlinks are short-lived, and a flip invalidates the app's entry. An app's
// symlink is a new inode per live_seq, so a path resolved before a flip keeps
// resolving to the old tree. Thread-safe; no lock is held across a fetch.
#ifndef VMS_FUSEFS_DIST_FS_H_
#define VMS_FUSEFS_DIST_FS_H_

#include <sys/types.h>

#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "core/tree.h"
#include "fusefs/catalog.h"
#include "fusefs/content.h"
#include "fusefs/inode_table.h"

namespace vms {

struct FsOptions {
  double version_timeout_s = 86400;  // entries and attributes inside versions
  double live_timeout_s = 1;         // the root, app symlinks, names not found
  uint64_t prefetch_bytes = 16 << 20;  // siblings fetched with a file's first open
  size_t tree_cache_entries = 4096;    // decoded directories kept in memory
};

struct Attr {
  uint64_t ino = 0;
  mode_t mode = 0;
  uint64_t size = 0;
  uint32_t nlink = 1;
  int64_t mtime_ms = 0;
};

struct EntryReply {
  Attr attr;  // attr.ino == 0: a negative entry (ENOENT, cacheable)
  double entry_timeout_s = 0, attr_timeout_s = 0;
};

struct DirEntry {
  std::string name;
  mode_t type = 0;  // S_IFDIR, S_IFREG, S_IFLNK
};

// A span of an open file's bytes: `len` bytes at `pos` of `fd`.
struct Segment {
  int fd = -1;
  uint64_t pos = 0;
  size_t len = 0;
};

class DistFs {
 public:
  // `catalog` and `content` must outlive this.
  DistFs(Catalog* catalog, Content* content, FsOptions options = {});

  int Lookup(uint64_t parent, const std::string& name, EntryReply* out);
  void Forget(uint64_t ino, uint64_t n) { inodes_.Forget(ino, n); }
  int GetAttr(uint64_t ino, Attr* out, double* timeout_s);
  int ReadLink(uint64_t ino, std::string* out);
  int ReadDir(uint64_t ino, std::vector<DirEntry>* out);
  int Open(uint64_t ino, uint64_t* fh);
  int Read(uint64_t fh, uint64_t offset, size_t size, std::vector<Segment>* out);
  void Release(uint64_t fh);
  int GetXattr(uint64_t ino, const std::string& name, std::string* value);
  int ListXattr(uint64_t ino, std::vector<std::string>* names);

  const InodeTable& inodes() const { return inodes_; }
  size_t open_files() const;

 private:
  using Entries = std::shared_ptr<const std::vector<TreeEntry>>;
  struct OpenFile {
    struct Piece {
      Hash hash;
      uint64_t offset = 0, size = 0;
      int fd = -1;
    };
    std::vector<Piece> pieces;
  };

  int LookupRoot(const std::string& name, Node* node);
  absl::StatusOr<Entries> Tree(const Hash& hash);
  // Fetches, with the file about to be opened, its uncached siblings.
  void PrefetchSiblings(const Node& file);
  Attr AttrOf(uint64_t ino, const Node& node) const;
  double TimeoutOf(const Node& node) const;

  Catalog* catalog_;
  Content* content_;
  const FsOptions options_;
  const int64_t mounted_ms_;  // the root's mtime
  InodeTable inodes_;

  mutable std::mutex mu_;  // guards the two caches below; never held across I/O
  std::unordered_map<Hash, std::pair<Entries, std::list<Hash>::iterator>, HashHasher> trees_
      ABSL_GUARDED_BY(mu_);
  std::list<Hash> tree_lru_ ABSL_GUARDED_BY(mu_);
  uint64_t next_fh_ ABSL_GUARDED_BY(mu_) = 1;
  std::unordered_map<uint64_t, OpenFile> files_ ABSL_GUARDED_BY(mu_);
};

// errno for a Status from the layers below (NotFound -> ENOENT, else EIO).
int ErrnoOf(const absl::Status& s);

}  // namespace vms

#endif  // VMS_FUSEFS_DIST_FS_H_
