#include "fusefs/content.h"

#include <chrono>
#include <vector>

namespace vms {

absl::Status Content::Fetch(const std::vector<Hash>& hashes) {
  auto start = std::chrono::steady_clock::now();
  // The cache verifies every object before it keeps it: the replica is not
  // trusted any more than the network.
  absl::Status s =
      fetch_(hashes, [this](std::vector<StoredObject>* batch) { return cache_->Put(batch); });
  auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
                    std::chrono::steady_clock::now() - start)
                    .count();
  std::lock_guard lock(mu_);
  ++stats_.fetches;
  stats_.objects += hashes.size();
  stats_.fetch_micros += micros;
  return s;
}

Content::Stats Content::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

absl::Status Content::Ensure(std::span<const Hash> hashes) {
  std::vector<Hash> mine, theirs;  // to fetch here; being fetched by another
  {
    std::lock_guard lock(mu_);
    for (const Hash& h : hashes) {
      if (cache_->Contains(h)) continue;
      if (in_flight_.insert(h).second) {
        mine.push_back(h);
      } else {
        theirs.push_back(h);
      }
    }
  }
  absl::Status s;
  if (!mine.empty()) {
    s = Fetch(mine);
    {
      std::lock_guard lock(mu_);
      for (const Hash& h : mine) in_flight_.erase(h);
    }
    fetched_cv_.notify_all();
  }
  if (!theirs.empty()) {
    std::unique_lock lock(mu_);
    fetched_cv_.wait(lock, [&] {
      for (const Hash& h : theirs) {
        if (in_flight_.count(h)) return false;
      }
      return true;
    });
  }
  if (!s.ok()) return s;
  // What another fetch was to bring may have failed with it: fetch it here.
  std::vector<Hash> still;
  for (const Hash& h : theirs) {
    if (!cache_->Contains(h)) still.push_back(h);
  }
  if (still.empty()) return absl::OkStatus();
  return Fetch(still);
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
