// The /dist namespace, with no FUSE in sight: every operation the kernel
// adapter (fuse_ops.cc) forwards does its work here and returns 0 or an
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
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "core/sync.h"
#include "core/thread_pool.h"
#include "core/tree.h"
#include "fusefs/catalog.h"
#include "fusefs/content.h"
#include "fusefs/inode_table.h"

namespace vms {

struct FsOptions {
  double version_timeout_s = 86400;    // entries and attributes inside versions
  double live_timeout_s = 1;           // the root, app symlinks, names not found
  uint64_t prefetch_bytes = 16 << 20;  // siblings fetched with a file's first open
  // The readahead window of a walk through a version (see Readahead).
  uint64_t readahead_min_bytes = 2 << 20;
  uint64_t readahead_max_bytes = 64 << 20;
  size_t tree_cache_entries = 4096;  // decoded directories kept in memory
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
  // A directory's entries from position `offset` on (0: the first), handed
  // to `add` in order until it returns false (the kernel's buffer is full)
  // or the entries run out. A listing in many calls thus costs O(entries)
  // in all, and nothing the size of the directory is built per call.
  using DirSink = std::function<bool(const DirEntry&)>;
  int ReadDir(uint64_t ino, size_t offset, const DirSink& add);
  // ReadDir with each entry looked up (readdirplus: the kernel then needs no
  // lookup per name). Every entry `add` accepts counts as one lookup of its
  // inode; the one it refuses is forgotten again.
  using DirPlusSink = std::function<bool(const std::string& name, const EntryReply& entry)>;
  int ReadDirPlus(uint64_t ino, size_t offset, const DirPlusSink& add);
  // Pins the file's objects (fetching what is missing) for as long as the
  // kernel holds the inode; a file open in any process holds its inode, so
  // its content is never evicted. Idempotent; *fh is the inode.
  int Open(uint64_t ino, uint64_t* fh);
  // Where the bytes are; opens the inode first if needed (the kernel may skip
  // open requests altogether, see fuse_ops.cc).
  int Read(uint64_t ino, uint64_t offset, size_t size, std::vector<Segment>* out);
  // What statfs (df, shutil.disk_usage) reports: the host cache, as
  // CernVM-FS does. Size is the cache's bound, used what it holds (at most
  // the bound: open files may pin it past), inodes those the kernel holds out
  // of a 2^32 that never runs out.
  struct FsStats {
    uint64_t block_size = 4096;
    uint64_t blocks = 0, blocks_free = 0;
    uint64_t inodes = 0, inodes_free = 0;
  };
  FsStats StatFs() const;
  int GetXattr(uint64_t ino, const std::string& name, std::string* value);
  int ListXattr(uint64_t ino, std::vector<std::string>* names);

  const InodeTable& inodes() const { return inodes_; }
  // Whether the version's walk order is known (its trees are all here), so
  // that reads through it get readahead.
  bool WalkReady(const std::string& app, const std::string& version) const;
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
    bool read = false;       // read at least once
  };
  // A version's files in the order a walk through its tree reads them, and
  // how far ahead of that walk objects have been asked for.
  struct Walk {
    std::vector<Hash> files;          // depth first, names in order; chunked files left out
    std::vector<uint64_t> end_bytes;  // bytes of files[0..i]
    // tree -> index of its first file, number of files below it
    std::unordered_map<Hash, std::pair<size_t, size_t>, HashHasher> dirs;
    Hash root;
    Mutex mu;
    uint64_t window ABSL_GUARDED_BY(mu) = 0;  // bytes; 0: no read yet
    uint64_t window_start ABSL_GUARDED_BY(mu) = 0, requested_end ABSL_GUARDED_BY(mu) = 0;
  };
  static constexpr size_t kMaxWalks = 16;
  static constexpr uint64_t kReadaheadRequestBytes = 4 << 20;

  int LookupRoot(const std::string& name, Node* node);
  // The source timestamp recorded in the timestamp-based .pyc that Python
  // keeps for `file` (DIR/__pycache__/NAME.cpython-*.pyc), when its recorded
  // size matches; 0 otherwise.
  int64_t PycSourceMtimeMs(const std::vector<TreeEntry>& dir, const TreeEntry& file);
  absl::StatusOr<Entries> Tree(const Hash& hash);
  // Fetches `file`, then in the background the uncached files after it in
  // its directory (up to the prefetch budget): a reader going through a
  // directory then finds them cached.
  void FetchWithSiblings(const Node& file);
  // Fetches, in the background and one request per tree level, every tree
  // object of a version: listings and lookups anywhere in it then need no
  // round trip. Trees are a small part of a version (about 60 bytes a name).
  // Then builds its Walk, shared by every version with that root;
  // `version_key` (APP@VERSION) is how reads find it.
  void PrefetchTrees(const Hash& root, const std::string& version_key);
  std::shared_ptr<Walk> BuildWalk(const Hash& root);
  // Where `name` in directory `dir` comes in the walk.
  size_t WalkIndexOf(const Walk& walk, const Node& dir, const std::string& name);
  // Called at the first read of a file: asks, in the background, for the
  // files a walk through the version reads next, a window ahead of this
  // one; the window grows while reads follow the walk (tar, cp -r, a test
  // suite) and stays small for scattered reads (a program's imports).
  void Readahead(const Node& file);
  Attr AttrOf(uint64_t ino, const Node& node) const;
  double TimeoutOf(const Node& node) const;       // attributes
  double EntryTimeoutOf(const Node& node) const;  // the name -> inode mapping

  Catalog* catalog_;
  Content* content_;
  const FsOptions options_;
  const int64_t mounted_ms_;  // the root's mtime
  InodeTable inodes_;

  mutable Mutex mu_;  // guards what follows; never held across I/O
  std::unordered_set<Hash, HashHasher> tree_walks_ ABSL_GUARDED_BY(mu_);  // version roots
  struct WalkSlot {
    std::shared_ptr<Walk> walk;
    uint64_t used = 0;  // read_clock_ when last read through
  };
  // By version root: two versions with the same content share one walk.
  std::unordered_map<Hash, WalkSlot, HashHasher> walks_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Hash> roots_ ABSL_GUARDED_BY(mu_);  // APP@VERSION -> its root
  std::unordered_map<Hash, std::pair<Entries, std::list<Hash>::iterator>, HashHasher> trees_
      ABSL_GUARDED_BY(mu_);
  std::list<Hash> tree_lru_ ABSL_GUARDED_BY(mu_);
  std::unordered_map<uint64_t, OpenFile> files_ ABSL_GUARDED_BY(mu_);  // by inode
  uint64_t read_clock_ ABSL_GUARDED_BY(mu_) = 0;
  // Last: drained before the rest goes. Trees on one pool, content ahead of
  // readers on the other, so that neither waits behind the other.
  ThreadPool prefetch_pool_{2};
  ThreadPool readahead_pool_{2};
};

// errno for a Status from the layers below (NotFound -> ENOENT, else EIO).
int ErrnoOf(const absl::Status& s);

}  // namespace vms

#endif  // VMS_FUSEFS_DIST_FS_H_
