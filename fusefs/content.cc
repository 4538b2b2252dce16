#include "fusefs/content.h"

#include <chrono>
#include <vector>

#include "core/codec.h"
#include "core/log.h"
#include "core/object_store.h"
#include "core/status_macros.h"
#include "core/strings.h"
#include "core/sync.h"
#include "spdlog/spdlog.h"

namespace vms {

absl::Status Content::Fetch(const std::vector<Hash>& hashes) {
  auto start = std::chrono::steady_clock::now();
  // The cache verifies every object before it keeps it: the replica is not
  // trusted any more than the network. Each batch that lands is released at
  // once: a reader waiting for one object of a long fetch goes on as soon as
  // that object is here, not when the whole fetch is done.
  absl::Status s = fetch_(hashes, [this](std::vector<StoredObject>* batch) {
    std::vector<Hash> landed;
    landed.reserve(batch->size());
    uint64_t raw = 0;
    for (const StoredObject& o : *batch) {
      landed.push_back(o.hash);
      raw += o.raw_size;
    }
    Count(metrics_.fetched_objects, static_cast<double>(landed.size()));
    Count(metrics_.fetched_bytes, static_cast<double>(raw));
    absl::Status put = cache_->Put(batch);
    if (!put.ok()) return put;
    // Verified by Put(), and what a reader waits for: a large raw object
    // (a chunk of a big file) is kept in memory, so that it is not read
    // back from the disk. Small ones (a directory's readahead) would only
    // push out what readers use; a compressed object is decoded when read.
    for (StoredObject& o : *batch) {
      if (o.codec == Codec::kRaw && o.raw_size >= kLargeObjectBytes &&
          o.data.size() == o.raw_size) {
        Remember(o.hash, std::make_shared<const std::string>(std::move(o.data)));
      }
    }
    Land(landed);
    return absl::OkStatus();
  });
  auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
                    std::chrono::steady_clock::now() - start)
                    .count();
  Observe(metrics_.fetch_seconds, static_cast<double>(micros) / 1e6);
  MutexLock lock(&mu_);
  ++stats_.fetches;
  stats_.objects += hashes.size();
  stats_.fetch_micros += micros;
  return s;
}

void Content::Land(std::span<const Hash> hashes) {
  {
    MutexLock lock(&mu_);
    for (const Hash& h : hashes) in_flight_.erase(h);
  }
  fetched_cv_.SignalAll();
}

std::vector<Hash> Content::Claim(std::span<const Hash> hashes, std::vector<Hash>* theirs) {
  std::vector<Hash> mine;
  MutexLock lock(&mu_);
  for (const Hash& h : hashes) {
    if (cache_->Contains(h)) continue;
    if (in_flight_.insert(h).second) {
      mine.push_back(h);
    } else if (theirs != nullptr) {
      theirs->push_back(h);
    }
  }
  return mine;
}

void Content::Prefetch(std::span<const Hash> hashes, ThreadPool* pool) {
  std::vector<Hash> mine = Claim(hashes, nullptr);
  if (mine.empty()) return;
  pool->Submit([this, mine = std::move(mine)] {
    absl::Status s = Fetch(mine);
    Land(mine);  // what did not come (an error) is no longer in flight either
    if (!s.ok()) FuseLog()->debug("prefetch of {} objects: {}", mine.size(), Sv(s.message()));
  });
}

Content::Stats Content::stats() const {
  MutexLock lock(&mu_);
  return stats_;
}

absl::Status Content::Ensure(std::span<const Hash> hashes) { return Ensure(hashes, false); }

absl::Status Content::Ensure(std::span<const Hash> hashes, bool count) {
  std::vector<Hash> theirs;  // being fetched by another
  std::vector<Hash> mine = Claim(hashes, &theirs);
  if (count) {
    const size_t missed = mine.size() + theirs.size();
    Count(metrics_.misses, static_cast<double>(missed));
    Count(metrics_.hits, static_cast<double>(hashes.size() - missed));
  }
  absl::Status s;
  if (!mine.empty()) {
    s = Fetch(mine);
    Land(mine);
  }
  if (!theirs.empty()) {
    MutexLock lock(&mu_);
    auto landed = [&] {
      mu_.AssertHeld();
      for (const Hash& h : theirs) {
        if (in_flight_.count(h)) return false;
      }
      return true;
    };
    while (!landed()) fetched_cv_.Wait();
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
    MutexLock lock(&mu_);
    if (auto it = memory_.find(hash); it != memory_.end()) {
      memory_lru_.splice(memory_lru_.end(), memory_lru_, it->second.second);
      Count(metrics_.hits);
      return it->second.first;
    }
  }
  absl::StatusOr<std::string> raw;
  for (int attempt = 0; attempt < 2; ++attempt) {
    VMS_RETURN_IF_ERROR(Ensure(std::span<const Hash>(&hash, 1), attempt == 0));
    raw = cache_->Read(hash);
    // Corrupt on disk (now dropped) or evicted meanwhile: fetch once more.
    if (raw.ok() || (!absl::IsDataLoss(raw.status()) && !absl::IsNotFound(raw.status()))) break;
  }
  if (!raw.ok()) return raw.status();
  auto bytes = std::make_shared<const std::string>(std::move(*raw));
  Remember(hash, bytes);
  return bytes;
}

void Content::Remember(const Hash& hash, Bytes bytes) {
  MutexLock lock(&mu_);
  if (memory_.count(hash) != 0 || bytes->size() > memory_limit_) return;
  memory_bytes_ += bytes->size();
  memory_[hash] = {std::move(bytes), memory_lru_.insert(memory_lru_.end(), hash)};
  while (memory_bytes_ > memory_limit_) {
    auto oldest = memory_.find(memory_lru_.front());
    memory_bytes_ -= oldest->second.first->size();
    memory_.erase(oldest);
    memory_lru_.pop_front();
  }
}

absl::Status Content::Pin(const Hash& hash) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    VMS_RETURN_IF_ERROR(Ensure(std::span<const Hash>(&hash, 1), attempt == 0));
    absl::Status s = cache_->Pin(hash);
    if (s.ok() || !absl::IsNotFound(s)) return s;  // NotFound: evicted meanwhile
  }
  return cache_->Pin(hash);
}

}  // namespace vms
