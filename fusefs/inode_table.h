// The inodes the kernel knows about, counted exactly as fuse_lowlevel.h
// defines it: every successful lookup reply adds one, every forget(n)
// subtracts n, and an inode with count zero is gone (its number is never
// reused). Inode 1 is the root and is never forgotten.
//
// A lookup of the same (parent, name) yields the same inode while it lives,
// unless what the name means changed (an app's symlink after a flip): then a
// new inode is made, and the old one stays valid for whoever still holds it.
// No FUSE headers here, so the bookkeeping is tested without a mount.
// With a journal (inode_journal.h), every change is written to it before the
// caller replies to the kernel, so that a successor daemon can Restore() the
// table as the kernel knows it. Thread-safe.
#ifndef VMS_FUSEFS_INODE_TABLE_H_
#define VMS_FUSEFS_INODE_TABLE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "core/hash.h"
#include "core/sync.h"

namespace vms {

struct Node {
  // kAtRoot is /.at, kAtDir /.at/TIME (mtime_ms the instant): the as-of
  // view, whose entries are app links.
  enum Kind { kRoot, kAppLink, kVersionDir, kDir, kFile, kSymlink, kAtRoot, kAtDir };
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

class InodeJournal;

// An inode as the kernel holds it: what it is, and the lookups it owes.
struct HeldInode {
  Node node;
  uint64_t nlookup = 0;
};

class InodeTable {
 public:
  static constexpr uint64_t kRoot = 1;
  InodeTable();

  // From now on, every change is written to `journal` (which must outlive
  // this, or be replaced by nullptr first); the current inodes are written
  // at once as a snapshot.
  void SetJournal(InodeJournal* journal);
  // Writes the kernel's FUSE_INIT request to the journal (if any).
  void JournalInit(std::string_view request);
  // Replaces the table with a journal's replayed state (a takeover): the
  // same inode numbers for the same nodes, with the same lookup counts.
  // Returns the inodes of files, for the caller to pin what is cached.
  std::vector<std::pair<uint64_t, std::shared_ptr<const Node>>> Restore(
      uint64_t next, const std::map<uint64_t, HeldInode>& inodes);

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
  void SnapshotIfDue() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Writes every live inode to the journal, replacing its history.
  void WriteSnapshot() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable Mutex mu_;
  InodeJournal* journal_ ABSL_GUARDED_BY(mu_) = nullptr;
  uint64_t next_ ABSL_GUARDED_BY(mu_) = kRoot + 1;
  std::unordered_map<uint64_t, Slot> slots_ ABSL_GUARDED_BY(mu_);
  std::map<std::pair<uint64_t, std::string>, uint64_t> by_name_ ABSL_GUARDED_BY(mu_);
};

}  // namespace vms

#endif  // VMS_FUSEFS_INODE_TABLE_H_
