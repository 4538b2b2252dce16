#include "fusefs/open_files.h"

#include <algorithm>

namespace vms {

namespace {

// The index of the piece holding `offset` (pieces are in file order, from 0).
size_t PieceAt(const std::vector<OpenFiles::Piece>& pieces, uint64_t offset) {
  auto after = std::upper_bound(pieces.begin(), pieces.end(), offset,
                                [](uint64_t o, const OpenFiles::Piece& p) { return o < p.offset; });
  return after == pieces.begin() ? 0 : after - pieces.begin() - 1;
}

}  // namespace

bool OpenFiles::Contains(uint64_t ino) const {
  MutexLock lock(&mu_);
  return files_.count(ino) > 0;
}

size_t OpenFiles::size() const {
  MutexLock lock(&mu_);
  return files_.size();
}

bool OpenFiles::Add(uint64_t ino, std::vector<Piece> pieces) {
  File file;
  for (const Piece& p : pieces) file.bytes += p.size;
  file.pieces = std::move(pieces);
  bool added;
  {
    MutexLock lock(&mu_);
    file.last_read = ++clock_;
    auto [it, inserted] = files_.try_emplace(ino);
    if (inserted) it->second = std::move(file);
    added = inserted;
  }
  if (!added) {
    for (const Piece& p : file.pieces) {
      if (p.pinned) content_->Unpin(p.hash);
    }
  }
  return added;
}

bool OpenFiles::MarkPinned(uint64_t ino, size_t piece) {
  MutexLock lock(&mu_);
  auto it = files_.find(ino);
  if (it == files_.end() || piece >= it->second.pieces.size() || it->second.pieces[piece].pinned) {
    return false;
  }
  it->second.pieces[piece].pinned = true;
  return true;
}

void OpenFiles::Remove(uint64_t ino) {
  File file;
  {
    MutexLock lock(&mu_);
    auto it = files_.find(ino);
    if (it == files_.end()) return;
    file = std::move(it->second);
    files_.erase(it);
  }
  for (const Piece& p : file.pieces) {
    if (p.pinned) content_->Unpin(p.hash);
  }
}

bool OpenFiles::MarkRead(uint64_t ino) {
  MutexLock lock(&mu_);
  auto it = files_.find(ino);
  if (it == files_.end()) return true;  // not open yet: its first read
  bool first = !it->second.read;
  it->second.read = true;
  return first;
}

bool OpenFiles::Locate(uint64_t ino, uint64_t offset, size_t size, std::vector<Span>* out) {
  out->clear();
  MutexLock lock(&mu_);
  auto it = files_.find(ino);
  if (it == files_.end()) return false;
  it->second.last_read = ++clock_;
  const std::vector<Piece>& pieces = it->second.pieces;
  for (size_t i = PieceAt(pieces, offset); i < pieces.size(); ++i) {
    const Piece& p = pieces[i];
    if (size == 0) break;
    if (offset >= p.offset + p.size) continue;
    uint64_t within = offset - p.offset;
    size_t len = std::min<uint64_t>(size, p.size - within);
    out->push_back({p.hash, within, len, i, p.pinned});
    offset += len;
    size -= len;
  }
  return true;
}

std::vector<Hash> OpenFiles::Ahead(uint64_t ino, uint64_t offset, uint64_t bytes) const {
  std::vector<Hash> out;
  MutexLock lock(&mu_);
  auto it = files_.find(ino);
  if (it == files_.end()) return out;
  const std::vector<Piece>& pieces = it->second.pieces;
  for (size_t i = PieceAt(pieces, offset); i < pieces.size(); ++i) {
    if (pieces[i].offset >= offset + bytes) break;
    if (pieces[i].offset + pieces[i].size > offset) out.push_back(pieces[i].hash);
  }
  return out;
}

std::vector<uint64_t> OpenFiles::LeastRecentlyRead(uint64_t bytes) const {
  std::vector<uint64_t> out;
  MutexLock lock(&mu_);
  std::vector<std::pair<uint64_t, uint64_t>> order;  // last_read, ino
  order.reserve(files_.size());
  for (const auto& [ino, file] : files_) order.emplace_back(file.last_read, ino);
  std::sort(order.begin(), order.end());
  uint64_t freed = 0;
  for (const auto& [age, ino] : order) {
    if (freed >= bytes) break;
    out.push_back(ino);
    freed += files_.at(ino).bytes;
  }
  return out;
}

}  // namespace vms
