#include "client/stat_cache.h"

#include <filesystem>

#include "core/coding.h"
#include "core/file_util.h"
#include "core/status_macros.h"
#include "core/strings.h"
#include "core/sync.h"

namespace vms {

namespace {
// Bump when the chunker or the encoding changes: old digests become invalid.
constexpr std::string_view kMagic = "VMSSTAT2";

// Entries of this run always stay; older ones fill up to this many.
constexpr size_t kMaxEntries = 1'000'000;

bool TakeU64(std::string_view* in, uint64_t* v) { return GetVarint(in, v); }
}  // namespace

StatKey StatKey::Of(const struct stat& st) {
  return StatKey{.dev = static_cast<uint64_t>(st.st_dev),
                 .ino = static_cast<uint64_t>(st.st_ino),
                 .size = static_cast<uint64_t>(st.st_size),
                 .mtime_ns = st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec,
                 .ctime_ns = st.st_ctim.tv_sec * 1000000000LL + st.st_ctim.tv_nsec};
}

StatCache::StatCache(std::string path, int64_t scan_start_ns)
    : path_(std::move(path)), racy_after_ns_(scan_start_ns - 2'000'000'000LL) {}

void StatCache::Load() {
  if (path_.empty()) return;
  auto data = ReadFile(path_);
  if (!data.ok()) return;
  std::string_view in = *data;
  if (!in.starts_with(kMagic)) return;
  in.remove_prefix(kMagic.size());
  std::unordered_map<StatKey, CachedDigest, KeyHash> entries;
  while (!in.empty()) {
    StatKey k;
    uint64_t mtime, ctime, chunked, list_len;
    CachedDigest d;
    if (!TakeU64(&in, &k.dev) || !TakeU64(&in, &k.ino) || !TakeU64(&in, &k.size) ||
        !TakeU64(&in, &mtime) || !TakeU64(&in, &ctime) || in.size() < Hash::kSize) {
      return;  // corrupt: start empty
    }
    k.mtime_ns = static_cast<int64_t>(mtime);
    k.ctime_ns = static_cast<int64_t>(ctime);
    d.hash = *Hash::FromBytes(in.substr(0, Hash::kSize));
    in.remove_prefix(Hash::kSize);
    if (!TakeU64(&in, &chunked) || !TakeU64(&in, &list_len) || in.size() < list_len) return;
    d.chunked = chunked != 0;
    d.chunk_list.assign(in.substr(0, list_len));
    in.remove_prefix(list_len);
    entries.emplace(k, std::move(d));
  }
  MutexLock lock(&mu_);
  loaded_ = std::move(entries);
}

std::optional<CachedDigest> StatCache::Find(const StatKey& key) const {
  MutexLock lock(&mu_);
  auto it = loaded_.find(key);
  if (it == loaded_.end()) return std::nullopt;
  used_[key] = it->second;
  return it->second;
}

void StatCache::Remember(const StatKey& key, CachedDigest digest) {
  if (key.mtime_ns >= racy_after_ns_ || key.ctime_ns >= racy_after_ns_) return;
  MutexLock lock(&mu_);
  used_[key] = std::move(digest);
}

absl::Status StatCache::Save() const {
  if (path_.empty()) return absl::OkStatus();
  std::string out(kMagic);
  {
    MutexLock lock(&mu_);
    auto merged = used_;
    for (const auto& [k, d] : loaded_) {
      if (merged.size() >= kMaxEntries) break;
      merged.emplace(k, d);
    }
    for (const auto& [k, d] : merged) {
      PutVarint(&out, k.dev);
      PutVarint(&out, k.ino);
      PutVarint(&out, k.size);
      PutVarint(&out, static_cast<uint64_t>(k.mtime_ns));
      PutVarint(&out, static_cast<uint64_t>(k.ctime_ns));
      out.append(d.hash.View());
      PutVarint(&out, d.chunked ? 1 : 0);
      PutVarint(&out, d.chunk_list.size());
      out.append(d.chunk_list);
    }
  }
  std::string dir = std::filesystem::path(path_).parent_path().string();
  VMS_RETURN_IF_ERROR(MakeDirs(dir));
  // A cache: losing it to a power cut only costs a re-read, so no fsync.
  return WriteFileAtomic(path_, out, 0600, /*durable=*/false);
}

}  // namespace vms
