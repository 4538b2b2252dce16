// What vms-fuse fetches before anyone asks, so that readers rarely wait on a
// round trip:
//
// - Trees: when a version is first looked up, every tree object of it, one
//   request per level, in the background: listings and lookups anywhere in
//   it then need no round trip (trees are a small part of a version, about
//   60 bytes a name).
// - The walk: once its trees are in, the order in which `tar`, `cp -r` or
//   `find` read the version's files (depth first, names in order). At a
//   file's first read, the files the walk reads next are fetched, a window
//   ahead; the window doubles while reads follow the walk (2 -> 64 MiB, at
//   most a quarter of the cache) and starts small again for scattered reads
//   (a program's imports), as the kernel's readahead does for one file.
// - Siblings: a file fetched at open brings, in the background, the
//   uncached files after it in its directory, up to a byte budget.
//
// Versions with the same root share one walk. At most kMaxWalks are kept,
// the least recently read dropped first. Thread-safe: its own lock (and one
// per walk for its window), never held across a fetch.
#ifndef VMS_FUSEFS_WALK_READAHEAD_H_
#define VMS_FUSEFS_WALK_READAHEAD_H_

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "core/hash.h"
#include "core/sync.h"
#include "core/thread_pool.h"
#include "fusefs/content.h"
#include "fusefs/tree_cache.h"

namespace vms {

class WalkReadahead {
 public:
  struct Options {
    uint64_t sibling_bytes = 16 << 20;  // siblings fetched with a file's first open
    uint64_t min_window = 2 << 20;      // the walk's readahead window
    uint64_t max_window = 64 << 20;
  };
  static constexpr size_t kMaxWalks = 16;

  // Both must outlive this.
  WalkReadahead(TreeCache* trees, Content* content, Options options)
      : trees_(trees), content_(content), options_(options) {}

  // Fetches, in the background, every tree object of the version `root`
  // (unless done or under way), then builds its walk. `version` (APP@VERSION)
  // is how reads find it.
  void PrefetchTrees(const Hash& root, const std::string& version);
  // Whether the walk of `version` is built, so its reads get readahead.
  bool Ready(const std::string& version) const;
  // At the first read of file `name` in the directory whose tree is `dir`,
  // in `version`: asks for what the walk reads next, a window ahead.
  void FirstRead(const std::string& version, const Hash& dir, const std::string& name);
  // Fetches, in the background, the listed chunks of a large file that are
  // neither cached nor under way: a few at a time, in order, on two
  // streams, so that a reader waits only for the chunk it reads.
  void FetchChunks(std::span<const Hash> chunks);
  // Fetches `file` (in directory `dir`) now, then in the background the
  // uncached files after it in the directory, up to sibling_bytes.
  void FetchWithSiblings(const Hash& dir, const std::string& name, const Hash& file);

 private:
  // A version's files in walk order, and how far ahead of the walk objects
  // have been asked for.
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
  struct Slot {
    std::shared_ptr<Walk> walk;
    uint64_t used = 0;  // clock_ when last read through
  };
  static constexpr uint64_t kRequestBytes = 4 << 20;

  std::shared_ptr<Walk> BuildWalk(const Hash& root);
  // Where `name` in directory `dir` comes in the walk.
  size_t IndexOf(const Walk& walk, const Hash& dir, const std::string& name);

  TreeCache* trees_;
  Content* content_;
  const Options options_;

  mutable Mutex mu_;
  std::unordered_set<Hash, HashHasher> fetching_
      ABSL_GUARDED_BY(mu_);  // roots fetched or under way
  std::unordered_map<Hash, Slot, HashHasher> walks_ ABSL_GUARDED_BY(mu_);  // by root
  std::map<std::string, Hash> roots_ ABSL_GUARDED_BY(mu_);                 // APP@VERSION -> root
  uint64_t clock_ ABSL_GUARDED_BY(mu_) = 0;
  // Last: drained before the rest goes. Trees on one pool, content ahead of
  // readers on the other, so that neither waits behind the other.
  ThreadPool tree_pool_{2};
  ThreadPool content_pool_{2};
};

}  // namespace vms

#endif  // VMS_FUSEFS_WALK_READAHEAD_H_
