#include "fusefs/object_cache.h"

#include "core/coding.h"
#include "core/file_util.h"
#include "core/log.h"
#include "core/status_macros.h"
#include "core/strings.h"
#include "core/sync.h"
#include "spdlog/spdlog.h"

namespace vms {

absl::StatusOr<std::unique_ptr<ObjectCache>> ObjectCache::Open(const std::string& dir,
                                                               uint64_t max_bytes,
                                                               prometheus::Counter* evictions) {
  VMS_RETURN_IF_ERROR(MakeDirs(dir));
  VMS_ASSIGN_OR_RETURN(auto db, Db::Open(dir + "/objects", ObjectStore::Families()));
  auto cache = std::unique_ptr<ObjectCache>(new ObjectCache(std::move(db), max_bytes, evictions));
  VMS_RETURN_IF_ERROR(cache->store_.Recover());
  // Index what is there. Its order is the order of hashes, not of use: a
  // restart forgets recency, which only matters when the cache is full.
  auto it = cache->db_->NewIterator(kObjectIndexFamily);
  {
    MutexLock lock(&cache->mu_);
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      auto hash = Hash::FromBytes(it->key().ToStringView());
      std::string_view v = it->value().ToStringView();
      uint64_t size;
      if (!hash.ok() || !GetVarint(&v, &size)) continue;
      Entry& e = cache->entries_[*hash];
      e.size = size;
      e.gen = ++cache->next_gen_;
      e.lru = cache->lru_.insert(cache->lru_.end(), *hash);
      cache->bytes_ += size;
    }
    cache->DeleteFromDisk(cache->EvictFor(0));
  }
  VMS_RETURN_IF_ERROR(FromRocks(it->status(), "index the cache"));
  return cache;
}

ObjectCache::ObjectCache(std::unique_ptr<Db> db, uint64_t max_bytes, prometheus::Counter* evictions)
    : db_(std::move(db)),
      store_(db_.get(), /*durable=*/false),
      max_bytes_(max_bytes),
      evictions_(evictions) {}

bool ObjectCache::Contains(const Hash& hash) const {
  MutexLock lock(&mu_);
  auto it = entries_.find(hash);
  return it != entries_.end() && it->second.present;
}

uint64_t ObjectCache::bytes() const {
  MutexLock lock(&mu_);
  return bytes_;
}

size_t ObjectCache::pinned() const {
  MutexLock lock(&mu_);
  size_t n = 0;
  for (const auto& [h, e] : entries_) n += e.pins > 0;
  return n;
}

std::vector<Hash> ObjectCache::EvictFor(uint64_t incoming) {
  std::vector<Hash> out;
  auto it = lru_.begin();
  while (bytes_ + incoming > max_bytes_ && it != lru_.end()) {
    Hash h = *it++;
    auto e = entries_.find(h);
    if (e->second.pins > 0) continue;
    bytes_ -= e->second.size;
    lru_.erase(e->second.lru);
    entries_.erase(e);
    out.push_back(h);
  }
  Count(evictions_, static_cast<double>(out.size()));
  return out;
}

uint64_t ObjectCache::Drop(std::span<const Hash> hashes) {
  MutexLock lock(&mu_);
  std::vector<Hash> out;
  uint64_t freed = 0;
  for (const Hash& h : hashes) {
    auto e = entries_.find(h);
    if (e == entries_.end() || e->second.pins > 0 || !e->second.present) continue;
    bytes_ -= e->second.size;
    freed += e->second.size;
    lru_.erase(e->second.lru);
    entries_.erase(e);
    out.push_back(h);
  }
  DeleteFromDisk(out);
  return freed;
}

void ObjectCache::DeleteFromDisk(const std::vector<Hash>& hashes) {
  if (hashes.empty()) return;
  ++deletions_;
  if (absl::Status s = store_.Erase(hashes); !s.ok()) {
    FuseLog()->warn("cache eviction not written: {}", Sv(s.message()));
  }
}

void ObjectCache::SetPressureCallback(std::function<void()> fn) {
  MutexLock lock(&callback_mu_);
  on_pressure_ = std::move(fn);
}

void ObjectCache::MaybeSignalPressure() {
  if (bytes() <= max_bytes_) return;
  MutexLock lock(&callback_mu_);
  if (on_pressure_) on_pressure_();
}

