// Turns a directory into a version: walks it without following symlinks,
// hashes files in parallel (splitting large ones into content-defined
// chunks), and builds the tree objects bottom-up.
//
// The result lists every distinct object of the version with where its bytes
// come from, so the uploader can read only those the master lacks. Nothing is
// compressed here: most objects of a new version are usually already stored.
#ifndef VMS_CLIENT_SCAN_H_
#define VMS_CLIENT_SCAN_H_

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/progress.h"
#include "client/stat_cache.h"
#include "core/hash.h"
#include "core/limits.h"
#include "core/thread_pool.h"

namespace vms {

struct ScannedFile {
  std::string path;  // as given under the scanned dir, for open() and messages
  StatKey stat;      // as walked; the uploader re-checks it
};

// Where the bytes of one object come from at upload time.
struct ObjectSource {
  Hash hash;
  uint64_t size = 0;
  std::string inline_data;  // tree and chunk-list objects
  int file = -1;            // else bytes [offset, offset + size) of files[file]
  uint64_t offset = 0;
};

// One distinct tree object and the objects it names directly (files, chunk
// lists, chunks, subtrees), as indices into Snapshot::objects.
struct TreeInfo {
  size_t object = 0;
  std::vector<size_t> children;
};

struct Snapshot {
  Hash root;
  uint64_t files = 0, bytes = 0, dirs = 0, symlinks = 0;
  std::vector<ScannedFile> file_list;
  std::vector<ObjectSource> objects;  // distinct by hash
  std::vector<TreeInfo> trees;        // distinct by hash, children before parents
};

// Indices of the objects inside the closures of `complete` trees (which
// the receiver already holds whole), including those trees themselves.
std::vector<bool> CoveredObjects(const Snapshot& snapshot, std::span<const Hash> complete);

struct ScanOptions {
  ThreadPool* pool = nullptr;        // hashing runs here
  StatCache* cache = nullptr;        // optional
  PushProgress* progress = nullptr;  // optional
  ShapeLimits limits;
};

// Fails with a message naming the path for: a `dir` that is missing or not a
// directory, device files, FIFOs, sockets, unreadable files or directories,
// files or directories that others may not read (every host serves a version
// to every user), names or symlink targets vms cannot store, a version
// beyond `limits`, files that change while read.
absl::StatusOr<Snapshot> ScanTree(const std::string& dir, const ScanOptions& options);

}  // namespace vms

#endif  // VMS_CLIENT_SCAN_H_
