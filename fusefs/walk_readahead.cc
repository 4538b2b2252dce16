#include "fusefs/walk_readahead.h"

#include <algorithm>
#include <functional>

#include "core/log.h"
#include "core/strings.h"
#include "spdlog/spdlog.h"

namespace vms {

void WalkReadahead::PrefetchTrees(const Hash& root, const std::string& version) {
  {
    MutexLock lock(&mu_);
    if (roots_.size() > 4 * kMaxWalks && !roots_.count(version)) roots_.clear();  // bounded
    roots_[version] = root;
    if (!fetching_.insert(root).second) return;  // fetched, or being fetched
  }
  tree_pool_.Submit([this, root] {
    std::vector<Hash> level = {root};
    std::unordered_set<Hash, HashHasher> seen = {root};
    size_t trees = 0;
    while (!level.empty() && trees < 1'000'000) {
      if (!content_->Ensure(level).ok()) {  // offline: lookups fetch as they go
        MutexLock lock(&mu_);
        fetching_.erase(root);  // and the next lookup tries again
        return;
      }
      std::vector<Hash> next;
      for (const Hash& h : level) {
        auto entries = trees_->Get(h);
        if (!entries.ok()) continue;
        for (const TreeEntry& e : **entries) {
          if (e.type == EntryType::kDir && seen.insert(e.hash).second) next.push_back(e.hash);
        }
      }
      trees += level.size();
      level = std::move(next);
    }
    auto walk = BuildWalk(root);
    if (walk == nullptr) return;
    walk->root = root;
    MutexLock lock(&mu_);
    if (walks_.size() >= kMaxWalks) {  // the least recently read version's walk goes
      auto oldest = std::min_element(
          walks_.begin(), walks_.end(),
          [](const auto& a, const auto& b) { return a.second.used < b.second.used; });
      fetching_.erase(oldest->second.walk->root);  // its next lookup builds it again
      walks_.erase(oldest);
    }
    walks_[root] = {std::move(walk), ++clock_};
  });
}

std::shared_ptr<WalkReadahead::Walk> WalkReadahead::BuildWalk(const Hash& root) {
  auto walk = std::make_shared<Walk>();
  uint64_t bytes = 0;
  // Depth first, entries in name order: the order of `tar`, `cp -r`, `find`.
  std::function<bool(const Hash&)> visit = [&](const Hash& tree) {
    auto entries = trees_->Get(tree);
    if (!entries.ok()) return false;
    size_t first = walk->files.size();
    for (const TreeEntry& e : **entries) {
      if (e.type == EntryType::kDir) {
        if (!visit(e.hash)) return false;
      } else if (e.type == EntryType::kFile && !e.chunked) {
        bytes += e.size;
        walk->files.push_back(e.hash);
        walk->end_bytes.push_back(bytes);
      }
    }
    // An identical tree elsewhere keeps the first place.
    walk->dirs.try_emplace(tree, first, walk->files.size() - first);
    return true;
  };
  if (!visit(root)) return nullptr;
  return walk;
}

bool WalkReadahead::Ready(const std::string& version) const {
  MutexLock lock(&mu_);
  auto root = roots_.find(version);
  return root != roots_.end() && walks_.count(root->second) > 0;
}

size_t WalkReadahead::IndexOf(const Walk& walk, const Hash& dir, const std::string& name) {
  auto start = walk.dirs.find(dir);
  if (start == walk.dirs.end()) return walk.files.size();
  auto entries = trees_->Get(dir);
  size_t index = start->second.first;
  if (!entries.ok()) return index;
  // Files before `name` in this directory, and all below the subdirectories
  // before it.
  for (const TreeEntry& e : **entries) {
    if (e.name >= name) break;
    if (e.type == EntryType::kFile && !e.chunked) {
      ++index;
    } else if (e.type == EntryType::kDir) {
      if (auto sub = walk.dirs.find(e.hash); sub != walk.dirs.end()) index += sub->second.second;
    }
  }
  return std::min(index, walk.files.size());
}

void WalkReadahead::FirstRead(const std::string& version, const Hash& dir,
                              const std::string& name) {
  std::shared_ptr<Walk> walk;
  {
    MutexLock lock(&mu_);
    auto root = roots_.find(version);
    if (root == roots_.end()) return;
    auto it = walks_.find(root->second);
    if (it == walks_.end()) return;
    it->second.used = ++clock_;
    walk = it->second.walk;
  }
  if (walk->files.empty()) return;
  size_t index = IndexOf(*walk, dir, name);
  if (index >= walk->files.size()) return;
  uint64_t pos = index == 0 ? 0 : walk->end_bytes[index - 1];
  // A read where the last window reached means a sequential reader, whose
  // window doubles; any other read starts again from a small window.
  uint64_t max_window = std::min<uint64_t>(options_.max_window, content_->cache().max_bytes() / 4);
  uint64_t from, to;
  {
    MutexLock lock(&walk->mu);
    bool sequential = walk->window > 0 && pos >= walk->window_start && pos <= walk->requested_end;
    if (!sequential) {
      walk->window = std::min(options_.min_window, max_window);
      walk->window_start = walk->requested_end = pos;
    } else if (walk->requested_end - pos > walk->window / 2) {
      return;  // far enough ahead still
    } else {
      walk->window = std::min(walk->window * 2, max_window);
    }
    from = walk->requested_end;
    to = pos + walk->window;
    if (to <= from) return;
    walk->window_start = pos;
    walk->requested_end = to;
  }
  // Requests of a few MiB each: the first lands soon, and the reader waits
  // only for the object it needs.
  auto at = [&](uint64_t bytes) {
    return static_cast<size_t>(
        std::upper_bound(walk->end_bytes.begin(), walk->end_bytes.end(), bytes) -
        walk->end_bytes.begin());
  };
  std::vector<Hash> batch;
  uint64_t batch_bytes = 0;
  for (size_t i = at(from), end = std::min(at(to) + 1, walk->files.size()); i < end; ++i) {
    if (content_->Cached(walk->files[i])) continue;
    batch.push_back(walk->files[i]);
    batch_bytes += walk->end_bytes[i] - (i == 0 ? 0 : walk->end_bytes[i - 1]);
    if (batch_bytes >= kRequestBytes) {
      content_->Prefetch(batch, &content_pool_);
      batch.clear();
      batch_bytes = 0;
    }
  }
  content_->Prefetch(batch, &content_pool_);
}

void WalkReadahead::FetchWithSiblings(const Hash& dir, const std::string& name, const Hash& file) {
  std::vector<Hash> batch;
  if (auto entries = trees_->Get(dir); entries.ok()) {
    // The files after this one in name order (a reader like tar goes in
    // order; most of a directory is usually wanted), up to a byte budget.
    uint64_t budget = options_.sibling_bytes;
    auto it = std::upper_bound((*entries)->begin(), (*entries)->end(), name,
                               [](const std::string& n, const TreeEntry& e) { return n < e.name; });
    for (; it != (*entries)->end() && budget > 0; ++it) {
      if (it->type != EntryType::kFile || it->chunked || it->size > budget) continue;
      if (content_->Cached(it->hash)) continue;
      batch.push_back(it->hash);
      budget -= it->size;
    }
  }
  // The file first and alone: its reader waits for it, not for the rest.
  if (absl::Status s = content_->Ensure(std::span<const Hash>(&file, 1)); !s.ok()) {
    FuseLog()->debug("fetch of {}: {}", file.Short(), Sv(s.message()));
  }
  content_->Prefetch(batch, &content_pool_);
}

void WalkReadahead::FetchChunks(std::span<const Hash> chunks) {
  constexpr size_t kPerRequest = 2;  // ~8 MiB: the next arrives while this one is read
  for (size_t i = 0; i < chunks.size(); i += kPerRequest) {
    content_->Prefetch(chunks.subspan(i, std::min(kPerRequest, chunks.size() - i)), &content_pool_);
  }
}

}  // namespace vms
