// The inodes the kernel knows about, counted exactly as fuse_lowlevel.h
// defines it: every successful lookup reply adds one, every forget(n)
// subtracts n, and an inode with count zero is gone (its number is never
// reused). Inode 1 is the root and is never forgotten.
//
// A lookup of the same (parent, name) yields the same inode while it lives,
// unless what the name means changed (an app's symlink after a flip): then a
// new inode is made, and the old one stays valid for whoever still holds it.
// No FUSE headers here, so the bookkeeping is tested without a mount.
// Thread-safe.
#ifndef VMS_FUSEFS_INODE_TABLE_H_
#define VMS_FUSEFS_INODE_TABLE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>

#include "absl/base/thread_annotations.h"
#include "core/hash.h"
#include "core/sync.h"

namespace vms {

struct Node {
  enum Kind { kRoot, kAppLink, kVersionDir, kDir, kFile, kSymlink };
  Kind kind = kRoot;
  uint64_t parent = 0;
  std::string name;
  std::string app, version;
  int64_t mtime_ms = 0;
  Hash hash;          // tree (dirs), content or chunk list (files)
  uint64_t size = 0;  // files; bytes below (dirs)
  bool exec = false, chunked = false;
  std::string target;     // symlinks and app links
  uint64_t live_seq = 0;  // app links

  // What makes two lookups of one name the same inode.
  bool SameIdentity(const Node& o) const {
    return kind == o.kind && hash == o.hash && target == o.target && live_seq == o.live_seq &&
           app == o.app && version == o.version && exec == o.exec;
  }
};

class InodeTable {
 public:
  static constexpr uint64_t kRoot = 1;
  InodeTable();

  // The inode of `node` under (parent, name), with its lookup count + 1.
  // *created (if given) says whether the inode is new.
  uint64_t Lookup(uint64_t parent, const std::string& name, Node node, bool* created = nullptr);
  // nullptr if the kernel has forgotten it (or never knew it).
  std::shared_ptr<const Node> Get(uint64_t ino) const;
  void Forget(uint64_t ino, uint64_t n);

  size_t size() const;
  uint64_t lookups(uint64_t ino) const;

 private:
  struct Slot {
    std::shared_ptr<const Node> node;
    uint64_t nlookup = 0;
  };
  mutable Mutex mu_;
  uint64_t next_ ABSL_GUARDED_BY(mu_) = kRoot + 1;
  std::unordered_map<uint64_t, Slot> slots_ ABSL_GUARDED_BY(mu_);
  std::map<std::pair<uint64_t, std::string>, uint64_t> by_name_ ABSL_GUARDED_BY(mu_);
};

}  // namespace vms

#endif  // VMS_FUSEFS_INODE_TABLE_H_
