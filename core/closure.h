// Walks the closure of a root tree: every tree, chunk list, file and chunk it
// names, with every tree and chunk list decoded and validated on the way.
//
// The master runs this before it accepts a release: the release is written
// only when the whole closure is present and consistent (sizes in entries
// match the objects and subtrees they name). Subtrees the store already marks
// complete are not descended into, and identical subtrees are walked once, so
// the cost follows what changed since earlier releases. Thread-safe; reads
// only.
#ifndef VMS_CORE_CLOSURE_H_
#define VMS_CORE_CLOSURE_H_

#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "core/hash.h"
#include "core/object_store.h"

namespace vms {

struct ClosureResult {
  TreeTotals totals;          // valid only when `missing` is empty
  std::vector<Hash> missing;  // absent objects (children of absent trees are unknown)
  // Trees walked here and found complete, with their totals: the caller
  // marks them complete in the batch that records its release.
  std::vector<std::pair<Hash, TreeTotals>> newly_complete;
  // Every object the walk found present below the root (trees, chunk lists,
  // blobs, chunks), but for those under subtrees already marked complete;
  // an object shared by several trees may appear more than once.
  std::vector<Hash> present;
};

// OK with a result (check `missing`), or DataLoss when an object present is
// corrupt or inconsistent with the tree that names it. With
// `max_dir_entries`, InvalidArgument for a tree walked here with more
// entries (subtrees already complete were checked when they first came).
absl::StatusOr<ClosureResult> WalkClosure(const ObjectStore& store, const Hash& root,
                                          uint64_t max_dir_entries = 0);

}  // namespace vms

#endif  // VMS_CORE_CLOSURE_H_
