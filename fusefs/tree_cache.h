// Decoded directories (tree objects) of the versions a host reads, kept in
// memory with the least recently used dropped first. A tree that does not
// decode is corruption (EIO at the namespace), never a path. Thread-safe;
// its lock is held only to find or insert, never across a fetch.
#ifndef VMS_FUSEFS_TREE_CACHE_H_
#define VMS_FUSEFS_TREE_CACHE_H_

#include <cstddef>
#include <list>
#include <memory>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "core/hash.h"
#include "core/sync.h"
#include "core/tree.h"
#include "fusefs/content.h"

namespace vms {

class TreeCache {
 public:
  using Entries = std::shared_ptr<const std::vector<TreeEntry>>;

  // `content` must outlive this; at most `max_entries` trees are kept.
  TreeCache(Content* content, size_t max_entries) : content_(content), max_(max_entries) {}

  // The entries of tree `hash` (sorted by name), fetched and decoded if not
  // held.
  absl::StatusOr<Entries> Get(const Hash& hash);
  size_t size() const;

 private:
  Content* content_;
  const size_t max_;
  mutable Mutex mu_;
  std::unordered_map<Hash, std::pair<Entries, std::list<Hash>::iterator>, HashHasher> trees_
      ABSL_GUARDED_BY(mu_);
  std::list<Hash> lru_ ABSL_GUARDED_BY(mu_);  // front: least recently used
};

// The entry called `name` in `entries` (sorted by name), or nullptr.
const TreeEntry* FindEntry(const std::vector<TreeEntry>& entries, std::string_view name);

}  // namespace vms

#endif  // VMS_FUSEFS_TREE_CACHE_H_
