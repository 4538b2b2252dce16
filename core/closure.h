// Walks the closure of a root tree: every tree, chunk list, file and chunk it
// names, with every tree and chunk list decoded and validated on the way.
//
// The master runs this before it accepts a release: the release is written
// only when the whole closure is present and consistent (sizes in entries
// match the objects and subtrees they name). Identical subtrees are walked
// once. Thread-safe; reads only.
#ifndef VMS_CORE_CLOSURE_H_
#define VMS_CORE_CLOSURE_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "core/hash.h"
#include "core/object_store.h"

namespace vms {

struct ClosureStats {
  uint64_t files = 0;     // regular files, counted per path (hard links count twice)
  uint64_t bytes = 0;     // their total size
  uint64_t dirs = 0;      // including the root
  uint64_t symlinks = 0;
  uint64_t objects = 0;   // distinct objects in the closure
  std::vector<Hash> missing;  // absent objects (children of absent trees are unknown)
};

// OK with stats (check `missing`), or DataLoss when an object present is
// corrupt or inconsistent with the tree that names it.
absl::StatusOr<ClosureStats> WalkClosure(const ObjectStore& store, const Hash& root);

}  // namespace vms

#endif  // VMS_CORE_CLOSURE_H_
