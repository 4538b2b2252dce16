#include "core/object_store.h"

#include <cstdlib>
#include <cstring>
#include <unordered_set>

#include "core/check.h"
#include "core/coding.h"
#include "core/status_macros.h"
#include "core/strings.h"
#include "rocksdb/metadata.h"
#include "spdlog/spdlog.h"

namespace vms {

std::vector<std::string> ObjectStore::Families() {
  return {kObjectsFamily, kObjectIndexFamily, kCompleteFamily};
}

namespace {

// An index entry: varint(raw size), then, for a compressed object, the
// SHA-256 of its stored bytes (a server checks what it is about to send
// against that: a hash over the compressed bytes, with no decompression,
// instead of decoding the object and hashing all of its raw bytes), then,
// for a large object, kLargeMark | codec (its bytes are in its own file).
constexpr uint8_t kLargeMark = 0x80;

struct IndexEntry {
  uint64_t raw_size = 0;
  std::optional<Hash> stored_digest;
  std::optional<Codec> large;  // the codec of a large object's file
};

std::string EncodeIndex(uint64_t raw_size, const std::optional<Hash>& stored_digest,
                        std::optional<Codec> large) {
  std::string out;
  PutVarint(&out, raw_size);
  if (stored_digest) out.append(stored_digest->View());
  if (large) out.push_back(static_cast<char>(kLargeMark | static_cast<uint8_t>(*large)));
  return out;
}

// Consumes the whole entry; false if it is malformed. Entries written before
// the digest existed have none. What follows the size tells the parts apart
// by its length: 0, 32 (digest), 1 (large mark), 33 (both).
bool DecodeIndex(std::string_view* in, IndexEntry* e) {
  if (!GetVarint(in, &e->raw_size)) return false;
  if (in->size() == Hash::kSize || in->size() == Hash::kSize + 1) {
    e->stored_digest = Hash::FromBytes(in->substr(0, Hash::kSize)).value();
    in->remove_prefix(Hash::kSize);
  }
  if (in->size() == 1) {
    uint8_t mark = static_cast<uint8_t>((*in)[0]);
    auto codec = CodecFromWire(mark & ~kLargeMark);
    if ((mark & kLargeMark) == 0 || !codec.ok()) return false;
    e->large = *codec;
    in->remove_prefix(1);
  }
  return in->empty();
}

// MultiGet of hash keys in `family`, parsing each value found with `parse`
// (false: corrupt).
template <typename T, typename Parse>
absl::StatusOr<std::vector<std::optional<T>>> MultiGetHashes(const Db& db, const char* family,
                                                             std::span<const Hash> hashes,
                                                             Parse parse) {
  std::vector<rocksdb::Slice> keys;
  keys.reserve(hashes.size());
  for (const Hash& h : hashes) {
    keys.emplace_back(reinterpret_cast<const char*>(h.bytes.data()), Hash::kSize);
  }
  std::vector<rocksdb::PinnableSlice> values(keys.size());
  std::vector<rocksdb::Status> statuses(keys.size());
  db.raw()->MultiGet(rocksdb::ReadOptions(), db.Family(family), keys.size(), keys.data(),
                     values.data(), statuses.data());
  std::vector<std::optional<T>> out(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    if (statuses[i].IsNotFound()) continue;
    if (!statuses[i].ok()) return FromRocks(statuses[i], StrCat("read ", family));
    std::string_view v = values[i].ToStringView();
    T parsed;
    if (!parse(&v, &parsed) || !v.empty()) {
      return absl::DataLossError(StrCat("corrupt ", family, " entry for ", hashes[i].Short()));
    }
    out[i] = parsed;
  }
  return out;
}

// The index entries of `hashes`, nullopt where absent.
absl::StatusOr<std::vector<std::optional<IndexEntry>>> IndexEntries(const Db& db,
                                                                    std::span<const Hash> hashes) {
  return MultiGetHashes<IndexEntry>(
      db, kObjectIndexFamily, hashes,
      [](std::string_view* in, IndexEntry* e) { return DecodeIndex(in, e); });
}

// `data` padded with zeros to a multiple of the page size, in a page-aligned
// buffer, as O_DIRECT wants: one per thread, kept (a fresh buffer costs a
// page fault per page), at most the largest object plus a page.
rocksdb::Slice AlignedCopy(std::string_view data) {
  constexpr size_t kPage = 4096;
  struct Buffer {
    char* p = nullptr;
    size_t size = 0;
    ~Buffer() { std::free(p); }
  };
  thread_local Buffer buf;
  const size_t padded = (data.size() + kPage - 1) / kPage * kPage;
  if (buf.size < padded) {
    std::free(buf.p);
    buf.p = static_cast<char*>(std::aligned_alloc(kPage, padded));
    VMS_CHECK(buf.p != nullptr, "aligned buffer (out of memory?)");
    buf.size = padded;
  }
  std::memcpy(buf.p, data.data(), data.size());
  std::memset(buf.p + data.size(), 0, padded - data.size());
  return rocksdb::Slice(buf.p, padded);
}

}  // namespace

absl::StatusOr<std::vector<std::optional<uint64_t>>> ObjectStore::Sizes(
    std::span<const Hash> hashes) const {
  VMS_ASSIGN_OR_RETURN(auto entries, IndexEntries(*db_, hashes));
  std::vector<std::optional<uint64_t>> sizes(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    if (entries[i]) sizes[i] = entries[i]->raw_size;
  }
  return sizes;
}

absl::StatusOr<std::vector<std::optional<TreeTotals>>> ObjectStore::CompleteTrees(
    std::span<const Hash> hashes) const {
  return MultiGetHashes<TreeTotals>(*db_, kCompleteFamily, hashes,
                                    [](std::string_view* in, TreeTotals* t) {
                                      return GetVarint(in, &t->files) && GetVarint(in, &t->bytes) &&
                                             GetVarint(in, &t->dirs) && GetVarint(in, &t->symlinks);
                                    });
}

void ObjectStore::MarkComplete(rocksdb::WriteBatch* batch, const Hash& tree,
                               const TreeTotals& totals) const {
  std::string value;
  PutVarint(&value, totals.files);
  PutVarint(&value, totals.bytes);
  PutVarint(&value, totals.dirs);
  PutVarint(&value, totals.symlinks);
  batch->Put(db_->Family(kCompleteFamily), tree.View(), value);
}

absl::StatusOr<std::vector<Hash>> ObjectStore::Missing(std::span<const Hash> hashes) const {
  VMS_ASSIGN_OR_RETURN(auto sizes, Sizes(hashes));
  std::vector<Hash> missing;
  for (size_t i = 0; i < hashes.size(); ++i) {
    if (!sizes[i]) missing.push_back(hashes[i]);
  }
  return missing;
}

absl::StatusOr<IngestStats> ObjectStore::Ingest(std::vector<StoredObject>* objects,
                                                const OnNewObject& on_new) {
  std::vector<Hash> hashes;
  hashes.reserve(objects->size());
  for (const StoredObject& o : *objects) hashes.push_back(o.hash);
  std::shared_lock sweeping(sweep_mu_);  // what Sizes() finds stays so until written
  VMS_ASSIGN_OR_RETURN(auto sizes, Sizes(hashes));

  IngestStats stats;
  rocksdb::WriteBatch batch;
  std::unordered_set<Hash, HashHasher> added;  // a duplicate later in the batch is "present"
  bool wrote_large = false;
  // Every new object is checked before any is written: a batch refused for
  // one bad object leaves nothing behind (not even a large object's file,
  // which only a restart's Recover() would find).
  std::vector<size_t> fresh;
  for (size_t i = 0; i < objects->size(); ++i) {
    const StoredObject& o = (*objects)[i];
    if (sizes[i] || !added.insert(o.hash).second) {
      ++stats.present;
      continue;
    }
    VMS_RETURN_IF_ERROR(Verify(o.hash, o.codec, o.raw_size, o.data));
    fresh.push_back(i);
  }
  for (size_t i : fresh) {
    // Stored in the encoded form received.
    StoredObject& o = (*objects)[i];
    std::string key(o.hash.View());
    std::optional<Hash> digest;
    if (o.codec != Codec::kRaw) digest = Sha256(o.data);
    std::optional<Codec> large;
    if (o.data.size() >= kLargeObjectBytes) {
      VMS_RETURN_IF_ERROR(WriteLarge(o.hash, o.data));
      large = o.codec;
      wrote_large = true;
    } else {
      std::string value;
      value.reserve(1 + o.data.size());
      value.push_back(static_cast<char>(o.codec));
      value.append(o.data);
      batch.Put(db_->Family(kObjectsFamily), key, value);
    }
    batch.Put(db_->Family(kObjectIndexFamily), key, EncodeIndex(o.raw_size, digest, large));
    if (on_new) on_new(&batch, o.hash);
    ++stats.stored;
    stats.stored_bytes += o.data.size();
  }
  // The files' names are durable before an entry naming them can be.
  if (wrote_large && durable_) VMS_RETURN_IF_ERROR(SyncLargeDir());
  if (stats.stored > 0) {
    VMS_RETURN_IF_ERROR(db_->Write(&batch, /*sync=*/false));
  }
  return stats;
}

ObjectStore::ObjectStore(Db* db, bool durable)
    : db_(db),
      durable_(durable),
      large_dir_(db->path() + "/large"),
      trash_dir_(db->path() + "/large-trash") {}

ObjectStore::~ObjectStore() = default;

std::string ObjectStore::LargePath(const Hash& hash) const {
  return StrCat(large_dir_, "/", hash.Hex());
}

absl::Status ObjectStore::WriteLarge(const Hash& hash, std::string_view data) {
  rocksdb::FileSystem* fs = db_->raw()->GetFileSystem();
  {
    MutexLock lock(&dir_mu_);
    if (!dir_made_) {
      VMS_RETURN_IF_ERROR(FromRocks(
          fs->CreateDirIfMissing(large_dir_, rocksdb::IOOptions(), nullptr), "create large/"));
      dir_made_ = true;
    }
  }
  const std::string path = LargePath(hash);
  const std::string temp = StrCat(path, ".tmp", next_temp_.fetch_add(1));
  auto write = [&]() -> rocksdb::IOStatus {
    std::unique_ptr<rocksdb::FSWritableFile> f;
    rocksdb::IOStatus s;
    // A durable store writes around the page cache: the bytes go to the
    // disk once, with no copy into cache pages (on this project's VMs,
    // taking fresh ones is what a buffered write of big objects spent most
    // on) and the sync that follows has nothing left to write. A file
    // system that refuses O_DIRECT gets buffered writes.
    bool direct = durable_ && direct_ok_.load(std::memory_order_relaxed);
    if (direct) {
      rocksdb::FileOptions fo;
      fo.use_direct_writes = true;
      s = fs->NewWritableFile(temp, fo, &f, nullptr);
      if (!s.ok()) {
        direct = false;
        direct_ok_.store(false, std::memory_order_relaxed);
      }
    }
    if (!direct) s = fs->NewWritableFile(temp, rocksdb::FileOptions(), &f, nullptr);
    if (s.ok() && direct) {
      s = f->Append(AlignedCopy(data), rocksdb::IOOptions(), nullptr);
      if (s.ok()) s = f->Truncate(data.size(), rocksdb::IOOptions(), nullptr);  // the padding
    } else if (s.ok()) {
      s = f->Append(data, rocksdb::IOOptions(), nullptr);
    }
    if (s.ok() && durable_) s = f->Sync(rocksdb::IOOptions(), nullptr);
    if (f != nullptr) {
      rocksdb::IOStatus c = f->Close(rocksdb::IOOptions(), nullptr);
      if (s.ok()) s = c;
    }
    // Renamed whole: a reader (or a concurrent writer of the same object)
    // sees no file or all of it.
    if (s.ok()) s = fs->RenameFile(temp, path, rocksdb::IOOptions(), nullptr);
    return s;
  };
  if (rocksdb::IOStatus s = write(); !s.ok()) {
    fs->DeleteFile(temp, rocksdb::IOOptions(), nullptr).PermitUncheckedError();
    return FromRocks(s, StrCat("write object ", hash.Short()));
  }
  large_bytes_.fetch_add(data.size(), std::memory_order_relaxed);
  return absl::OkStatus();
}

absl::Status ObjectStore::SyncLargeDir() {
  MutexLock lock(&dir_mu_);
  if (dir_ == nullptr) {
    VMS_RETURN_IF_ERROR(FromRocks(
        db_->raw()->GetFileSystem()->NewDirectory(large_dir_, rocksdb::IOOptions(), &dir_, nullptr),
        "open large/"));
  }
  return FromRocks(dir_->Fsync(rocksdb::IOOptions(), nullptr), "sync large/");
}

absl::StatusOr<std::string> ObjectStore::ReadLarge(const Hash& hash) const {
  rocksdb::FileSystem* fs = db_->raw()->GetFileSystem();
  const std::string path = LargePath(hash);
  auto corrupt = [&](std::string_view why) {
    return absl::DataLossError(StrCat("object ", hash.Short(), " is stored corrupt (", why, ")"));
  };
  std::unique_ptr<rocksdb::FSRandomAccessFile> f;
  rocksdb::IOStatus s = fs->NewRandomAccessFile(path, rocksdb::FileOptions(), &f, nullptr);
  if (s.IsPathNotFound() || s.IsNotFound()) return corrupt("its file is missing");
  VMS_RETURN_IF_ERROR(FromRocks(s, StrCat("open object ", hash.Short())));
  uint64_t size = 0;
  VMS_RETURN_IF_ERROR(FromRocks(fs->GetFileSize(path, rocksdb::IOOptions(), &size, nullptr),
                                StrCat("size of object ", hash.Short())));
  // An encoded object is never much bigger than the raw limit.
  if (size > kMaxObjectSize + kMaxObjectSize / 64) return corrupt("its file is too big");
  std::string out(size, '\0');
  rocksdb::Slice got;
  VMS_RETURN_IF_ERROR(FromRocks(f->Read(0, size, rocksdb::IOOptions(), &got, out.data(), nullptr),
                                StrCat("read object ", hash.Short())));
  if (got.size() != size) return corrupt("its file is short");
  if (got.data() != out.data()) std::memcpy(out.data(), got.data(), size);
  return out;
}

void ObjectStore::UnlinkLarge(std::span<const Hash> hashes) {
  // Only those the index says are large: a cache evicting thousands of
  // small objects (under its lock) makes no system call for them.
  auto entries = IndexEntries(*db_, hashes);
  rocksdb::FileSystem* fs = db_->raw()->GetFileSystem();
  for (size_t i = 0; i < hashes.size(); ++i) {
    if (entries.ok() && (!(*entries)[i] || !(*entries)[i]->large)) continue;
    const std::string path = LargePath(hashes[i]);
    uint64_t size = 0;
    if (!fs->GetFileSize(path, rocksdb::IOOptions(), &size, nullptr).ok()) continue;
    if (fs->DeleteFile(path, rocksdb::IOOptions(), nullptr).ok()) {
      large_bytes_.fetch_sub(size, std::memory_order_relaxed);
    }
  }
}

absl::Status ObjectStore::Recover() {
  VMS_RETURN_IF_ERROR(EmptyTrash());  // a sweep's, cut short
  rocksdb::FileSystem* fs = db_->raw()->GetFileSystem();
  std::vector<std::string> names;
  rocksdb::IOStatus s = fs->GetChildren(large_dir_, rocksdb::IOOptions(), &names, nullptr);
  if (s.IsNotFound() || s.IsPathNotFound()) return absl::OkStatus();
  VMS_RETURN_IF_ERROR(FromRocks(s, "list large/"));
  std::vector<std::string> drop;
  std::vector<Hash> hashes;
  for (const std::string& name : names) {
    if (name == "." || name == "..") continue;
    auto hash = Hash::FromHex(name);
    if (hash.ok()) {
      hashes.push_back(*hash);
    } else {
      drop.push_back(name);  // unfinished (.tmpN), or not ours
    }
  }
  uint64_t bytes = 0;
  constexpr size_t kPerRead = 1024;
  for (size_t at = 0; at < hashes.size(); at += kPerRead) {
    std::span<const Hash> part(hashes.data() + at, std::min(kPerRead, hashes.size() - at));
    VMS_ASSIGN_OR_RETURN(auto entries, IndexEntries(*db_, part));
    for (size_t i = 0; i < part.size(); ++i) {
      if (!entries[i] || !entries[i]->large) {
        drop.push_back(part[i].Hex());  // its batch was never written
        continue;
      }
      uint64_t size = 0;
      if (fs->GetFileSize(LargePath(part[i]), rocksdb::IOOptions(), &size, nullptr).ok()) {
        bytes += size;
      }
    }
  }
  for (const std::string& name : drop) {
    VMS_RETURN_IF_ERROR(
        FromRocks(fs->DeleteFile(StrCat(large_dir_, "/", name), rocksdb::IOOptions(), nullptr),
                  StrCat("remove unfinished large/", name)));
  }
  large_bytes_.store(bytes, std::memory_order_relaxed);
  return absl::OkStatus();
}

absl::StatusOr<StoredObject> ObjectStore::GetEncoded(const Hash& hash) const {
  return Load(hash, nullptr);
}

absl::StatusOr<StoredObject> ObjectStore::Load(const Hash& hash,
                                               std::optional<Hash>* stored_digest) const {
  auto corrupt = [&] {
    return absl::DataLossError(StrCat("object ", hash.Short(), " is stored corrupt"));
  };
  VMS_ASSIGN_OR_RETURN(auto index, db_->Get(kObjectIndexFamily, hash.View()));
  StoredObject o;
  o.hash = hash;
  IndexEntry entry;
  if (index) {
    std::string_view iv = *index;
    if (!DecodeIndex(&iv, &entry)) return corrupt();
    o.raw_size = entry.raw_size;
    if (stored_digest != nullptr) *stored_digest = entry.stored_digest;
  }
  if (entry.large) {
    o.codec = *entry.large;
    auto data = ReadLarge(hash);
    if (absl::IsDataLoss(data.status())) {
      // A sweep deletes the entry (synced) before it moves the file away:
      // a file gone with its entry was collected between the two reads,
      // which is NotFound (the caller asked for a retired version's object),
      // not damage to quarantine.
      VMS_ASSIGN_OR_RETURN(auto again, db_->Get(kObjectIndexFamily, hash.View()));
      if (!again) return absl::NotFoundError(StrCat("object ", hash.Short(), " not found"));
    }
    VMS_ASSIGN_OR_RETURN(o.data, std::move(data));
    return o;
  }
  VMS_ASSIGN_OR_RETURN(auto value, db_->Get(kObjectsFamily, hash.View()));
  if (!value) return absl::NotFoundError(StrCat("object ", hash.Short(), " not found"));
  if (!index || value->empty()) return corrupt();
  auto codec = CodecFromWire(static_cast<uint8_t>((*value)[0]));
  if (!codec.ok()) return corrupt();
  o.codec = *codec;
  o.data = value->substr(1);
  return o;
}

absl::StatusOr<StoredObject> ObjectStore::GetVerified(const Hash& hash) const {
  std::optional<Hash> stored_digest;
  auto o = Load(hash, &stored_digest);
  if (!o.ok()) return o.status();
  if (o->codec != Codec::kRaw && stored_digest) {
    // The bytes are those that decoded to `hash` at Ingest (and still say
    // the size they decode to): checked without decoding them again.
    if (Sha256(o->data) != *stored_digest || EncodedRawSize(o->codec, o->data) != o->raw_size) {
      return absl::DataLossError(
          StrCat("object ", hash.Short(), " does not match its hash (corrupt or altered)"));
    }
    return o;
  }
  VMS_RETURN_IF_ERROR(Verify(hash, o->codec, o->raw_size, o->data));
  return o;
}

absl::Status ObjectStore::Remove(const Hash& hash) {
  rocksdb::WriteBatch batch;
  batch.Delete(db_->Family(kObjectsFamily), hash.View());
  batch.Delete(db_->Family(kObjectIndexFamily), hash.View());
  ForgetComplete(&batch);  // which marks cover the object is unknown; they are only a shortcut
  // The file first: while the entry stands, no one stores the object again,
  // so this unlinks nothing but the corrupt copy (a reader in between finds
  // it missing: corrupt, as it is).
  UnlinkLarge({&hash, 1});
  return db_->Write(&batch, /*sync=*/true);
}

void ObjectStore::ForgetComplete(rocksdb::WriteBatch* batch) const {
  std::string first(Hash::kSize, '\0'), last(Hash::kSize, '\xff');
  batch->DeleteRange(db_->Family(kCompleteFamily), first, last);
  batch->Delete(db_->Family(kCompleteFamily), last);
}

absl::Status ObjectStore::Erase(std::span<const Hash> hashes) {
  if (hashes.empty()) return absl::OkStatus();
  rocksdb::WriteBatch batch;
  for (const Hash& h : hashes) {
    batch.Delete(db_->Family(kObjectsFamily), h.View());
    batch.Delete(db_->Family(kObjectIndexFamily), h.View());
  }
  UnlinkLarge(hashes);  // first, as in Remove()
  return db_->Write(&batch, /*sync=*/false);
}

absl::Status ObjectStore::ForEachObject(const std::function<bool(const Hash&)>& fn) const {
  auto it = db_->NewIterator(kObjectIndexFamily);
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    auto hash = Hash::FromBytes(it->key().ToStringView());
    if (hash.ok() && !fn(*hash)) break;
  }
  return FromRocks(it->status(), "scan objects");
}

