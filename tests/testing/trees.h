// Test helpers over trees: write out a published version fetched from a
// server, and compare two directories exactly.
#ifndef VMS_TESTS_TESTING_TREES_H_
#define VMS_TESTS_TESTING_TREES_H_

#include <string>

#include "absl/status/status.h"
#include "core/hash.h"
#include "vms.grpc.pb.h"

namespace vms::testing {

// Fetches the tree `root` from `stub` (GetObjects), verifying every object,
// and writes it under `dest`: files with mode 0444/0555, symlinks as such.
absl::Status Materialize(Read::Stub* stub, const Hash& root, const std::string& dest);

// "" when `a` and `b` hold the same names, types, bytes, exec bits and symlink
// targets; else the first difference.
std::string DiffTrees(const std::string& a, const std::string& b);

// Root hash of `app` `version` as the server at `stub` lists it.
absl::StatusOr<Hash> RootOf(Read::Stub* stub, const std::string& app, const std::string& version);

}  // namespace vms::testing

#endif  // VMS_TESTS_TESTING_TREES_H_
