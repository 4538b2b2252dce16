#include "tests/testing/power_cut_fs.h"

#include <unistd.h>

#include <filesystem>

namespace vms::testing {

namespace {

std::string DirOf(const std::string& f) {
  return std::filesystem::path(f).parent_path().lexically_normal().string();
}

// Writes go through to the real file until the power is cut; syncs are
// recorded.
class CutFile : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  CutFile(std::unique_ptr<rocksdb::FSWritableFile> f, PowerCutFs* fs, std::string name)
      : FSWritableFileOwnerWrapper(std::move(f)), fs_(fs), name_(std::move(name)) {}

  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                           rocksdb::IODebugContext* dbg) override {
    if (fs_->cut()) return rocksdb::IOStatus::OK();  // lost with the power
    rocksdb::IOStatus s = FSWritableFileOwnerWrapper::Append(data, o, dbg);
    if (s.ok()) fs_->Appended(name_, data.size());
    return s;
  }
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                           const rocksdb::DataVerificationInfo&,
                           rocksdb::IODebugContext* dbg) override {
    return Append(data, o, dbg);
  }
  rocksdb::IOStatus PositionedAppend(const rocksdb::Slice&, uint64_t, const rocksdb::IOOptions&,
                                     rocksdb::IODebugContext*) override {
    return rocksdb::IOStatus::NotSupported("PowerCutFs: positioned appends");
  }
  rocksdb::IOStatus PositionedAppend(const rocksdb::Slice&, uint64_t, const rocksdb::IOOptions&,
                                     const rocksdb::DataVerificationInfo&,
                                     rocksdb::IODebugContext*) override {
    return rocksdb::IOStatus::NotSupported("PowerCutFs: positioned appends");
  }
  rocksdb::IOStatus Flush(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
    if (fs_->cut()) return rocksdb::IOStatus::OK();
    return FSWritableFileOwnerWrapper::Flush(o, dbg);
  }
  rocksdb::IOStatus Sync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
    return Synced(FSWritableFileOwnerWrapper::Sync(o, dbg));
  }
  rocksdb::IOStatus Fsync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
    return Synced(FSWritableFileOwnerWrapper::Fsync(o, dbg));
  }
  rocksdb::IOStatus RangeSync(uint64_t, uint64_t, const rocksdb::IOOptions&,
                              rocksdb::IODebugContext*) override {
    return rocksdb::IOStatus::OK();  // a hint to write back early, never a promise
  }
  rocksdb::IOStatus Close(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
    return FSWritableFileOwnerWrapper::Close(o, dbg);  // a close syncs nothing
  }

 private:
  rocksdb::IOStatus Synced(rocksdb::IOStatus s) {
    if (fs_->cut()) return rocksdb::IOStatus::OK();
    if (s.ok()) fs_->Synced(name_);
    return s;
  }
  PowerCutFs* fs_;
  std::string name_;
};

class CutDir : public rocksdb::FSDirectoryWrapper {
 public:
  CutDir(std::unique_ptr<rocksdb::FSDirectory> d, PowerCutFs* fs, std::string name)
      : FSDirectoryWrapper(std::move(d)), fs_(fs), name_(std::move(name)) {}
  rocksdb::IOStatus Fsync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
    if (fs_->cut()) return rocksdb::IOStatus::OK();
    rocksdb::IOStatus s = FSDirectoryWrapper::Fsync(o, dbg);
    if (s.ok()) fs_->DirSynced(name_);
    return s;
  }
  rocksdb::IOStatus FsyncWithDirOptions(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg,
                                        const rocksdb::DirFsyncOptions&) override {
    return Fsync(o, dbg);
  }

 private:
  PowerCutFs* fs_;
  std::string name_;
};

}  // namespace

PowerCutFs::PowerCutFs() : FileSystemWrapper(rocksdb::FileSystem::Default()) {}

rocksdb::Env* PowerCutFs::env() {
  if (env_ == nullptr) {
    env_ = rocksdb::NewCompositeEnv(std::shared_ptr<rocksdb::FileSystem>(this, [](auto*) {}));
  }
  return env_.get();
}

rocksdb::IOStatus PowerCutFs::Track(const std::string& f, bool fresh,
                                    std::unique_ptr<rocksdb::FSWritableFile>* r) {
  std::string name = std::filesystem::path(f).lexically_normal().string();
  {
    MutexLock lock(&mu_);
    if (fresh) {
      files_[name] = File{.size = 0, .synced = 0, .dir_synced = false};
    } else if (files_.count(name) == 0) {
      std::error_code ec;
      uint64_t size = std::filesystem::file_size(name, ec);
      files_[name] = File{.size = size, .synced = size, .dir_synced = true};  // there before
    }
  }
  *r = std::make_unique<CutFile>(std::move(*r), this, name);
  return rocksdb::IOStatus::OK();
}

