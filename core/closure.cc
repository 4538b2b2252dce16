#include "core/closure.h"

#include <unordered_map>
#include <unordered_set>

#include "core/strings.h"
#include "core/tree.h"

namespace vms {

namespace {

constexpr int kMaxTreeDepth = 2048;

struct SubtreeTotals {
  uint64_t files = 0, bytes = 0, dirs = 0, symlinks = 0;
  bool complete = true;
};

class Walker {
 public:
  explicit Walker(const ObjectStore& store) : store_(store) {}

  absl::StatusOr<SubtreeTotals> Tree(const Hash& hash, const std::string& path, int depth = 0) {
    // Deeper than any path the kernel can resolve (PATH_MAX 4096): hostile.
    if (depth > kMaxTreeDepth) {
      return absl::DataLossError(StrCat("tree nested deeper than ", kMaxTreeDepth,
                                              " levels at \"", path.substr(0, 200), "...\""));
    }
    if (auto it = trees_.find(hash); it != trees_.end()) return it->second;
    objects_.insert(hash);
    auto raw = store_.GetRaw(hash);
    if (absl::IsNotFound(raw.status())) {
      missing_.push_back(hash);
      return SubtreeTotals{.complete = false};
    }
    if (!raw.ok()) return raw.status();
    auto entries = DecodeTree(*raw);
    if (!entries.ok()) return Annotate(entries.status(), path);

    SubtreeTotals totals;
    totals.dirs = 1;
    std::vector<Hash> leaves;        // file blobs and chunks, checked in one MultiGet
    std::vector<uint64_t> leaf_sizes;
    for (const TreeEntry& e : *entries) {
      std::string child = path.empty() ? e.name : StrCat(path, "/", e.name);
      switch (e.type) {
        case EntryType::kSymlink:
          ++totals.symlinks;
          break;
        case EntryType::kDir: {
          auto sub = Tree(e.hash, child, depth + 1);
          if (!sub.ok()) return sub.status();
          if (sub->complete && sub->bytes != e.size) {
            return absl::DataLossError(StrCat("tree entry \"", child, "\" says ", e.size,
                                                    " bytes but its subtree holds ", sub->bytes));
          }
          totals.files += sub->files;
          totals.bytes += e.size;
          totals.dirs += sub->dirs;
          totals.symlinks += sub->symlinks;
          totals.complete &= sub->complete;
          break;
        }
        case EntryType::kFile:
          ++totals.files;
          totals.bytes += e.size;
          if (!e.chunked) {
            leaves.push_back(e.hash);
            leaf_sizes.push_back(e.size);
          } else if (absl::Status s = ChunkList(e, child, &leaves, &leaf_sizes, &totals); !s.ok()) {
            return s;
          }
          break;
      }
    }
    auto sizes = store_.Sizes(leaves);
    if (!sizes.ok()) return sizes.status();
    for (size_t i = 0; i < leaves.size(); ++i) {
      objects_.insert(leaves[i]);
      if (!(*sizes)[i]) {
        missing_.push_back(leaves[i]);
        totals.complete = false;
      } else if (*(*sizes)[i] != leaf_sizes[i]) {
        return absl::DataLossError(StrCat("object ", leaves[i].Short(), " under \"", path,
                                                "\" is ", *(*sizes)[i], " bytes; its entry says ",
                                                leaf_sizes[i]));
      }
    }
    trees_[hash] = totals;
    return totals;
  }

  ClosureStats Finish(const SubtreeTotals& root) {
    ClosureStats stats;
    stats.files = root.files;
    stats.bytes = root.bytes;
    stats.dirs = root.dirs;
    stats.symlinks = root.symlinks;
    stats.objects = objects_.size();
    // A shared blob can be reported missing from several trees.
    std::unordered_set<Hash, HashHasher> seen;
    for (const Hash& h : missing_) {
      if (seen.insert(h).second) stats.missing.push_back(h);
    }
    return stats;
  }

 private:
  absl::Status ChunkList(const TreeEntry& e, const std::string& path, std::vector<Hash>* leaves,
                         std::vector<uint64_t>* sizes, SubtreeTotals* totals) {
    objects_.insert(e.hash);
    auto raw = store_.GetRaw(e.hash);
    if (absl::IsNotFound(raw.status())) {
      missing_.push_back(e.hash);
      totals->complete = false;
      return absl::OkStatus();
    }
    if (!raw.ok()) return raw.status();
    auto chunks = DecodeChunkList(*raw);
    if (!chunks.ok()) return Annotate(chunks.status(), path);
    uint64_t sum = 0;
    for (const ChunkRef& c : *chunks) {
      sum += c.size;
      leaves->push_back(c.hash);
      sizes->push_back(c.size);
    }
    if (sum != e.size) {
      return absl::DataLossError(StrCat("chunks of \"", path, "\" add up to ", sum,
                                              " bytes; its entry says ", e.size));
    }
    return absl::OkStatus();
  }

  static absl::Status Annotate(const absl::Status& s, const std::string& path) {
    return absl::Status(s.code(),
                        StrCat(s.message(), " (at \"", path.empty() ? "/" : path, "\")"));
  }

  const ObjectStore& store_;
  std::unordered_map<Hash, SubtreeTotals, HashHasher> trees_;
  std::unordered_set<Hash, HashHasher> objects_;
  std::vector<Hash> missing_;
};

}  // namespace

absl::StatusOr<ClosureStats> WalkClosure(const ObjectStore& store, const Hash& root) {
  Walker walker(store);
  auto totals = walker.Tree(root, "");
  if (!totals.ok()) return totals.status();
  return walker.Finish(*totals);
}

}  // namespace vms
