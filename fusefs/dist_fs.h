// The /dist namespace, with no FUSE in sight: every operation the kernel
// adapter (fuse_ops.cc) forwards does its work here and returns 0 or an
// errno, as libfuse's passthrough_ll splits lo_do_lookup from lo_lookup.
//
//   /dist                 the apps (one symlink each)
//   /dist/APP             -> APP@VERSION, the live version
//   /dist/APP@VERSION/... the immutable tree of any version the site holds
//   /dist/APP@LABEL       -> APP@VERSION, what the label points to here
//   /dist/.at/TIME/APP    -> ../../APP@VERSION, what was live here at TIME
//                         (2026-11-25T10:00:00Z or @UNIX_SECONDS)
//
// Version trees never change, so the adapter lets the kernel cache their
// entries, attributes and pages for a long time; only the root and the app
// symlinks are short-lived, and a flip invalidates the app's entry. An app's
// symlink is a new inode per live_seq, so a path resolved before a flip keeps
// resolving to the old tree. Thread-safe; no lock is held across a fetch.
//
// DistFs is the namespace only; its parts have their own contracts and locks:
// InodeTable (what the kernel holds), TreeCache (decoded directories),
// OpenFiles (content pinned while the kernel holds a file), WalkReadahead
// (what is fetched before it is asked for), PycMtime (a .py's mtime) and
// Xattrs (where a path came from).
#ifndef VMS_FUSEFS_DIST_FS_H_
#define VMS_FUSEFS_DIST_FS_H_

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/tree.h"
#include "fusefs/catalog.h"
#include "fusefs/census.h"
#include "fusefs/content.h"
#include "fusefs/inode_journal.h"
#include "fusefs/inode_table.h"
#include "fusefs/open_files.h"
#include "fusefs/tree_cache.h"
#include "fusefs/walk_readahead.h"
#include "fusefs/xattrs.h"

namespace vms {

struct FsOptions {
  double version_timeout_s = 86400;    // entries and attributes inside versions
  double live_timeout_s = 1;           // the root, app symlinks, names not found
  uint64_t prefetch_bytes = 16 << 20;  // siblings fetched with a file's first open
  // The readahead window of a walk through a version (walk_readahead.h).
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
  static constexpr char kAtName[] = ".at";
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
  // lookup per name). Entries go in order while `fits` says the reply has
  // room for the next name; only those are looked up, as libfuse's
  // passthrough_ll does, and each `add`ed entry counts as one lookup of its
  // inode (the caller forgets them if the reply never reaches the kernel).
  struct DirPlusSink {
    std::function<bool(const std::string& name)> fits;
    std::function<void(const std::string& name, const EntryReply& entry)> add;
  };
  int ReadDirPlus(uint64_t ino, size_t offset, const DirPlusSink& sink);
  // Pins the file's objects (fetching what is missing) for as long as the
  // kernel holds the inode; a file open in any process holds its inode, so
  // its content is never evicted. A chunked file's chunks are pinned at their
  // first read instead, and fetched ahead of it (Read). Idempotent; *fh is
  // the inode.
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

  // A version was retired: drops from the host cache what its tree (as far
  // as cached) names and no live or labelled version here does, unless
  // open. Returns the raw bytes given back.
  uint64_t ReclaimVersion(const Hash& root);

  // Counts each lookup of a version's tree (or of a link to one) as a use
  // (fusefs/census.h); may be null. Set before the mount serves.
  void SetCensus(HostCensus* census) { census_ = census; }

  // Keeps what the kernel holds in a new journal at `path` (a fresh mount):
  // see inode_journal.h.
  absl::Status StartJournal(const std::string& path);
  // Takes over from a predecessor's journal at `path` (a takeover of its
  // mount): the inodes the kernel holds mean what they meant, cached content
  // of files is pinned again, and the journal goes on. Returns the kernel's
  // FUSE_INIT request the predecessor recorded ("" if none).
  absl::StatusOr<std::string> ResumeJournal(const std::string& path);
  // Records the kernel's FUSE_INIT request (once the session answered it).
  void JournalInit(std::string_view request) { inodes_.JournalInit(request); }

  const InodeTable& inodes() const { return inodes_; }
  const ObjectCache& cache() const { return content_->cache(); }
  // Whether the version's walk order is known (its trees are all here), so
  // that reads through it get readahead.
  bool WalkReady(const std::string& app, const std::string& version) const;
  // Inodes whose content is pinned.
  size_t open_files() const { return files_.size(); }
  // The names (parent inode, name) of the least recently read inodes whose
  // pinned content adds up to at least `bytes`: invalidating those entries
  // lets the kernel forget the inodes nobody uses (one open anywhere keeps its
  // inode, and so its pins), which lets the cache shrink to its bound.
  std::vector<std::pair<uint64_t, std::string>> ReclaimCandidates(uint64_t bytes) const;

 private:
  // Journals inodes to `journal` from now on (see StartJournal).
  void UseJournal(std::unique_ptr<InodeJournal> journal);
  int LookupRoot(const std::string& name, Node* node);
  // In /.at (name is an instant) or /.at/TIME (name is an app).
  int LookupAsOf(const Node& dir, const std::string& name, Node* node);
  // A node for `entry` of directory `dir`, whose entries are `entries`.
  Node ChildOf(const Node& dir, const std::vector<TreeEntry>& entries, const TreeEntry& entry);
  // The source mtime recorded by the timestamp-based .pyc Python keeps for
  // `file` (in DIR/__pycache__), when its recorded size matches; 0 otherwise.
  int64_t PycSourceMtimeMs(const std::vector<TreeEntry>& dir, const TreeEntry& file);
  // Pins the file's content if it is cached (at lookup: see Lookup()).
  void PinIfCached(uint64_t ino, const Node& node);
  Attr AttrOf(uint64_t ino, const Node& node) const;
  double TimeoutOf(const Node& node) const;       // attributes
  double EntryTimeoutOf(const Node& node) const;  // the name -> inode mapping

  Catalog* catalog_;
  Content* content_;
  HostCensus* census_ = nullptr;
  const FsOptions options_;
  const int64_t mounted_ms_;  // the root's mtime
  std::unique_ptr<InodeJournal> journal_;
  InodeTable inodes_;
  TreeCache trees_;
  OpenFiles files_;
  Xattrs xattrs_;
  // Last: its background work is drained before the rest goes.
  WalkReadahead readahead_;
};

// errno for a Status from the layers below (NotFound -> ENOENT, else EIO).
int ErrnoOf(const absl::Status& s);

}  // namespace vms

#endif  // VMS_FUSEFS_DIST_FS_H_
