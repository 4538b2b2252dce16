#include "fusefs/content.h"

#include <vector>

namespace vms {

absl::Status Content::Ensure(std::span<const Hash> hashes) {
  std::vector<Hash> missing;
  for (const Hash& h : hashes) {
    if (!cache_->Contains(h)) missing.push_back(h);
  }
  if (missing.empty()) return absl::OkStatus();
  // The cache verifies every object before it keeps it: the replica is not
  // trusted any more than the network.
  return fetch_(missing, [this](std::vector<StoredObject>* batch) { return cache_->Put(batch); });
}

absl::StatusOr<Content::Bytes> Content::Get(const Hash& hash) {
  {
    std::lock_guard lock(mu_);
    if (auto it = memory_.find(hash); it != memory_.end()) {
      memory_lru_.splice(memory_lru_.end(), memory_lru_, it->second.second);
      return it->second.first;
    }
  }
  absl::StatusOr<std::string> raw;
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (absl::Status s = Ensure(std::span<const Hash>(&hash, 1)); !s.ok()) return s;
    raw = cache_->Read(hash);
    // Corrupt on disk (now dropped) or evicted meanwhile: fetch once more.
    if (raw.ok() || (!absl::IsDataLoss(raw.status()) && !absl::IsNotFound(raw.status()))) break;
  }
  if (!raw.ok()) return raw.status();
  auto bytes = std::make_shared<const std::string>(std::move(*raw));
  std::lock_guard lock(mu_);
  if (memory_.count(hash) == 0 && bytes->size() <= memory_limit_) {
    memory_[hash] = {bytes, memory_lru_.insert(memory_lru_.end(), hash)};
    memory_bytes_ += bytes->size();
    while (memory_bytes_ > memory_limit_) {
      auto oldest = memory_.find(memory_lru_.front());
      memory_bytes_ -= oldest->second.first->size();
      memory_.erase(oldest);
      memory_lru_.pop_front();
    }
  }
  return bytes;
}

absl::Status Content::Pin(const Hash& hash) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (absl::Status s = Ensure(std::span<const Hash>(&hash, 1)); !s.ok()) return s;
    absl::Status s = cache_->Pin(hash);
    if (s.ok() || !absl::IsNotFound(s)) return s;  // NotFound: evicted meanwhile
  }
  return cache_->Pin(hash);
}

}  // namespace vms
