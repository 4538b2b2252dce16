#include "client/scan.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <unordered_map>

#include "core/chunker.h"
#include "core/file_util.h"
#include "core/names.h"
#include "core/strings.h"
#include "core/tree.h"

namespace vms {

namespace {

struct Node {
  std::string name;
  EntryType type = EntryType::kFile;
  bool exec = false;
  std::string target;  // symlink
  int file = -1;       // index into the file list
  std::vector<Node> children;
};

struct FileDigest {
  Hash hash;  // blob, or chunk list when chunked
  bool chunked = false;
  std::string chunk_list;
  std::vector<ChunkRef> chunks;
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
      StrCat("cannot push ", path, ": ", why,
             "; a version holds only directories, regular files and symlinks"));
}

// Reads the directory at `dirfd` (owned) into `dir`, recursing into children.
absl::Status Walk(Fd dir_fd, const std::string& path, Node* dir, std::vector<ScannedFile>* files) {
  DIR* d = fdopendir(dir_fd.get());
  if (d == nullptr) return ErrnoError(errno, StrCat("cannot read directory ", path));
  dir_fd.Release();  // now owned by `d`
  std::unique_ptr<DIR, int (*)(DIR*)> closer(d, closedir);
  int fd = ::dirfd(d);
  errno = 0;
  while (dirent* ent = readdir(d)) {
    std::string name = ent->d_name;
    if (name == "." || name == "..") continue;
    std::string child_path = StrCat(path, "/", name);
    if (absl::Status s = ValidateEntryName(name); !s.ok()) return Refuse(child_path, Sv(s.message()));
    struct stat st;
    if (fstatat(fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      return ErrnoError(errno, StrCat("cannot stat ", child_path));
    }
    Node node;
    node.name = std::move(name);
    if (S_ISDIR(st.st_mode)) {
      node.type = EntryType::kDir;
      Fd sub(openat(fd, node.name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!sub.valid()) return ErrnoError(errno, StrCat("cannot read directory ", child_path));
      if (absl::Status s = Walk(std::move(sub), child_path, &node, files); !s.ok()) return s;
    } else if (S_ISREG(st.st_mode)) {
      node.type = EntryType::kFile;
      node.exec = (st.st_mode & S_IXUSR) != 0;  // setuid/setgid/sticky are dropped
      node.file = static_cast<int>(files->size());
      files->push_back({child_path, StatKey::Of(st)});
    } else if (S_ISLNK(st.st_mode)) {
      node.type = EntryType::kSymlink;
      std::string target(PATH_MAX, '\0');
      ssize_t n = readlinkat(fd, node.name.c_str(), target.data(), target.size());
      if (n < 0) return ErrnoError(errno, StrCat("cannot read symlink ", child_path));
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
  if (errno != 0) return ErrnoError(errno, StrCat("cannot read directory ", path));
  return absl::OkStatus();
}

absl::Status ReadFully(int fd, char* buf, size_t len, uint64_t offset, const std::string& path,
                       size_t* got) {
  *got = 0;
  while (*got < len) {
    ssize_t n = pread(fd, buf + *got, len - *got, offset + *got);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError(errno, StrCat("cannot read ", path));
    }
    if (n == 0) break;
    *got += n;
  }
  return absl::OkStatus();
}

absl::Status Changed(const std::string& path) {
  return absl::AbortedError(StrCat(path, " changed while it was being read; push again"));
}

// Hashes one file, chunking it when large. Checks that it is still the file
// that was walked, and that its size did not change while reading.
absl::StatusOr<FileDigest> HashFile(const ScannedFile& f, const Chunker& chunker) {
  Fd fd(open(f.path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) return ErrnoError(errno, StrCat("cannot read ", f.path));
  struct stat st;
  if (fstat(fd.get(), &st) != 0) return ErrnoError(errno, StrCat("cannot stat ", f.path));
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
  while (true) {
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

class Builder {
 public:
  Builder(Snapshot* snap, const std::vector<FileDigest>& digests)
      : snap_(snap), digests_(digests) {}

  // Encodes `dir` (after its subdirectories); returns its hash and byte total.
  absl::StatusOr<std::pair<Hash, uint64_t>> Tree(const Node& dir, const std::string& path) {
    ++snap_->dirs;
    std::vector<TreeEntry> entries;
    entries.reserve(dir.children.size());
    uint64_t total = 0;
    for (const Node& c : dir.children) {
      TreeEntry e;
      e.name = c.name;
      e.type = c.type;
      switch (c.type) {
        case EntryType::kDir: {
          auto sub = Tree(c, StrCat(path, "/", c.name));
          if (!sub.ok()) return sub.status();
          std::tie(e.hash, e.size) = *sub;
          break;
        }
        case EntryType::kFile: {
          const FileDigest& d = digests_[c.file];
          e.exec = c.exec;
          e.chunked = d.chunked;
          e.hash = d.hash;
          e.size = snap_->file_list[c.file].stat.size;
          ++snap_->files;
          snap_->bytes += e.size;
          AddFile(c.file, d);
          break;
        }
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
    AddInline(h, std::move(*encoded));
    return std::make_pair(h, total);
  }

 private:
  bool Seen(const Hash& h) { return !seen_.emplace(h, snap_->objects.size()).second; }

  void AddInline(const Hash& h, std::string data) {
    if (Seen(h)) return;
    ObjectSource o{.hash = h, .size = data.size(), .inline_data = std::move(data)};
    snap_->objects.push_back(std::move(o));
  }

  void AddFile(int file, const FileDigest& d) {
    if (!d.chunked) {
      if (!Seen(d.hash)) {
        snap_->objects.push_back({.hash = d.hash, .size = snap_->file_list[file].stat.size,
                                  .file = file});
      }
      return;
    }
    AddInline(d.hash, d.chunk_list);
    uint64_t offset = 0;
    for (const ChunkRef& c : d.chunks) {
      if (!Seen(c.hash)) {
        snap_->objects.push_back({.hash = c.hash, .size = c.size, .file = file, .offset = offset});
      }
      offset += c.size;
    }
  }

  Snapshot* snap_;
  const std::vector<FileDigest>& digests_;
  std::unordered_map<Hash, size_t, HashHasher> seen_;
};

}  // namespace

absl::StatusOr<Snapshot> ScanTree(const std::string& dir, const ScanOptions& options) {
  struct stat st;
  if (stat(dir.c_str(), &st) != 0) {
    return ErrnoError(errno, StrCat("cannot push ", dir, " (give the version's directory)"));
  }
  if (!S_ISDIR(st.st_mode)) {
    return absl::InvalidArgumentError(StrCat("cannot push ", dir, ": not a directory"));
  }
  Fd root_fd(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root_fd.valid()) return ErrnoError(errno, StrCat("cannot read directory ", dir));

  Snapshot snap;
  Node root;
  root.type = EntryType::kDir;
  std::string base = dir.size() > 1 && dir.back() == '/' ? dir.substr(0, dir.size() - 1) : dir;
  if (absl::Status s = Walk(std::move(root_fd), base, &root, &snap.file_list); !s.ok()) return s;
  if (options.progress) options.progress->files_total = snap.file_list.size();

  std::vector<FileDigest> digests(snap.file_list.size());
  std::mutex error_mu;
  absl::Status error;
  std::atomic<bool> failed{false};
  Chunker chunker;
  options.pool->ParallelFor(snap.file_list.size(), [&](size_t i) {
    if (failed.load(std::memory_order_relaxed)) return;
    const ScannedFile& f = snap.file_list[i];
    std::optional<CachedDigest> cached = options.cache ? options.cache->Find(f.stat) : std::nullopt;
    if (cached) {
      digests[i].hash = cached->hash;
      digests[i].chunked = cached->chunked;
      if (cached->chunked) {
        auto chunks = DecodeChunkList(cached->chunk_list);
        if (chunks.ok()) {
          digests[i].chunk_list = std::move(cached->chunk_list);
          digests[i].chunks = std::move(*chunks);
        } else {
          cached.reset();  // a bad cache entry: read the file instead
        }
      }
    }
    if (!cached) {
      auto d = HashFile(f, chunker);
      if (!d.ok()) {
        std::lock_guard lock(error_mu);
        if (!failed.exchange(true)) error = d.status();
        return;
      }
      digests[i] = std::move(*d);
      if (options.cache) {
        options.cache->Remember(f.stat, {digests[i].hash, digests[i].chunked,
                                         digests[i].chunk_list});
      }
    }
    if (options.progress) {
      options.progress->files_hashed.fetch_add(1, std::memory_order_relaxed);
      options.progress->bytes_hashed.fetch_add(f.stat.size, std::memory_order_relaxed);
    }
  });
  if (!error.ok()) return error;

  Builder builder(&snap, digests);
  auto top = builder.Tree(root, base);
  if (!top.ok()) return top.status();
  snap.root = top->first;
  return snap;
}

}  // namespace vms