rocksdb::IOStatus PowerCutFs::NewWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                              std::unique_ptr<rocksdb::FSWritableFile>* r,
                                              rocksdb::IODebugContext* dbg) {
  if (cut_) return rocksdb::IOStatus::IOError("PowerCutFs: the power is off");
  rocksdb::IOStatus s = target()->NewWritableFile(f, o, r, dbg);
  if (!s.ok()) return s;
  return Track(f, /*fresh=*/true, r);
}

rocksdb::IOStatus PowerCutFs::ReopenWritableFile(const std::string& f,
                                                 const rocksdb::FileOptions& o,
                                                 std::unique_ptr<rocksdb::FSWritableFile>* r,
                                                 rocksdb::IODebugContext* dbg) {
  if (cut_) return rocksdb::IOStatus::IOError("PowerCutFs: the power is off");
  bool existed = std::filesystem::exists(f);
  rocksdb::IOStatus s = target()->ReopenWritableFile(f, o, r, dbg);
  if (!s.ok()) return s;
  return Track(f, /*fresh=*/!existed, r);
}

rocksdb::IOStatus PowerCutFs::ReuseWritableFile(const std::string&, const std::string&,
                                                const rocksdb::FileOptions&,
                                                std::unique_ptr<rocksdb::FSWritableFile>*,
                                                rocksdb::IODebugContext*) {
  return rocksdb::IOStatus::NotSupported("PowerCutFs: recycled logs");
}

rocksdb::IOStatus PowerCutFs::NewDirectory(const std::string& name, const rocksdb::IOOptions& o,
                                           std::unique_ptr<rocksdb::FSDirectory>* r,
                                           rocksdb::IODebugContext* dbg) {
  rocksdb::IOStatus s = target()->NewDirectory(name, o, r, dbg);
  if (!s.ok()) return s;
  *r = std::make_unique<CutDir>(std::move(*r), this,
                                std::filesystem::path(name).lexically_normal().string());
  return s;
}

rocksdb::IOStatus PowerCutFs::RenameFile(const std::string& from, const std::string& to,
                                         const rocksdb::IOOptions& o,
                                         rocksdb::IODebugContext* dbg) {
  if (CutsAt(Op::kRename, std::filesystem::path(from).lexically_normal().string()) || cut_) {
    return rocksdb::IOStatus::OK();
  }
  rocksdb::IOStatus s = target()->RenameFile(from, to, o, dbg);
  if (!s.ok()) return s;
  std::string a = std::filesystem::path(from).lexically_normal().string();
  std::string b = std::filesystem::path(to).lexically_normal().string();
  MutexLock lock(&mu_);
  File file;
  if (auto it = files_.find(a); it != files_.end()) {
    file = it->second;
    files_.erase(it);
  } else {
    std::error_code ec;
    uint64_t size = std::filesystem::file_size(b, ec);
    file = File{.size = size, .synced = size};
  }
  file.dir_synced = false;  // the new name is durable once the directory is synced
  files_[b] = file;
  return s;
}

rocksdb::IOStatus PowerCutFs::DeleteFile(const std::string& f, const rocksdb::IOOptions& o,
                                         rocksdb::IODebugContext* dbg) {
  std::string name = std::filesystem::path(f).lexically_normal().string();
  if (CutsAt(Op::kDelete, name) || cut_) return rocksdb::IOStatus::OK();
  rocksdb::IOStatus s = target()->DeleteFile(f, o, dbg);
  if (s.ok()) {
    MutexLock lock(&mu_);
    files_.erase(name);
  }
  return s;
}

void PowerCutFs::CutAt(Op op, int n, std::string prefix) {
  MutexLock lock(&mu_);
  cut_op_ = op;
  ops_left_ = n;
  cut_prefix_ = std::filesystem::path(prefix).lexically_normal().string();
}

bool PowerCutFs::CutsAt(Op op, const std::string& path) {
  MutexLock lock(&mu_);
  if (ops_left_ == 0 || op != cut_op_ || !path.starts_with(cut_prefix_)) return false;
  if (--ops_left_ == 0) cut_ = true;
  return cut_;
}

void PowerCutFs::Appended(const std::string& f, uint64_t bytes) {
  MutexLock lock(&mu_);
  files_[f].size += bytes;
}

void PowerCutFs::Synced(const std::string& f) {
  MutexLock lock(&mu_);
  File& file = files_[f];
  file.synced = file.size;
}

void PowerCutFs::DirSynced(const std::string& dir) {
  MutexLock lock(&mu_);
  for (auto& [name, file] : files_) {
    if (DirOf(name) == dir) file.dir_synced = true;
  }
}

uint64_t PowerCutFs::DropUnsynced() {
  uint64_t dropped = 0;
  MutexLock lock(&mu_);
  for (const auto& [name, file] : files_) {
    std::error_code ec;
    uint64_t size = std::filesystem::file_size(name, ec);
    if (ec) continue;
    if (!file.dir_synced) {
      dropped += size;
      std::filesystem::remove(name, ec);
    } else if (size > file.synced) {
      dropped += size - file.synced;
      if (truncate(name.c_str(), static_cast<off_t>(file.synced)) != 0) continue;
    }
  }
  files_.clear();
  return dropped;
}

}  // namespace vms::testing
