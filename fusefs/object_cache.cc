#include "fusefs/object_cache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <vector>

#include "core/file_util.h"
#include "core/strings.h"
#include "spdlog/spdlog.h"

namespace vms {

namespace fs = std::filesystem;

absl::StatusOr<std::unique_ptr<ObjectCache>> ObjectCache::Open(const std::string& dir,
                                                               uint64_t max_bytes) {
  if (absl::Status s = MakeDirs(dir + "/objects"); !s.ok()) return s;
  auto cache = std::unique_ptr<ObjectCache>(new ObjectCache(dir, max_bytes));
  struct Found {
    Hash hash;
    uint64_t size;
    int64_t mtime;
  };
  std::vector<Found> found;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir + "/objects", ec);
       !ec && it != fs::end(it); it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    std::string name = it->path().filename().string();
    auto hash = Hash::FromHex(name);
    if (!hash.ok()) {  // a leftover temporary file from a crash
      fs::remove(it->path(), ec);
      continue;
    }
    struct stat st;
    if (stat(it->path().c_str(), &st) != 0) continue;
    found.push_back({*hash, static_cast<uint64_t>(st.st_size),
                     st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec});
  }
  if (ec) return ErrnoError(ec.value(), StrCat("cannot index cache ", dir));
  std::sort(found.begin(), found.end(), [](const Found& a, const Found& b) { return a.mtime < b.mtime; });
  std::lock_guard lock(cache->mu_);
  for (const Found& f : found) {
    Entry& e = cache->entries_[f.hash];
    e.size = f.size;
    e.lru = cache->lru_.insert(cache->lru_.end(), f.hash);
    cache->bytes_ += f.size;
  }
  cache->EvictFor(0);
  return cache;
}

std::string ObjectCache::PathOf(const Hash& hash) const {
  std::string hex = hash.Hex();
  return StrCat(dir_, "/objects/", hex.substr(0, 2), "/", hex);
}

bool ObjectCache::Contains(const Hash& hash) const {
  std::lock_guard lock(mu_);
  return entries_.count(hash) > 0;
}

uint64_t ObjectCache::bytes() const {
  std::lock_guard lock(mu_);
  return bytes_;
}

size_t ObjectCache::pinned() const {
  std::lock_guard lock(mu_);
  size_t n = 0;
  for (const auto& [h, e] : entries_) n += e.pins > 0;
  return n;
}

void ObjectCache::Drop(const Hash& hash) {
  auto it = entries_.find(hash);
  if (it == entries_.end()) return;
  lru_.erase(it->second.lru);
  bytes_ -= it->second.size;
  entries_.erase(it);
  std::error_code ec;
  fs::remove(PathOf(hash), ec);
}

void ObjectCache::EvictFor(uint64_t incoming) {
  auto it = lru_.begin();
  while (bytes_ + incoming > max_bytes_ && it != lru_.end()) {
    Hash h = *it++;
    if (entries_[h].pins == 0) Drop(h);
  }
}

void ObjectCache::MaybeSignalPressure() {
  if (on_pressure_ && bytes() > max_bytes_) on_pressure_();
}

absl::Status ObjectCache::Put(const Hash& hash, std::string_view raw) {
  if (Contains(hash)) return absl::OkStatus();
  std::string path = PathOf(hash);
  if (absl::Status s = MakeDirs(fs::path(path).parent_path().string()); !s.ok()) return s;
  // Written aside and renamed: a crash leaves the old state or the whole file.
  if (absl::Status s = WriteFileAtomic(path, raw, 0444, /*durable=*/false); !s.ok()) return s;
  {
    std::lock_guard lock(mu_);
    if (entries_.count(hash)) return absl::OkStatus();
    EvictFor(raw.size());
    Entry& e = entries_[hash];
    e.size = raw.size();
    e.verified = true;
    e.lru = lru_.insert(lru_.end(), hash);
    bytes_ += raw.size();
  }
  MaybeSignalPressure();
  return absl::OkStatus();
}

absl::Status ObjectCache::VerifyOnDisk(const Hash& hash) {
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(hash);
    if (it == entries_.end()) return absl::NotFoundError(StrCat("object ", hash.Short(), " not cached"));
    if (it->second.verified) return absl::OkStatus();
  }
  auto raw = ReadFile(PathOf(hash));
  // A read error (say, EMFILE) says nothing about the bytes: only a mismatch
  // drops the object.
  if (!raw.ok() && !absl::IsNotFound(raw.status())) return raw.status();
  bool good = raw.ok() && Sha256(*raw) == hash;
  std::lock_guard lock(mu_);
  auto it = entries_.find(hash);
  if (it == entries_.end()) return absl::NotFoundError(StrCat("object ", hash.Short(), " not cached"));
  if (!good) {
    spdlog::error("cached object={} is corrupt on disk: dropped, it will be fetched again",
                  hash.Hex());
    if (it->second.pins == 0) Drop(hash);
    return absl::DataLossError(StrCat("cached object ", hash.Short(), " is corrupt"));
  }
  it->second.verified = true;
  return absl::OkStatus();
}

absl::Status ObjectCache::Pin(const Hash& hash) {
  if (absl::Status s = VerifyOnDisk(hash); !s.ok()) return s;
  std::lock_guard lock(mu_);
  auto it = entries_.find(hash);
  if (it == entries_.end()) return absl::NotFoundError(StrCat("object ", hash.Short(), " not cached"));
  ++it->second.pins;
  lru_.splice(lru_.end(), lru_, it->second.lru);  // most recently used
  return absl::OkStatus();
}

bool ObjectCache::PinIfVerified(const Hash& hash) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(hash);
  if (it == entries_.end() || !it->second.verified) return false;
  ++it->second.pins;
  lru_.splice(lru_.end(), lru_, it->second.lru);
  return true;
}

void ObjectCache::Unpin(const Hash& hash) {
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(hash);
    if (it == entries_.end() || it->second.pins == 0) return;
    if (--it->second.pins > 0) return;
    EvictFor(0);
  }
}

absl::StatusOr<Fd> ObjectCache::OpenFd(const Hash& hash) const {
  Fd fd(open(PathOf(hash).c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoError(errno, StrCat("cannot open cached object ", hash.Short()));
  return fd;
}

absl::StatusOr<std::string> ObjectCache::Read(const Hash& hash) {
  if (absl::Status s = VerifyOnDisk(hash); !s.ok()) return s;
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(hash);
    if (it == entries_.end()) return absl::NotFoundError(StrCat("object ", hash.Short(), " not cached"));
    lru_.splice(lru_.end(), lru_, it->second.lru);
  }
  return ReadFile(PathOf(hash));
}

}  // namespace vms
