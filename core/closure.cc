#include "core/closure.h"

#include <unordered_map>
#include <unordered_set>

#include "core/status_macros.h"
#include "core/strings.h"
#include "core/tree.h"

namespace vms {

namespace {

// Deeper than any path the kernel can resolve (PATH_MAX 4096): hostile.
constexpr int kMaxTreeDepth = 2048;

struct Walked {
  TreeTotals totals;
  bool complete = true;
};

class Walker {
 public:
  Walker(const ObjectStore& store, uint64_t max_dir_entries)
      : store_(store), max_dir_entries_(max_dir_entries) {}

  absl::StatusOr<Walked> Root(const Hash& root) {
    VMS_ASSIGN_OR_RETURN(auto known, store_.CompleteTrees(std::span<const Hash>(&root, 1)));
    if (known[0]) return Walked{.totals = *known[0]};
    return Tree(root, "", 0);
  }

  ClosureResult Finish(const Walked& root) {
    ClosureResult result;
    result.totals = root.totals;
    // A shared blob can be reported missing from several trees.
    std::unordered_set<Hash, HashHasher> seen;
    for (const Hash& h : missing_) {
      if (seen.insert(h).second) result.missing.push_back(h);
    }
    for (const auto& [hash, walked] : walked_) {
      if (walked.complete) result.newly_complete.emplace_back(hash, walked.totals);
    }
    result.present = std::move(present_);
    return result;
  }

 private:
  // Walks a tree not known complete.
  absl::StatusOr<Walked> Tree(const Hash& hash, const std::string& path, int depth) {
    if (auto it = walked_.find(hash); it != walked_.end()) return it->second;
    if (depth > kMaxTreeDepth) {
      return absl::DataLossError(StrCat("tree nested deeper than ", kMaxTreeDepth, " levels at \"",
                                        path.substr(0, 200), "...\""));
    }
    auto raw = store_.GetRaw(hash);
    if (absl::IsNotFound(raw.status())) {
      missing_.push_back(hash);
      return Walked{.complete = false};
    }
    if (!raw.ok()) return raw.status();
    present_.push_back(hash);
    auto entries = DecodeTree(*raw);
    if (!entries.ok()) return Annotate(entries.status(), path);
    if (max_dir_entries_ != 0 && entries->size() > max_dir_entries_) {
      return absl::InvalidArgumentError(
          StrCat("directory \"", path.empty() ? "/" : ShortPath(path), "\" has ", entries->size(),
                 " entries; this master allows at most ", max_dir_entries_,
                 " (vms-master --max-dir-entries)"));
    }

    // One lookup for all subdirectories already proved complete.
    std::vector<Hash> dirs;
    for (const TreeEntry& e : *entries) {
      if (e.type == EntryType::kDir) dirs.push_back(e.hash);
    }
    VMS_ASSIGN_OR_RETURN(auto known, store_.CompleteTrees(dirs));

    Walked walked;
    walked.totals.dirs = 1;
    std::vector<Hash> leaves;  // file blobs and chunks, checked in one MultiGet
    std::vector<uint64_t> leaf_sizes;
    size_t dir_index = 0;
    for (const TreeEntry& e : *entries) {
      std::string child = path.empty() ? e.name : StrCat(path, "/", e.name);
      switch (e.type) {
        case EntryType::kSymlink:
          ++walked.totals.symlinks;
          break;
        case EntryType::kDir: {
          std::optional<TreeTotals> done = known[dir_index++];
          Walked sub;
          if (done) {
            sub.totals = *done;
          } else {
            VMS_ASSIGN_OR_RETURN(auto w, Tree(e.hash, child, depth + 1));
            sub = w;
          }
          if (sub.complete && sub.totals.bytes != e.size) {
            return absl::DataLossError(StrCat("tree entry \"", child, "\" says ", e.size,
                                              " bytes but its subtree holds ", sub.totals.bytes));
          }
          walked.totals.files += sub.totals.files;
          walked.totals.bytes += e.size;
          walked.totals.dirs += sub.totals.dirs;
          walked.totals.symlinks += sub.totals.symlinks;
          walked.complete &= sub.complete;
          break;
        }
        case EntryType::kFile:
          ++walked.totals.files;
          walked.totals.bytes += e.size;
          if (!e.chunked) {
            leaves.push_back(e.hash);
            leaf_sizes.push_back(e.size);
          } else
            VMS_RETURN_IF_ERROR(ChunkList(e, child, &leaves, &leaf_sizes, &walked));
          break;
      }
    }
    VMS_ASSIGN_OR_RETURN(auto sizes, store_.Sizes(leaves));
    for (size_t i = 0; i < leaves.size(); ++i) {
      if (!sizes[i]) {
        missing_.push_back(leaves[i]);
        walked.complete = false;
      } else if (*sizes[i] != leaf_sizes[i]) {
        return absl::DataLossError(StrCat("object ", leaves[i].Short(), " under \"",
                                          path.empty() ? "/" : path, "\" is ", *sizes[i],
                                          " bytes; its entry says ", leaf_sizes[i]));
      } else {
        present_.push_back(leaves[i]);
      }
    }
    walked_[hash] = walked;
    return walked;
  }

  absl::Status ChunkList(const TreeEntry& e, const std::string& path, std::vector<Hash>* leaves,
                         std::vector<uint64_t>* sizes, Walked* walked) {
    auto raw = store_.GetRaw(e.hash);
    if (absl::IsNotFound(raw.status())) {
      missing_.push_back(e.hash);
      walked->complete = false;
      return absl::OkStatus();
    }
    if (!raw.ok()) return raw.status();
    present_.push_back(e.hash);
    auto chunks = DecodeChunkList(*raw);
    if (!chunks.ok()) return Annotate(chunks.status(), path);
    uint64_t sum = 0;
    for (const ChunkRef& c : *chunks) {
      sum += c.size;
      leaves->push_back(c.hash);
      sizes->push_back(c.size);
    }
    if (sum != e.size) {
      return absl::DataLossError(
          StrCat("chunks of \"", path, "\" add up to ", sum, " bytes; its entry says ", e.size));
    }
    return absl::OkStatus();
  }

  static absl::Status Annotate(const absl::Status& s, const std::string& path) {
    return absl::Status(s.code(), StrCat(s.message(), " (at \"", path.empty() ? "/" : path, "\")"));
  }

  const ObjectStore& store_;
  const uint64_t max_dir_entries_;  // 0: no bound
  std::unordered_map<Hash, Walked, HashHasher> walked_;
  std::vector<Hash> missing_;
  std::vector<Hash> present_;  // may repeat a shared object
};

}  // namespace

absl::StatusOr<ClosureResult> WalkClosure(const ObjectStore& store, const Hash& root,
                                          uint64_t max_dir_entries) {
  Walker walker(store, max_dir_entries);
  VMS_ASSIGN_OR_RETURN(auto walked, walker.Root(root));
  return walker.Finish(walked);
}

}  // namespace vms
