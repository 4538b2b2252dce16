#include "client/scan.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "absl/base/thread_annotations.h"
#include "core/chunker.h"
#include "core/file_util.h"
#include "core/names.h"
#include "core/status_macros.h"
#include "core/strings.h"
#include "core/sync.h"
#include "core/tree.h"

namespace vms {

namespace {

struct FileDigest {
  Hash hash;  // blob, or chunk list when chunked
  bool chunked = false;
  std::string chunk_list;
  std::vector<ChunkRef> chunks;
};

struct Node {
  std::string name;
  EntryType type = EntryType::kFile;
  bool exec = false;
  std::string target;  // symlink
  ScannedFile file;    // regular file
  FileDigest digest;   // regular file, filled by its directory's task
  std::vector<Node> children;
};

const char* SpecialKind(mode_t mode) {
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  return "an unsupported file type";
}

absl::Status Refuse(const std::string& path, std::string_view why) {
  return absl::InvalidArgumentError(
      StrCat("cannot push ", ShortPath(path), ": ", why,
             "; a version holds only directories, regular files and symlinks"));
}

// A version is served to every user of every host: what its owner has kept
// from others (a key, a root-only config) must not become world-readable.
absl::Status CheckReadableByOthers(const std::string& path, const struct stat& st) {
  const bool dir = S_ISDIR(st.st_mode);
  const mode_t need = dir ? (S_IROTH | S_IXOTH) : S_IROTH;
  if ((st.st_mode & need) == need) return absl::OkStatus();
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
  return absl::PermissionDeniedError(
      StrCat("cannot push ", ShortPath(path), ": ", dir ? "directory" : "file", " mode ", mode,
             " keeps it from other users, and every host would serve it to every user; if it is "
             "meant to be public, `chmod ",
             dir ? "o+rx" : "o+r",
             "` it (or `chmod -R o+rX` the tree), "
             "else leave it out of the version"));
}

// Reads the entries of the directory `path` into `dir->children`. Only the
// top directory may be reached through a symlink (e.g. ~/dev/app/current).
absl::Status ListDir(const std::string& path, bool top, const ShapeLimits& limits, Node* dir,
                     uint64_t* file_count) {
  Fd dir_fd(open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | (top ? 0 : O_NOFOLLOW)));
  if (!dir_fd.valid()) return ErrnoError(errno, StrCat("cannot read directory ", ShortPath(path)));
  DIR* d = fdopendir(dir_fd.get());
  if (d == nullptr) return ErrnoError(errno, StrCat("cannot read directory ", ShortPath(path)));
  dir_fd.Release();  // now owned by `d`
  std::unique_ptr<DIR, int (*)(DIR*)> closer(d, closedir);
  int fd = ::dirfd(d);
  errno = 0;
  while (dirent* ent = readdir(d)) {
    std::string name = ent->d_name;
    if (name == "." || name == "..") continue;
    if (dir->children.size() == limits.dir_entries) {
      return absl::InvalidArgumentError(StrCat(
          "cannot push ", ShortPath(path), ": it has more than ", limits.dir_entries,
          " entries, and every host lists a directory whole; split it into subdirectories, or "
          "raise the bound with --max-dir-entries (the master's too: vms-master "
          "--max-dir-entries)"));
    }
    std::string child_path = StrCat(path, "/", name);
    if (absl::Status s = ValidateEntryName(name); !s.ok())
      return Refuse(child_path, Sv(s.message()));
    struct stat st;
    if (fstatat(fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      return ErrnoError(errno, StrCat("cannot stat ", ShortPath(child_path)));
    }
    if (!S_ISLNK(st.st_mode)) {
      VMS_RETURN_IF_ERROR(CheckReadableByOthers(child_path, st));
    }
    Node node;
    node.name = std::move(name);
    if (S_ISDIR(st.st_mode)) {
      node.type = EntryType::kDir;
    } else if (S_ISREG(st.st_mode)) {
      node.type = EntryType::kFile;
      node.exec = (st.st_mode & S_IXUSR) != 0;  // setuid/setgid/sticky are dropped
      node.file = {child_path, StatKey::Of(st)};
      ++*file_count;
    } else if (S_ISLNK(st.st_mode)) {
      node.type = EntryType::kSymlink;
      std::string target(PATH_MAX, '\0');
      ssize_t n = readlinkat(fd, node.name.c_str(), target.data(), target.size());
      if (n < 0) return ErrnoError(errno, StrCat("cannot read symlink ", ShortPath(child_path)));
      target.resize(n);
      if (absl::Status s = ValidateSymlinkTarget(target); !s.ok()) {
        return Refuse(child_path, Sv(s.message()));
      }
      node.target = std::move(target);
    } else {
      return Refuse(child_path, StrCat("it is ", SpecialKind(st.st_mode)));
    }
    dir->children.push_back(std::move(node));
    errno = 0;
  }
  if (errno != 0) return ErrnoError(errno, StrCat("cannot read directory ", ShortPath(path)));
  return absl::OkStatus();
}

absl::Status ReadFully(int fd, char* buf, size_t len, uint64_t offset, const std::string& path,
                       size_t* got) {
  *got = 0;
  while (*got < len) {
    ssize_t n = pread(fd, buf + *got, len - *got, offset + *got);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError(errno, StrCat("cannot read ", ShortPath(path)));
    }
    if (n == 0) break;
    *got += n;
  }
  return absl::OkStatus();
}

absl::Status Changed(const std::string& path) {
  return absl::AbortedError(
      StrCat(ShortPath(path), " changed while it was being read; push again"));
}

// Where `at` is: in a hole or in data, up to `end`.
struct Extent {
  bool hole = false;
  uint64_t end = 0;
};

Extent ExtentAt(int fd, uint64_t at, uint64_t size) {
  off_t data = lseek(fd, static_cast<off_t>(at), SEEK_DATA);
  if (data < 0) {
    // ENXIO: a hole to the end. Anything else (no SEEK_DATA here): all data.
    return errno == ENXIO ? Extent{true, size} : Extent{false, UINT64_MAX};
  }
  if (static_cast<uint64_t>(data) > at) return {true, static_cast<uint64_t>(data)};
  off_t hole = lseek(fd, static_cast<off_t>(at), SEEK_HOLE);
  return {false, hole <= static_cast<off_t>(at) ? UINT64_MAX : static_cast<uint64_t>(hole)};
}

// The chunk that starts with max_size zeros ahead of it.
ChunkRef ZeroChunk(const Chunker& chunker) {
  const std::string zeros(chunker.max_size(), '\0');
  size_t n = chunker.Cut(reinterpret_cast<const uint8_t*>(zeros.data()), zeros.size());
  return {n, Sha256(std::string_view(zeros.data(), n))};
}

// Hashes one file, chunking it when large. Checks that it is still the file
// that was walked, and that its size did not change while reading.
absl::StatusOr<FileDigest> HashFile(const ScannedFile& f, const Chunker& chunker) {
  Fd fd(open(f.path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) return ErrnoError(errno, StrCat("cannot read ", ShortPath(f.path)));
  struct stat st;
  if (fstat(fd.get(), &st) != 0)
    return ErrnoError(errno, StrCat("cannot stat ", ShortPath(f.path)));
  if (StatKey::Of(st).ino != f.stat.ino || static_cast<uint64_t>(st.st_size) != f.stat.size) {
    return Changed(f.path);
  }
  posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
  thread_local std::string buf;
  FileDigest digest;
  size_t got;
  if (f.stat.size <= kChunkThreshold) {
    buf.resize(f.stat.size + 1);  // one more byte: notices a file that grew
    if (auto s = ReadFully(fd.get(), buf.data(), buf.size(), 0, f.path, &got); !s.ok()) return s;
    if (got != f.stat.size) return Changed(f.path);
    digest.hash = Sha256(std::string_view(buf.data(), got));
    return digest;
  }
  // Large file: a sliding window of two maximal chunks, refilled as it drains.
  buf.resize(2 * chunker.max_size());
  size_t start = 0, end = 0;
  uint64_t file_offset = 0;  // file offset of buf[0]
  bool eof = false;
  // Holes (SEEK_DATA/SEEK_HOLE) are not read: where the next max_size bytes
  // are all a hole, the chunk there is the one a run of zeros always makes
  // (a cut depends only on the bytes up to max_size ahead), so the chunks are
  // exactly those of reading every zero.
  Extent extent;
  std::optional<ChunkRef> zero_chunk;
  while (true) {
    const uint64_t at = file_offset + start;
    if (at >= extent.end) extent = ExtentAt(fd.get(), at, f.stat.size);
    if (extent.hole && extent.end - at >= chunker.max_size()) {
      if (!zero_chunk) zero_chunk = ZeroChunk(chunker);
      digest.chunks.push_back(*zero_chunk);
      if (end - start >= zero_chunk->size) {
        start += zero_chunk->size;
      } else {  // past what was read: read again from after the chunk
        file_offset = at + zero_chunk->size;
        start = end = 0;
        eof = false;
      }
      continue;
    }
    if (!eof && end - start < chunker.max_size()) {
      std::memmove(buf.data(), buf.data() + start, end - start);
      file_offset += start;
      end -= start;
      start = 0;
      if (auto s = ReadFully(fd.get(), buf.data() + end, buf.size() - end, file_offset + end,
                             f.path, &got);
          !s.ok()) {
        return s;
      }
      end += got;
      eof = end < buf.size();
    }
    if (start == end) break;
    size_t n = chunker.Cut(reinterpret_cast<const uint8_t*>(buf.data() + start), end - start);
    digest.chunks.push_back({n, Sha256(std::string_view(buf.data() + start, n))});
    start += n;
  }
  if (file_offset + end != f.stat.size) return Changed(f.path);
  digest.chunked = true;
  digest.chunk_list = EncodeChunkList(digest.chunks);
  digest.hash = Sha256(digest.chunk_list);
  return digest;
}

// Walks and hashes in one pass on the pool: each directory is a task that
// lists its entries, queues its subdirectories as new tasks, then hashes its
// own files. Walking and hashing thus overlap and keep every core busy.
// A node's children are complete before any task sees a pointer into them.
class ParallelScan {
 public:
  explicit ParallelScan(const ScanOptions& options) : options_(options) {}

  absl::Status Run(const std::string& path, Node* root) {
    root_ = root;
    Spawn(path, root, 0);
    MutexLock lock(&mu_);
    while (pending_ != 0) done_cv_.Wait();
    return error_;
  }

 private:
  // `depth`: directories between the top and `node` (0 for the top).
  void Spawn(std::string path, Node* node, uint64_t depth) {
    {
      MutexLock lock(&mu_);
      ++pending_;
    }
    options_.pool->Submit([this, path = std::move(path), node, depth] {
      if (!failed_.load(std::memory_order_relaxed)) {
        if (absl::Status s = ScanDir(path, node, depth); !s.ok()) Fail(std::move(s));
      }
      MutexLock lock(&mu_);
      if (--pending_ == 0) done_cv_.SignalAll();
    });
  }

  void Fail(absl::Status s) {
    MutexLock lock(&mu_);
    if (!failed_.exchange(true)) error_ = std::move(s);
  }

  absl::Status ScanDir(const std::string& path, Node* dir, uint64_t depth) {
    const ShapeLimits& limits = options_.limits;
    if (depth > limits.depth) {
      return absl::InvalidArgumentError(
          StrCat("cannot push ", ShortPath(path), ": it is nested ", depth,
                 " directories deep, more than the bound of ", limits.depth,
                 "; flatten the tree, or raise the bound with --max-depth"));
    }
    uint64_t files = 0;
    VMS_RETURN_IF_ERROR(ListDir(path, dir == root_, limits, dir, &files));
    if (options_.progress) options_.progress->files_total += files;
    if (uint64_t total = files_ += files; total > limits.files) {
      return absl::InvalidArgumentError(StrCat(
          "cannot push: the version has more than ", limits.files,
          " files, and every host walks a version's trees; split it into several apps, or raise "
          "the bound with --max-files (the master's too: vms-master --max-files)"));
    }
    for (Node& child : dir->children) {
      if (child.type == EntryType::kDir) Spawn(StrCat(path, "/", child.name), &child, depth + 1);
    }
    for (Node& child : dir->children) {
      if (child.type != EntryType::kFile) continue;
      if (failed_.load(std::memory_order_relaxed)) return absl::OkStatus();
      VMS_RETURN_IF_ERROR(Digest(&child));
    }
    return absl::OkStatus();
  }

  absl::Status Digest(Node* node) {
    const ScannedFile& f = node->file;
    FileDigest& d = node->digest;
    std::optional<CachedDigest> cached =
        options_.cache ? options_.cache->Find(f.stat) : std::nullopt;
    bool hit = false;
    if (cached) {
      d.hash = cached->hash;
      d.chunked = cached->chunked;
      hit = !d.chunked;
      if (d.chunked) {
        auto chunks = DecodeChunkList(cached->chunk_list);
        if (chunks.ok()) {  // else a bad cache entry: read the file instead
          d.chunk_list = std::move(cached->chunk_list);
          d.chunks = std::move(*chunks);
          hit = true;
        }
      }
    }
    if (!hit) {
      VMS_ASSIGN_OR_RETURN(auto fresh, HashFile(f, chunker_));
      d = std::move(fresh);
      if (options_.cache) options_.cache->Remember(f.stat, {d.hash, d.chunked, d.chunk_list});
    }
    if (options_.progress) {
      options_.progress->files_hashed.fetch_add(1, std::memory_order_relaxed);
      options_.progress->bytes_hashed.fetch_add(f.stat.size, std::memory_order_relaxed);
    }
    return absl::OkStatus();
  }

  const ScanOptions& options_;
  const Chunker chunker_;
  Node* root_ = nullptr;
  std::atomic<bool> failed_{false};
  std::atomic<uint64_t> files_{0};  // listed so far
  Mutex mu_;
  CondVar done_cv_{&mu_};
  int pending_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status error_ ABSL_GUARDED_BY(mu_);
};

// Encodes the scanned nodes bottom-up into tree objects and lists every
// distinct object with where its bytes come from.
class Builder {
 public:
  explicit Builder(Snapshot* snap) : snap_(snap) {}

  struct Built {
    Hash hash;
    uint64_t bytes = 0;  // of files below
    size_t object = 0;   // index in snap_->objects
  };

  absl::StatusOr<Built> Tree(Node& dir, const std::string& path) {
    ++snap_->dirs;
    std::vector<TreeEntry> entries;
    entries.reserve(dir.children.size());
    std::vector<size_t> children;
    uint64_t total = 0;
    for (Node& c : dir.children) {
      TreeEntry e;
      e.name = c.name;
      e.type = c.type;
      switch (c.type) {
        case EntryType::kDir: {
          VMS_ASSIGN_OR_RETURN(auto sub, Tree(c, StrCat(path, "/", c.name)));
          e.hash = sub.hash;
          e.size = sub.bytes;
          children.push_back(sub.object);
          break;
        }
        case EntryType::kFile:
          e.exec = c.exec;
          e.chunked = c.digest.chunked;
          e.hash = c.digest.hash;
          e.size = c.file.stat.size;
          ++snap_->files;
          snap_->bytes += e.size;
          AddFile(c, &children);
          break;
        case EntryType::kSymlink:
          e.target = c.target;
          ++snap_->symlinks;
          break;
      }
      total += c.type == EntryType::kSymlink ? 0 : e.size;
      entries.push_back(std::move(e));
    }
    auto encoded = EncodeTree(std::move(entries));
    if (!encoded.ok()) return Refuse(path, Sv(encoded.status().message()));
    Hash h = Sha256(*encoded);
    auto [index, fresh] =
        Add({.hash = h, .size = encoded->size(), .inline_data = std::move(*encoded)});
    if (fresh) snap_->trees.push_back({index, std::move(children)});
    return Built{h, total, index};
  }

 private:
  // Adds `o` unless an object with its hash is there; returns its index and
  // whether it was new.
  std::pair<size_t, bool> Add(ObjectSource o) {
    auto [it, fresh] = index_.emplace(o.hash, snap_->objects.size());
    if (fresh) snap_->objects.push_back(std::move(o));
    return {it->second, fresh};
  }

  void AddFile(Node& node, std::vector<size_t>* children) {
    const FileDigest& d = node.digest;
    int file = static_cast<int>(snap_->file_list.size());
    uint64_t size = node.file.stat.size;
    snap_->file_list.push_back(std::move(node.file));
    if (!d.chunked) {
      children->push_back(Add({.hash = d.hash, .size = size, .file = file}).first);
      return;
    }
    children->push_back(
        Add({.hash = d.hash, .size = d.chunk_list.size(), .inline_data = d.chunk_list}).first);
    uint64_t offset = 0;
    for (const ChunkRef& c : d.chunks) {
      children->push_back(
          Add({.hash = c.hash, .size = c.size, .file = file, .offset = offset}).first);
      offset += c.size;
    }
  }

  Snapshot* snap_;
  std::unordered_map<Hash, size_t, HashHasher> index_;
};

}  // namespace

absl::StatusOr<Snapshot> ScanTree(const std::string& dir, const ScanOptions& options) {
  struct stat st;
  if (stat(dir.c_str(), &st) != 0) {
    return ErrnoError(errno,
                      StrCat("cannot push ", ShortPath(dir), " (give the version's directory)"));
  }
  if (!S_ISDIR(st.st_mode)) {
    return absl::InvalidArgumentError(StrCat("cannot push ", ShortPath(dir), ": not a directory"));
  }
  std::string base = dir.size() > 1 && dir.back() == '/' ? dir.substr(0, dir.size() - 1) : dir;
  Node root;
  root.type = EntryType::kDir;
  ParallelScan scan(options);
  VMS_RETURN_IF_ERROR(scan.Run(base, &root));

  Snapshot snap;
  Builder builder(&snap);
  VMS_ASSIGN_OR_RETURN(auto top, builder.Tree(root, base));
  snap.root = top.hash;
  return snap;
}

std::vector<bool> CoveredObjects(const Snapshot& snapshot, std::span<const Hash> complete) {
  std::vector<bool> covered(snapshot.objects.size(), false);
  std::unordered_set<Hash, HashHasher> roots(complete.begin(), complete.end());
  // Trees are listed children first, so walking them in reverse visits every
  // parent before its children and a single pass propagates coverage down.
  for (auto it = snapshot.trees.rbegin(); it != snapshot.trees.rend(); ++it) {
    if (roots.count(snapshot.objects[it->object].hash)) covered[it->object] = true;
    if (!covered[it->object]) continue;
    for (size_t child : it->children) covered[child] = true;
  }
  return covered;
}

}  // namespace vms
