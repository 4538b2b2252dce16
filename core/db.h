// A RocksDB database with named column families: the one storage engine of
// every vms daemon.
//
// Open() creates missing column families and tunes each for what it holds:
// "objects" stores already-compressed object bytes, large values in blob
// files; every other family holds small records. Db is thread-safe (RocksDB
// is); conversions from rocksdb::Status happen here and nowhere else.
#ifndef VMS_CORE_DB_H_
#define VMS_CORE_DB_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"

namespace vms {

absl::Status FromRocks(const rocksdb::Status& s, std::string_view what);

inline constexpr char kObjectsFamily[] = "objects";
inline constexpr char kObjectIndexFamily[] = "objidx";
inline constexpr char kCompleteFamily[] = "complete";

class Db {
 public:
  // Opens (creating if needed) the database at `path` with the families
  // named. Fails with Unavailable if another process holds it. `env`, when
  // given, is what RocksDB does its I/O through (the seam where a test
  // puts a file system that loses unsynced writes, as a power cut does:
  // tests/testing/power_cut_fs.h); it must outlive the Db.
  static absl::StatusOr<std::unique_ptr<Db>> Open(const std::string& path,
                                                  const std::vector<std::string>& families,
                                                  rocksdb::Env* env = nullptr);
  ~Db();

  const std::string& path() const { return path_; }
  // RocksDB is thread-safe; const here means the Db wrapper is not changed.
  rocksdb::DB* raw() const { return db_.get(); }
  // The handle of a family given to Open(); crashes on an unknown name.
  rocksdb::ColumnFamilyHandle* Family(const std::string& name) const;
  // The handle of `name`, or null when the database was not opened with it.
  rocksdb::ColumnFamilyHandle* FindFamily(const std::string& name) const;
  // The names of the families it was opened with.
  std::vector<std::string> FamilyNames() const;
  // The name of the family with this id ("" : none).
  std::string FamilyName(uint32_t id) const;

  // Point read: nullopt when absent.
  absl::StatusOr<std::optional<std::string>> Get(const std::string& family,
                                                 std::string_view key) const;
  // Applies `batch` atomically. `sync` waits until it is on disk: use it for
  // every write a caller acknowledges as durable.
  absl::Status Write(rocksdb::WriteBatch* batch, bool sync);
  std::unique_ptr<rocksdb::Iterator> NewIterator(const std::string& family) const;
  // Writes what is in memory out to tables, so that the next Open has no log
  // to replay (a vms-fuse handing its mount over does it while still serving).
  absl::Status Flush();
  // Bytes on disk: every family's tables and blob files, and the log.
  uint64_t SizeBytes() const;

 private:
  Db() = default;
  std::unique_ptr<rocksdb::DB> db_;
  std::map<std::string, rocksdb::ColumnFamilyHandle*> families_;
  std::string path_;
};

}  // namespace vms

#endif  // VMS_CORE_DB_H_
