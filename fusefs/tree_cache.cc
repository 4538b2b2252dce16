#include "fusefs/tree_cache.h"

#include <algorithm>

#include "core/status_macros.h"

namespace vms {

absl::StatusOr<TreeCache::Entries> TreeCache::Get(const Hash& hash) {
  {
    MutexLock lock(&mu_);
    if (auto it = trees_.find(hash); it != trees_.end()) {
      lru_.splice(lru_.end(), lru_, it->second.second);
      return it->second.first;
    }
  }
  VMS_ASSIGN_OR_RETURN(auto raw, content_->Get(hash));
  VMS_ASSIGN_OR_RETURN(auto decoded, DecodeTree(*raw));
  auto entries = std::make_shared<const std::vector<TreeEntry>>(std::move(decoded));
  MutexLock lock(&mu_);
  if (trees_.count(hash) == 0) {
    trees_[hash] = {entries, lru_.insert(lru_.end(), hash)};
    while (trees_.size() > max_) {
      trees_.erase(lru_.front());
      lru_.pop_front();
    }
  }
  return entries;
}

size_t TreeCache::size() const {
  MutexLock lock(&mu_);
  return trees_.size();
}

const TreeEntry* FindEntry(const std::vector<TreeEntry>& entries, std::string_view name) {
  auto it = std::lower_bound(entries.begin(), entries.end(), name,
                             [](const TreeEntry& e, std::string_view n) { return e.name < n; });
  return it != entries.end() && it->name == name ? &*it : nullptr;
}

}  // namespace vms
