// Stores a one-file version's objects in a Master directly (no network), for
// the server's unit tests.
#ifndef VMS_TESTS_TESTING_MASTER_TREES_H_
#define VMS_TESTS_TESTING_MASTER_TREES_H_

#include <string>
#include <vector>

#include "core/codec.h"
#include "core/hash.h"
#include "core/tree.h"
#include "server/master.h"

namespace vms::testing {

// A tree of one file `name` holding `content`: stores both objects (as
// uploaded by `principal`) and returns the tree's hash, the version's root.
inline absl::StatusOr<Hash> StoreOneFileTree(Master* master, const std::string& name,
                                             const std::string& content,
                                             const std::string& principal = "") {
  auto tree = EncodeTree(
      {{.name = name, .type = EntryType::kFile, .size = content.size(), .hash = Sha256(content)}});
  if (!tree.ok()) return tree.status();
  std::vector<StoredObject> objs;
  for (const std::string& raw : {content, *tree}) {
    EncodedObject e = Encode(raw, 1);
    objs.push_back({Sha256(raw), e.codec, raw.size(), e.data});
  }
  if (auto stored = master->PutObjects(&objs, principal); !stored.ok()) return stored.status();
  return Sha256(*tree);
}

}  // namespace vms::testing

#endif  // VMS_TESTS_TESTING_MASTER_TREES_H_
