// A RocksDB file system that can lose power: writes reach the real files as
// usual, and it remembers how much of each file was synced (Sync/Fsync) and
// whether a new file's directory was synced since it was created. Cut()
// stops every write from then on (what a process does after the power went
// out never reaches the disk); DropUnsynced() then leaves the files as a
// power cut would: each truncated to what was synced, and new files whose
// directory was never synced gone. Modelled on LevelDB's
// FaultInjectionTestEnv.
//
// A kill -9 leaves the page cache intact and so cannot catch a missing
// fsync; this can. Use: open a store with env(), do acknowledged writes,
// Cut(), close the store, DropUnsynced(), open the store again normally.
#ifndef VMS_TESTS_TESTING_POWER_CUT_FS_H_
#define VMS_TESTS_TESTING_POWER_CUT_FS_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "core/sync.h"
#include "rocksdb/env.h"
#include "rocksdb/file_system.h"

namespace vms::testing {

class PowerCutFs : public rocksdb::FileSystemWrapper {
 public:
  PowerCutFs();
  static std::shared_ptr<PowerCutFs> Make() { return std::make_shared<PowerCutFs>(); }

  // An Env doing its file I/O here (for Db::Open); owned by this.
  rocksdb::Env* env();

  void Cut() { cut_ = true; }
  // The power goes out as the `n`th file (from now on) whose path starts with
  // `prefix` is deleted, or renamed: that operation and all after it are lost
  // (a crash in the middle of a sweep).
  enum class Op { kDelete, kRename };
  void CutAt(Op op, int n, std::string prefix);
  bool cut() const { return cut_; }
  // After Cut() and after the store is closed. Returns the bytes dropped
  // (unsynced tails and unsynced new files).
  uint64_t DropUnsynced();

  const char* Name() const override { return "PowerCutFs"; }
  rocksdb::IOStatus NewWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                    std::unique_ptr<rocksdb::FSWritableFile>* r,
                                    rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus ReopenWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                       std::unique_ptr<rocksdb::FSWritableFile>* r,
                                       rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus ReuseWritableFile(const std::string& f, const std::string& old,
                                      const rocksdb::FileOptions& o,
                                      std::unique_ptr<rocksdb::FSWritableFile>* r,
                                      rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus NewDirectory(const std::string& name, const rocksdb::IOOptions& o,
                                 std::unique_ptr<rocksdb::FSDirectory>* r,
                                 rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus RenameFile(const std::string& from, const std::string& to,
                               const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus DeleteFile(const std::string& f, const rocksdb::IOOptions& o,
                               rocksdb::IODebugContext* dbg) override;

  // Called by the file and directory wrappers.
  void Appended(const std::string& f, uint64_t bytes);
  void Synced(const std::string& f);
  void DirSynced(const std::string& dir);

 private:
  struct File {
    uint64_t size = 0;       // written
    uint64_t synced = 0;     // of which synced
    bool dir_synced = true;  // false: created (or renamed here) since its directory's last sync
  };
  rocksdb::IOStatus Track(const std::string& f, bool fresh,
                          std::unique_ptr<rocksdb::FSWritableFile>* r);

  std::atomic<bool> cut_{false};
  std::unique_ptr<rocksdb::Env> env_;
  Mutex mu_;
  std::map<std::string, File> files_ ABSL_GUARDED_BY(mu_);
  // Whether the power goes out at this `op` of `path`.
  bool CutsAt(Op op, const std::string& path);
  Op cut_op_ ABSL_GUARDED_BY(mu_) = Op::kDelete;
  int ops_left_ ABSL_GUARDED_BY(mu_) = 0;  // 0: no cut planned
  std::string cut_prefix_ ABSL_GUARDED_BY(mu_);
};

}  // namespace vms::testing

#endif  // VMS_TESTS_TESTING_POWER_CUT_FS_H_
