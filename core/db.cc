#include "core/db.h"

#include <cstdlib>

#include "core/check.h"
#include "core/strings.h"
#include "rocksdb/cache.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/options.h"
#include "rocksdb/table.h"
#include "rocksdb/write_buffer_manager.h"

namespace vms {

absl::Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return absl::OkStatus();
  std::string msg = StrCat(what, ": ", s.ToString());
  if (s.IsNotFound()) return absl::NotFoundError(msg);
  if (s.IsCorruption()) return absl::DataLossError(msg);
  if (s.IsIOError() && s.ToString().find("lock") != std::string::npos) {
    return absl::UnavailableError(StrCat(msg, " (is another process using this data directory?)"));
  }
  if (s.IsNoSpace()) return absl::ResourceExhaustedError(msg);
  if (s.IsInvalidArgument()) return absl::InvalidArgumentError(msg);
  return absl::InternalError(msg);
}

namespace {

// Memory: every family's tables share one block cache, and every family's
// memtables one write budget: memtables are flushed (big objects to blob
// files) once it is spent, and writers wait while flushes catch up, so what
// a daemon holds stays bounded whatever is pushed through it. Measured on
// tools/bench --big: the replica's peak 721 MiB -> ~470 MiB (with
// LimitMallocArenas), push + replicate within the run-to-run noise.
constexpr size_t kBlockCacheBytes = 32 << 20;
constexpr size_t kWriteBufferBytes = 64 << 20;

rocksdb::ColumnFamilyOptions FamilyOptions(const std::string& name,
                                           const std::shared_ptr<rocksdb::Cache>& cache) {
  rocksdb::ColumnFamilyOptions o;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = cache;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  if (name == kObjectsFamily) {
    // Values are zstd frames already; keep big ones out of the LSM so that
    // compaction never rewrites them.
    o.compression = rocksdb::kNoCompression;
    o.enable_blob_files = true;
    o.min_blob_size = 16 << 10;
    o.blob_file_size = 256 << 20;
    o.blob_compression_type = rocksdb::kNoCompression;
    // Deleted objects (host cache eviction, quarantine) give their space back.
    o.enable_blob_garbage_collection = true;
    o.write_buffer_size = 32 << 20;
    o.max_write_buffer_number = 3;
  } else {
    o.compression = rocksdb::kLZ4Compression;
  }
  return o;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Db>> Db::Open(const std::string& path,
                                             const std::vector<std::string>& families,
                                             rocksdb::Env* env) {
  rocksdb::DBOptions options;
  if (env != nullptr) options.env = env;
  options.create_if_missing = true;
  options.create_missing_column_families = true;
  options.max_background_jobs = 2;
  options.bytes_per_sync = 1 << 20;
  options.info_log_level = rocksdb::WARN_LEVEL;
  options.keep_log_file_num = 3;
  options.write_buffer_manager = std::make_shared<rocksdb::WriteBufferManager>(
      kWriteBufferBytes, /*cache=*/nullptr, /*allow_stall=*/true);
  std::shared_ptr<rocksdb::Cache> cache = rocksdb::NewLRUCache(kBlockCacheBytes);

  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  descriptors.emplace_back(rocksdb::kDefaultColumnFamilyName, FamilyOptions("default", cache));
  for (const std::string& f : families) descriptors.emplace_back(f, FamilyOptions(f, cache));

  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, path, descriptors, &handles, &raw);
  if (!s.ok()) return FromRocks(s, StrCat("cannot open database ", path));

  auto db = std::unique_ptr<Db>(new Db());
  db->db_.reset(raw);
  db->path_ = path;
  for (size_t i = 0; i < descriptors.size(); ++i) db->families_[descriptors[i].name] = handles[i];
  return db;
}

Db::~Db() {
  for (auto& [name, handle] : families_) db_->DestroyColumnFamilyHandle(handle);
  families_.clear();
  db_->Close();
}

absl::Status Db::Flush() {
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  for (const auto& [name, handle] : families_) handles.push_back(handle);
  rocksdb::Status s = db_->Flush(rocksdb::FlushOptions(), handles);
  if (!s.ok()) return FromRocks(s, StrCat("cannot flush ", path_));
  return absl::OkStatus();
}

rocksdb::ColumnFamilyHandle* Db::FindFamily(const std::string& name) const {
  auto it = families_.find(name);
  return it == families_.end() ? nullptr : it->second;
}

std::vector<std::string> Db::FamilyNames() const {
  std::vector<std::string> names;
  for (const auto& [name, handle] : families_) names.push_back(name);
  return names;
}

std::string Db::FamilyName(uint32_t id) const {
  for (const auto& [name, handle] : families_) {
    if (handle->GetID() == id) return name;
  }
  return "";
}

rocksdb::ColumnFamilyHandle* Db::Family(const std::string& name) const {
  auto it = families_.find(name);
  VMS_CHECK(it != families_.end(), "a column family the database was not opened with: " + name);
  return it->second;
}

uint64_t Db::SizeBytes() const {
  uint64_t total = 0;
  for (const auto& [name, family] : families_) {
    for (const char* property : {"rocksdb.total-sst-files-size", "rocksdb.total-blob-file-size"}) {
      uint64_t v = 0;
      if (db_->GetIntProperty(family, property, &v)) total += v;
    }
  }
  rocksdb::VectorLogPtr logs;
  if (db_->GetSortedWalFiles(logs).ok()) {
    for (const auto& log : logs) total += log->SizeFileBytes();
  }
  return total;
}

absl::StatusOr<std::optional<std::string>> Db::Get(const std::string& family,
                                                   std::string_view key) const {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), Family(family), key, &value);
  if (s.IsNotFound()) return std::nullopt;
  if (!s.ok()) return FromRocks(s, StrCat("read ", family));
  return value;
}

absl::Status Db::Write(rocksdb::WriteBatch* batch, bool sync) {
  rocksdb::WriteOptions wo;
  wo.sync = sync;
  rocksdb::Status s = db_->Write(wo, batch);
  if (s.IsNoSpace() || s.IsIOError()) {
    // A failed write (a full disk) leaves RocksDB refusing every write
    // until it is resumed: once space is back, this write resumes it.
    if (db_->Resume().ok()) s = db_->Write(wo, batch);
  }
  return FromRocks(s, StrCat("write to ", path_));
}

std::unique_ptr<rocksdb::Iterator> Db::NewIterator(const std::string& family) const {
  return std::unique_ptr<rocksdb::Iterator>(
      db_->NewIterator(rocksdb::ReadOptions(), Family(family)));
}

}  // namespace vms