absl::StatusOr<std::vector<uint64_t>> ObjectStore::StoredBytes(std::span<const Hash> hashes) const {
  VMS_ASSIGN_OR_RETURN(auto entries, IndexEntries(*db_, hashes));
  rocksdb::FileSystem* fs = db_->raw()->GetFileSystem();
  std::vector<uint64_t> out(hashes.size(), 0);
  for (size_t i = 0; i < hashes.size(); ++i) {
    if (!entries[i]) continue;
    if (entries[i]->large) {
      (void)fs->GetFileSize(LargePath(hashes[i]), rocksdb::IOOptions(), &out[i], nullptr);
    } else {
      VMS_ASSIGN_OR_RETURN(auto value, db_->Get(kObjectsFamily, hashes[i].View()));
      if (value) out[i] = value->size();
    }
  }
  return out;
}

absl::StatusOr<ObjectStore::SweepPlan> ObjectStore::PlanSweep(std::span<const Hash> hashes) const {
  SweepPlan plan;
  VMS_ASSIGN_OR_RETURN(auto entries, IndexEntries(*db_, hashes));
  VMS_ASSIGN_OR_RETURN(auto bytes, StoredBytes(hashes));
  for (size_t i = 0; i < hashes.size(); ++i) {
    if (!entries[i]) continue;
    plan.hashes.push_back(hashes[i]);
    plan.bytes.push_back(bytes[i]);
    plan.large.push_back(entries[i]->large.has_value());
  }
  return plan;
}

