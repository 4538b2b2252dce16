// Remembers the hash of files already read, so an unchanged file is not read
// again on the next push.
//
// Keyed by (device, inode, size, mtime, ctime): any write, truncation, chmod
// or replacement of a file changes one of them. Files modified within the
// last two seconds before a scan are not remembered, because a later write in
// the same timestamp tick could leave all five unchanged ("racy" entries).
// Stored as one binary file per user, replaced atomically; a missing, stale
// or corrupt cache is simply empty. Lookups and Remember() are thread-safe.
#ifndef VMS_CLIENT_STAT_CACHE_H_
#define VMS_CLIENT_STAT_CACHE_H_

#include <sys/stat.h>

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "core/hash.h"
#include "core/sync.h"

namespace vms {

struct StatKey {
  uint64_t dev = 0, ino = 0, size = 0;
  int64_t mtime_ns = 0, ctime_ns = 0;
  bool operator==(const StatKey&) const = default;
  static StatKey Of(const struct stat& st);
};

// What a file hashed to: a blob hash, or (chunked) the encoded chunk list
// whose hash names the file.
struct CachedDigest {
  Hash hash;
  bool chunked = false;
  std::string chunk_list;  // encoded chunk list object, when chunked
};

class StatCache {
 public:
  // An empty cache that Save() writes to `path` (no file when path is empty).
  explicit StatCache(std::string path, int64_t scan_start_ns);

  // Loads `path`, ignoring a missing or unreadable file.
  void Load();
  std::optional<CachedDigest> Find(const StatKey& key) const;
  void Remember(const StatKey& key, CachedDigest digest);
  // Writes the entries remembered or found during this run, plus older ones
  // up to a bound.
  absl::Status Save() const;

 private:
  struct KeyHash {
    size_t operator()(const StatKey& k) const { return k.ino * 1000003 ^ k.dev ^ k.mtime_ns; }
  };

  const std::string path_;
  const int64_t racy_after_ns_;
  mutable Mutex mu_;
  std::unordered_map<StatKey, CachedDigest, KeyHash> loaded_ ABSL_GUARDED_BY(mu_);
  mutable std::unordered_map<StatKey, CachedDigest, KeyHash> used_ ABSL_GUARDED_BY(mu_);
};

}  // namespace vms

#endif  // VMS_CLIENT_STAT_CACHE_H_
