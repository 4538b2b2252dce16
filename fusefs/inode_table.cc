#include "fusefs/inode_table.h"

#include "core/sync.h"
#include "fusefs/inode_journal.h"

namespace vms {

InodeTable::InodeTable() {
  auto root = std::make_shared<Node>();
  root->kind = Node::kRoot;
  slots_[kRoot] = Slot{std::move(root), 1};
}

void InodeTable::SetJournal(InodeJournal* journal) {
  MutexLock lock(&mu_);
  journal_ = journal;
  if (journal_ != nullptr) WriteSnapshot();
}

void InodeTable::JournalInit(std::string_view request) {
  MutexLock lock(&mu_);
  if (journal_ != nullptr) journal_->Init(request);
}

std::vector<std::pair<uint64_t, std::shared_ptr<const Node>>> InodeTable::Restore(
    uint64_t next, const std::map<uint64_t, HeldInode>& inodes) {
  std::vector<std::pair<uint64_t, std::shared_ptr<const Node>>> files;
  MutexLock lock(&mu_);
  slots_.clear();
  by_name_.clear();
  auto root = std::make_shared<Node>();
  root->kind = Node::kRoot;
  slots_[kRoot] = Slot{std::move(root), 1};
  next_ = std::max<uint64_t>(next, kRoot + 1);
  for (const auto& [ino, held] : inodes) {
    if (ino <= kRoot || held.nlookup == 0) continue;
    auto node = std::make_shared<const Node>(held.node);
    slots_[ino] = Slot{node, held.nlookup};
    next_ = std::max(next_, ino + 1);
    // The newest inode of a name is the one a lookup finds again.
    auto& named = by_name_[{node->parent, node->name}];
    named = std::max(named, ino);
    if (node->kind == Node::kFile) files.emplace_back(ino, std::move(node));
  }
  return files;
}

void InodeTable::SnapshotIfDue() {
  if (journal_ != nullptr && journal_->WantsSnapshot(slots_.size())) WriteSnapshot();
}

void InodeTable::WriteSnapshot() {
  std::vector<std::pair<uint64_t, HeldInode>> live;
  live.reserve(slots_.size());
  for (const auto& [ino, slot] : slots_) {
    if (ino != kRoot) live.push_back({ino, HeldInode{*slot.node, slot.nlookup}});
  }
  journal_->Snapshot(next_, live);
}

uint64_t InodeTable::Lookup(uint64_t parent, const std::string& name, Node node, bool* created) {
  MutexLock lock(&mu_);
  if (created) *created = false;
  auto key = std::make_pair(parent, name);
  if (auto it = by_name_.find(key); it != by_name_.end()) {
    Slot& slot = slots_[it->second];
    if (slot.node->SameIdentity(node)) {
      ++slot.nlookup;
      if (journal_ != nullptr) journal_->Referenced(it->second, 1);
      return it->second;
    }
  }
  if (created) *created = true;
  uint64_t ino = next_++;
  node.parent = parent;
  node.name = name;
  auto shared = std::make_shared<const Node>(std::move(node));
  if (journal_ != nullptr) journal_->Added(ino, *shared, 1);
  slots_[ino] = Slot{std::move(shared), 1};
  by_name_[key] = ino;
  // Only now: a snapshot replaces the journal, so it must hold this inode.
  SnapshotIfDue();
  return ino;
}

std::shared_ptr<const Node> InodeTable::Get(uint64_t ino) const {
  MutexLock lock(&mu_);
  auto it = slots_.find(ino);
  return it == slots_.end() ? nullptr : it->second.node;
}

void InodeTable::Forget(uint64_t ino, uint64_t n) {
  if (ino == kRoot) return;
  MutexLock lock(&mu_);
  auto it = slots_.find(ino);
  if (it == slots_.end()) return;
  if (journal_ != nullptr) journal_->Forgotten(ino, n);
  Slot& slot = it->second;
  slot.nlookup = n >= slot.nlookup ? 0 : slot.nlookup - n;
  if (slot.nlookup > 0) return;
  auto key = std::make_pair(slot.node->parent, slot.node->name);
  if (auto named = by_name_.find(key); named != by_name_.end() && named->second == ino) {
    by_name_.erase(named);
  }
  slots_.erase(it);
}

size_t InodeTable::size() const {
  MutexLock lock(&mu_);
  return slots_.size();
}

uint64_t InodeTable::lookups(uint64_t ino) const {
  MutexLock lock(&mu_);
  auto it = slots_.find(ino);
  return it == slots_.end() ? 0 : it->second.nlookup;
}

}  // namespace vms