absl::StatusOr<uint64_t> ObjectStore::Sweep(const SweepPlan& plan,
                                            const std::function<bool(const Hash&)>& spare) {
  std::vector<size_t> gone;
  gone.reserve(plan.hashes.size());
  for (size_t i = 0; i < plan.hashes.size(); ++i) {
    if (!spare || !spare(plan.hashes[i])) gone.push_back(i);
  }
  if (gone.empty()) return 0;
  std::unique_lock sweeping(sweep_mu_);
  rocksdb::WriteBatch batch;
  uint64_t freed = 0;
  for (size_t i : gone) {
    const std::string_view key = plan.hashes[i].View();
    batch.Delete(db_->Family(kObjectsFamily), key);
    batch.Delete(db_->Family(kObjectIndexFamily), key);
    batch.Delete(db_->Family(kCompleteFamily), key);
    freed += plan.bytes[i];
  }
  VMS_RETURN_IF_ERROR(db_->Write(&batch, /*sync=*/true));
  rocksdb::FileSystem* fs = db_->raw()->GetFileSystem();
  bool trash_made = false;
  for (size_t i : gone) {
    if (!plan.large[i]) continue;
    if (!trash_made) {
      VMS_RETURN_IF_ERROR(
          FromRocks(fs->CreateDirIfMissing(trash_dir_, rocksdb::IOOptions(), nullptr),
                    "create large-trash/"));
      trash_made = true;
    }
    const Hash& h = plan.hashes[i];
    if (fs->RenameFile(LargePath(h), StrCat(trash_dir_, "/", h.Hex()), rocksdb::IOOptions(),
                       nullptr)
            .ok()) {
      large_bytes_.fetch_sub(plan.bytes[i], std::memory_order_relaxed);
    }
  }
  if (trash_made) {
    // Where each file went is durable: after a crash a file is in the trash
    // (emptied on open), not back under a name no entry has.
    std::unique_ptr<rocksdb::FSDirectory> dir;
    VMS_RETURN_IF_ERROR(FromRocks(fs->NewDirectory(trash_dir_, rocksdb::IOOptions(), &dir, nullptr),
                                  "open large-trash/"));
    VMS_RETURN_IF_ERROR(FromRocks(dir->Fsync(rocksdb::IOOptions(), nullptr), "sync large-trash/"));
  }
  return freed;
}