absl::Status ObjectCache::Put(std::vector<StoredObject>* objects) {
  uint64_t deletions;
  {
    MutexLock lock(&mu_);
    std::erase_if(*objects, [&](const StoredObject& o) {
      mu_.AssertHeld();  // the lambda runs here, under the lock
      auto it = entries_.find(o.hash);
      return it != entries_.end() && it->second.present;
    });
    deletions = deletions_;
  }
  if (objects->empty()) return absl::OkStatus();
  // A cache need not survive a power cut: unsynced, like a page cache.
  // Verifying and writing happen without the lock.
  VMS_RETURN_IF_ERROR(store_.Ingest(objects).status());
  {
    MutexLock lock(&mu_);
    if (deletions_ != deletions) {
      // An eviction ran since: it may have deleted one of these (written by
      // another Put and skipped by ours). Write again what is gone, under the
      // lock evictions delete under. Rare, and only what is missing.
      std::vector<Hash> hashes;
      for (const StoredObject& o : *objects) hashes.push_back(o.hash);
      VMS_ASSIGN_OR_RETURN(auto on_disk, store_.Sizes(hashes));
      std::vector<StoredObject> again;
      for (size_t i = 0; i < objects->size(); ++i) {
        if (!on_disk[i]) again.push_back((*objects)[i]);
      }
      if (!again.empty()) {
        if (auto s = store_.Ingest(&again); !s.ok()) return s.status();
      }
    }
    for (const StoredObject& o : *objects) {
      if (auto it = entries_.find(o.hash); it != entries_.end()) {
        if (!it->second.present) {  // fetched again after corruption: still pinned
          it->second.present = true;
          it->second.verified = true;
          it->second.gen = ++next_gen_;
          bytes_ += it->second.size;
        }
        continue;
      }
      DeleteFromDisk(EvictFor(o.raw_size));
      Entry& e = entries_[o.hash];
      e.size = o.raw_size;
      e.verified = true;  // Ingest checked it
      e.gen = ++next_gen_;
      e.lru = lru_.insert(lru_.end(), o.hash);
      bytes_ += o.raw_size;
    }
  }
  MaybeSignalPressure();
  return absl::OkStatus();
}

absl::Status ObjectCache::Pin(const Hash& hash) {
  MutexLock lock(&mu_);
  auto it = entries_.find(hash);
  if (it == entries_.end() || !it->second.present) {
    return absl::NotFoundError(StrCat("object ", hash.Short(), " not cached"));
  }
  ++it->second.pins;
  lru_.splice(lru_.end(), lru_, it->second.lru);  // most recently used
  return absl::OkStatus();
}

bool ObjectCache::PinIfCached(const Hash& hash) { return Pin(hash).ok(); }

void ObjectCache::Unpin(const Hash& hash) {
  MutexLock lock(&mu_);
  auto it = entries_.find(hash);
  if (it == entries_.end() || it->second.pins == 0) return;
  if (--it->second.pins > 0) return;
  if (!it->second.present) {  // corrupt and never fetched again
    lru_.erase(it->second.lru);
    entries_.erase(it);
    return;
  }
  DeleteFromDisk(EvictFor(0));
}

absl::StatusOr<std::string> ObjectCache::Read(const Hash& hash) {
  // Twice at most: a read that raced an eviction and a new Put of the same
  // object reads the new copy.
  for (int attempt = 0;; ++attempt) {
    bool verified;
    uint64_t gen;
    {
      MutexLock lock(&mu_);
      auto it = entries_.find(hash);
      if (it == entries_.end() || !it->second.present) {
        return absl::NotFoundError(StrCat("object ", hash.Short(), " not cached"));
      }
      lru_.splice(lru_.end(), lru_, it->second.lru);
      verified = it->second.verified;
      gen = it->second.gen;
    }
    absl::StatusOr<std::string> raw;
    if (auto o = store_.GetEncoded(hash); !o.ok()) {
      raw = o.status();
    } else if (o->codec == Codec::kRaw) {  // the bytes themselves: no copy
      absl::Status s = verified ? absl::OkStatus() : Verify(hash, o->codec, o->raw_size, o->data);
      if (s.ok() && o->data.size() != o->raw_size) {
        s = absl::DataLossError(StrCat("object ", hash.Short(), " is stored short"));
      }
      raw = s.ok() ? absl::StatusOr<std::string>(std::move(o->data)) : s;
    } else {
      raw = verified ? DecodeVerified(hash, o->codec, o->raw_size, o->data)
                     : Decode(hash, o->codec, o->raw_size, o->data);
    }
    if (raw.ok()) {
      if (!verified) {
        MutexLock lock(&mu_);
        if (auto it = entries_.find(hash); it != entries_.end()) it->second.verified = true;
      }
      return raw;
    }
    if (!absl::IsDataLoss(raw.status()) && !absl::IsNotFound(raw.status())) return raw;
    MutexLock lock(&mu_);
    auto it = entries_.find(hash);
    if (it == entries_.end() || !it->second.present || it->second.gen != gen) {
      // Evicted while it was being read (and perhaps cached again): gone or
      // replaced, not corrupt.
      if (it != entries_.end() && it->second.present && attempt == 0) continue;
      return absl::NotFoundError(StrCat("object ", hash.Short(), " not cached"));
    }
    FuseLog()->error("cached object={} is corrupt on disk: dropped, it will be fetched again",
                     hash.Hex());
    bytes_ -= it->second.size;
    if (it->second.pins > 0) {
      it->second.present = false;
    } else {
      lru_.erase(it->second.lru);
      entries_.erase(it);
    }
    DeleteFromDisk({hash});
    return absl::DataLossError(StrCat("cached object ", hash.Short(), " is corrupt"));
  }
}

}  // namespace vms
