#include "fusefs/inode_table.h"

#include "core/sync.h"

namespace vms {

InodeTable::InodeTable() {
  auto root = std::make_shared<Node>();
  root->kind = Node::kRoot;
  slots_[kRoot] = Slot{std::move(root), 1};
}

uint64_t InodeTable::Lookup(uint64_t parent, const std::string& name, Node node, bool* created) {
  MutexLock lock(&mu_);
  if (created) *created = false;
  auto key = std::make_pair(parent, name);
  if (auto it = by_name_.find(key); it != by_name_.end()) {
    Slot& slot = slots_[it->second];
    if (slot.node->SameIdentity(node)) {
      ++slot.nlookup;
      return it->second;
    }
  }
  if (created) *created = true;
  uint64_t ino = next_++;
  node.parent = parent;
  node.name = name;
  slots_[ino] = Slot{std::make_shared<const Node>(std::move(node)), 1};
  by_name_[key] = ino;
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