absl::Status ObjectStore::Reclaim() {
  VMS_RETURN_IF_ERROR(EmptyTrash());
  for (const char* family : {kObjectsFamily, kObjectIndexFamily}) {
    VMS_RETURN_IF_ERROR(CompactFamily(family));
  }
  return absl::OkStatus();
}

absl::Status ObjectStore::CompactFamily(const char* family) {
  rocksdb::DB* db = db_->raw();
  rocksdb::ColumnFamilyHandle* cf = db_->Family(family);
  // Deletions still in the memtable cover nothing in the files yet.
  VMS_RETURN_IF_ERROR(FromRocks(db->Flush(rocksdb::FlushOptions(), cf), StrCat("flush ", family)));
  rocksdb::ColumnFamilyMetaData meta;
  db->GetColumnFamilyMetaData(cf, &meta);
  std::vector<std::string> files;
  for (const rocksdb::LevelMetaData& level : meta.levels) {
    for (const rocksdb::SstFileMetaData& file : level.files) files.push_back(file.name);
  }
  if (files.empty()) return absl::OkStatus();
  rocksdb::CompactionOptions options;
  options.compression = rocksdb::kDisableCompressionOption;  // the family's own
  options.output_file_size_limit = 64 << 20;
  rocksdb::Status s =
      db->CompactFiles(options, cf, files, static_cast<int>(meta.levels.size()) - 1);
  if (s.ok()) return absl::OkStatus();
  // An automatic compaction holds some of the files: RocksDB's own threads
  // do it, after that one.
  spdlog::info("compacting {} in this thread: {}; on RocksDB's threads instead", family,
               s.ToString());
  rocksdb::CompactRangeOptions range;
  range.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForceOptimized;
  return FromRocks(db->CompactRange(range, cf, nullptr, nullptr), StrCat("compact ", family));
}

