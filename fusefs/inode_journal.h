// What the kernel holds of a mount, kept in a file as it changes, so that a
// vms-fuse taking over a mounted /dev/fuse (after a crash, or for an upgrade)
// knows what every node id the kernel may send it means, and how many lookups
// the kernel owes it (fuse_lowlevel.h's counting), exactly as its predecessor
// did. CernVM-FS hands such state over on a planned reload only; this also
// survives a kill -9, because the state is never only in the process.
//
// The file is a sequence of records, each appended with one write(2) before
// the reply that lets the kernel know of it: a record is in the page cache
// once write returns, whatever happens to the process after. A crash between
// the record and the reply leaves a count one too high (an inode kept a
// little longer), never one too low (an inode dropped while the kernel holds
// it). A power loss ends the mount itself, so nothing is ever fsynced.
//
//   [u32 length][u8 kind][fields as varints and length-prefixed strings]
//
// kinds: the kernel's FUSE_INIT request (replayed into the new libfuse
// session so it negotiates what the kernel did), a new inode with its node
// and count, more lookups of one, forgets of one. When the file is mostly
// history it is rewritten as a snapshot (a temp file renamed over it).
// Not thread-safe: InodeTable calls it under its lock.
#ifndef VMS_FUSEFS_INODE_JOURNAL_H_
#define VMS_FUSEFS_INODE_JOURNAL_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "core/file_util.h"
#include "fusefs/inode_table.h"

namespace vms {

class InodeJournal {
 public:
  using Inode = HeldInode;
  // Everything a journal says, replayed.
  struct State {
    std::string init;   // the kernel's FUSE_INIT request; "" if none was recorded
    uint64_t next = 2;  // above every inode number handed out
    std::map<uint64_t, Inode> inodes;
  };

  // A new, empty journal at `path` (a fresh mount), replacing any old one.
  static absl::StatusOr<std::unique_ptr<InodeJournal>> Create(const std::string& path);
  // The journal at `path` replayed into *state (a takeover); appends go on
  // after it. A record cut short at the end (a crash in the middle of a
  // write) is dropped: its reply never went out.
  static absl::StatusOr<std::unique_ptr<InodeJournal>> Resume(const std::string& path,
                                                              State* state);

  void Init(std::string_view request);
  void Added(uint64_t ino, const Node& node, uint64_t nlookup);
  void Referenced(uint64_t ino, uint64_t n);
  void Forgotten(uint64_t ino, uint64_t n);

  // True when the file holds much more history than live inodes (`live`).
  bool WantsSnapshot(size_t live) const;
  // Replaces the file with the live state. `inodes` are (ino, node, count).
  void Snapshot(uint64_t next, const std::vector<std::pair<uint64_t, Inode>>& inodes);

  // False once a write failed: the file no longer says what the kernel
  // holds (it was truncated, so a takeover finds it empty, not wrong).
  bool healthy() const { return healthy_; }
  uint64_t bytes() const { return bytes_; }

 private:
  InodeJournal(std::string path, Fd fd, uint64_t bytes)
      : path_(std::move(path)), fd_(std::move(fd)), bytes_(bytes) {}
  void Append(const std::string& record);
  void Fail(const std::string& what);

  const std::string path_;
  Fd fd_;
  uint64_t bytes_ = 0;
  std::string init_;
  bool healthy_ = true;
};

// The record bytes for a node, and back (exposed for tests).
std::string EncodeNode(const Node& node);
bool DecodeNode(std::string_view* in, Node* node);

}  // namespace vms

#endif  // VMS_FUSEFS_INODE_JOURNAL_H_
