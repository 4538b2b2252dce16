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
#include <unordered_set>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "core/thread_pool.h"
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

// A span of a file's bytes: `len` bytes at `pos` of an object's raw bytes.
struct Segment {
  std::shared_ptr<const std::string> data;
  uint64_t pos = 0;
  size_t len = 0;
};

class DistFs {
 public:
  // `catalog` and `content` must outlive this.
  DistFs(Catalog* catalog, Content* content, FsOptions options = {});

  int Lookup(uint64_t parent, const std::string& name, EntryReply* out);
  // Forgets lookups; when the kernel holds an inode no more, the objects
  // pinned for its content are released.
  void Forget(uint64_t ino, uint64_t n);
  int GetAttr(uint64_t ino, Attr* out, double* timeout_s);
  int ReadLink(uint64_t ino, std::string* out);
  int ReadDir(uint64_t ino, std::vector<DirEntry>* out);
  // ReadDir with each entry looked up (readdirplus: the kernel then needs no
  // lookup per name). Every entry returned counts as one lookup of its inode.
  int ReadDirPlus(uint64_t ino, std::vector<std::pair<std::string, EntryReply>>* out);
  // Pins the file's objects (fetching what is missing) for as long as the
  // kernel holds the inode; a file open in any process holds its inode, so
  // its content is never evicted. Idempotent; *fh is the inode.
  int Open(uint64_t ino, uint64_t* fh);
  // Where the bytes are; opens the inode first if needed (the kernel may skip
  // open requests altogether, see fuse_ops.cc).
  int Read(uint64_t ino, uint64_t offset, size_t size, std::vector<Segment>* out);
  int GetXattr(uint64_t ino, const std::string& name, std::string* value);
  int ListXattr(uint64_t ino, std::vector<std::string>* names);

  const InodeTable& inodes() const { return inodes_; }
  // Inodes whose content is pinned.
  size_t open_files() const;
  // The names (parent inode, name) of the least recently read inodes whose
  // pinned content adds up to at least `bytes`: invalidating those entries
  // lets the kernel forget the inodes nobody uses (one open anywhere keeps its
  // inode, and so its pins), which lets the cache shrink to its bound.
  std::vector<std::pair<uint64_t, std::string>> ReclaimCandidates(uint64_t bytes) const;

 private:
  using Entries = std::shared_ptr<const std::vector<TreeEntry>>;
  struct OpenFile {
    struct Piece {
      Hash hash;
      uint64_t offset = 0, size = 0;
    };
    std::vector<Piece> pieces;
    uint64_t bytes = 0;
    uint64_t last_read = 0;  // read_clock_ at the last read
  };

  int LookupRoot(const std::string& name, Node* node);
  // The source timestamp recorded in the timestamp-based .pyc that Python
  // keeps for `file` (DIR/__pycache__/NAME.cpython-*.pyc), when its recorded
  // size matches; 0 otherwise.
  int64_t PycSourceMtimeMs(const std::vector<TreeEntry>& dir, const TreeEntry& file);
  absl::StatusOr<Entries> Tree(const Hash& hash);
  // Fetches `file` together with the uncached files after it in its
  // directory (up to the prefetch budget), in one request: a reader going
  // through a directory then finds them cached.
  void FetchWithSiblings(const Node& file);
  // Fetches, in the background and one request per tree level, every tree
  // object of a version: listings and lookups anywhere in it then need no
  // round trip. Trees are a small part of a version (about 60 bytes a name).
  void PrefetchTrees(const Hash& root);
  Attr AttrOf(uint64_t ino, const Node& node) const;
  double TimeoutOf(const Node& node) const;       // attributes
  double EntryTimeoutOf(const Node& node) const;  // the name -> inode mapping

  Catalog* catalog_;
  Content* content_;
  const FsOptions options_;
  const int64_t mounted_ms_;  // the root's mtime
  InodeTable inodes_;

  mutable std::mutex mu_;  // guards what follows; never held across I/O
  std::unordered_set<Hash, HashHasher> tree_walks_ ABSL_GUARDED_BY(mu_);  // version roots
  std::unordered_map<Hash, std::pair<Entries, std::list<Hash>::iterator>, HashHasher> trees_
      ABSL_GUARDED_BY(mu_);
  std::list<Hash> tree_lru_ ABSL_GUARDED_BY(mu_);
  std::unordered_map<uint64_t, OpenFile> files_ ABSL_GUARDED_BY(mu_);  // by inode
  uint64_t read_clock_ ABSL_GUARDED_BY(mu_) = 0;
  ThreadPool prefetch_pool_{2};  // last: drained before the rest goes
};

// errno for a Status from the layers below (NotFound -> ENOENT, else EIO).
int ErrnoOf(const absl::Status& s);

}  // namespace vms

#endif  // VMS_FUSEFS_DIST_FS_H_