absl::Status ObjectStore::EmptyTrash() {
  rocksdb::FileSystem* fs = db_->raw()->GetFileSystem();
  std::vector<std::string> names;
  rocksdb::IOStatus s = fs->GetChildren(trash_dir_, rocksdb::IOOptions(), &names, nullptr);
  if (s.IsNotFound() || s.IsPathNotFound()) return absl::OkStatus();
  VMS_RETURN_IF_ERROR(FromRocks(s, "list large-trash/"));
  for (const std::string& name : names) {
    if (name == "." || name == "..") continue;
    VMS_RETURN_IF_ERROR(
        FromRocks(fs->DeleteFile(StrCat(trash_dir_, "/", name), rocksdb::IOOptions(), nullptr),
                  StrCat("remove large-trash/", name)));
  }
  return absl::OkStatus();
}

absl::Status ObjectStore::CheckAll(const CheckFn& fn) const {
  auto it = db_->NewIterator(kObjectIndexFamily);
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    auto hash = Hash::FromBytes(it->key().ToStringView());
    if (!hash.ok()) continue;
    auto o = GetEncoded(*hash);
    if (!o.ok()) {
      // Absent from the objects family though indexed: stored corrupt.
      fn(*hash, 0,
         absl::IsNotFound(o.status())
             ? absl::DataLossError(StrCat("object ", hash->Short(), " is stored corrupt"))
             : o.status());
      continue;
    }
    fn(*hash, o->data.size(), Verify(*hash, o->codec, o->raw_size, o->data));
  }
  return FromRocks(it->status(), "scan objects");
}

absl::StatusOr<std::string> ObjectStore::GetRaw(const Hash& hash) const {
  VMS_ASSIGN_OR_RETURN(auto o, GetEncoded(hash));
  return Decode(hash, o.codec, o.raw_size, o.data);
}

}  // namespace vms
