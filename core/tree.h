// Tree and chunk-list objects: the Merkle structure of a version.
//
// A tree object is one directory: its entries sorted by name (bytewise), each
// naming its content by hash. The encoding is canonical (one byte string per
// directory content), so the same directory always yields the same hash and
// unchanged subtrees are shared between versions.
//
//   "VMSTREE1" varint(count) entry*
//   entry := u8 type, u8 flags, varint(len) name, varint(size), payload
//     type 1 dir:     size = bytes of all files below; payload = 32-byte tree hash
//     type 2 file:    size = file bytes; payload = 32-byte hash of the content,
//                     or of a chunk list when flags has kChunked
//     type 3 symlink: size = target length; payload = the target bytes
//     flags: bit 0 exec (files only), bit 1 chunked (files only)
//
// A chunk list object names the pieces of a large file in order:
//   "VMSCHNK1" varint(count) (varint(size) 32-byte hash)*
//
// Decoders validate everything (magic, order, names, types, flags, sizes,
// no trailing bytes) and fail with DataLoss: a bad tree is corruption, never a
// path. All functions are pure and thread-safe.
#ifndef VMS_CORE_TREE_H_
#define VMS_CORE_TREE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "core/hash.h"

namespace vms {

enum class EntryType : uint8_t { kDir = 1, kFile = 2, kSymlink = 3 };

struct TreeEntry {
  std::string name;
  EntryType type = EntryType::kFile;
  bool exec = false;     // files: mode 0555 instead of 0444
  bool chunked = false;  // files: `hash` names a chunk list
  uint64_t size = 0;
  Hash hash;           // dirs and files
  std::string target;  // symlinks

  bool operator==(const TreeEntry&) const = default;
};

struct ChunkRef {
  uint64_t size = 0;
  Hash hash;
  bool operator==(const ChunkRef&) const = default;
};

// Sorts `entries` by name and encodes them. Fails with InvalidArgument on a
// bad name, a duplicate name, a bad symlink target or a chunked non-file.
absl::StatusOr<std::string> EncodeTree(std::vector<TreeEntry> entries);
absl::StatusOr<std::vector<TreeEntry>> DecodeTree(std::string_view data);

std::string EncodeChunkList(const std::vector<ChunkRef>& chunks);
absl::StatusOr<std::vector<ChunkRef>> DecodeChunkList(std::string_view data);

// Total bytes of files in `entries` (dir sizes count their subtree).
uint64_t TreeBytes(const std::vector<TreeEntry>& entries);

}  // namespace vms

#endif  // VMS_CORE_TREE_H_
