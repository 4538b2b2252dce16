#include "fusefs/content.h"

#include <vector>

#include "core/codec.h"

namespace vms {

absl::Status Content::Ensure(std::span<const Hash> hashes) {
  std::vector<Hash> missing;
  for (const Hash& h : hashes) {
    if (!cache_->Contains(h)) missing.push_back(h);
  }
  if (missing.empty()) return absl::OkStatus();
  return fetch_(missing, [this](std::vector<StoredObject>* batch) -> absl::Status {
    for (const StoredObject& o : *batch) {
      // Verified here: the replica is not trusted any more than the network.
      auto raw = Decode(o.hash, o.codec, o.raw_size, o.data);
      if (!raw.ok()) return raw.status();
      if (absl::Status s = cache_->Put(o.hash, *raw); !s.ok()) return s;
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<std::string> Content::Get(const Hash& hash) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (absl::Status s = Ensure(std::span<const Hash>(&hash, 1)); !s.ok()) return s;
    auto raw = cache_->Read(hash);
    // Corrupt on disk (now dropped) or evicted meanwhile: fetch once more.
    if (raw.ok() || (!absl::IsDataLoss(raw.status()) && !absl::IsNotFound(raw.status()))) {
      return raw;
    }
  }
  return cache_->Read(hash);
}

absl::Status Content::Pin(const Hash& hash) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (absl::Status s = Ensure(std::span<const Hash>(&hash, 1)); !s.ok()) return s;
    absl::Status s = cache_->Pin(hash);
    if (s.ok() || (!absl::IsDataLoss(s) && !absl::IsNotFound(s))) return s;
  }
  return cache_->Pin(hash);
}

}  // namespace vms
