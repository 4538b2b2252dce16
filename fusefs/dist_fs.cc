#include "fusefs/dist_fs.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <functional>

#include "core/clock.h"
#include "core/names.h"
#include "core/strings.h"
#include "core/sync.h"
#include "spdlog/spdlog.h"

namespace vms {

int ErrnoOf(const absl::Status& s) {
  if (s.ok()) return 0;
  if (absl::IsNotFound(s)) return ENOENT;
  return EIO;
}

DistFs::DistFs(Catalog* catalog, Content* content, FsOptions options)
    : catalog_(catalog), content_(content), options_(options), mounted_ms_(WallClockMs()) {}

size_t DistFs::open_files() const {
  MutexLock lock(&mu_);
  return files_.size();
}

absl::StatusOr<DistFs::Entries> DistFs::Tree(const Hash& hash) {
  {
    MutexLock lock(&mu_);
    if (auto it = trees_.find(hash); it != trees_.end()) {
      tree_lru_.splice(tree_lru_.end(), tree_lru_, it->second.second);
      return it->second.first;
    }
  }
  auto raw = content_->Get(hash);
  if (!raw.ok()) return raw.status();
  auto decoded = DecodeTree(**raw);  // a bad tree is corruption: EIO, never a path
  if (!decoded.ok()) return decoded.status();
  auto entries = std::make_shared<const std::vector<TreeEntry>>(std::move(*decoded));
  MutexLock lock(&mu_);
  if (trees_.count(hash) == 0) {
    trees_[hash] = {entries, tree_lru_.insert(tree_lru_.end(), hash)};
    while (trees_.size() > options_.tree_cache_entries) {
      trees_.erase(tree_lru_.front());
      tree_lru_.pop_front();
    }
  }
  return entries;
}

int DistFs::LookupRoot(const std::string& name, Node* node) {
  auto at = name.find('@');
  if (at == std::string::npos) {
    std::optional<LiveInfo> live = catalog_->Live(name);
    if (!live) return ENOENT;
    node->kind = Node::kAppLink;
    node->app = name;
    node->version = live->version;
    node->live_seq = live->live_seq;
    node->target = StrCat(name, "@", live->version);
    node->hash = live->root;
    PrefetchTrees(node->hash, node->target);
    node->mtime_ms = live->issued_ms;
    return 0;
  }
  std::string app = name.substr(0, at), version = name.substr(at + 1);
  if (!ValidateAppName(app).ok() || !ValidateVersionName(version).ok()) return ENOENT;
  node->kind = Node::kVersionDir;
  node->app = app;
  node->version = version;
  auto release = catalog_->Release(app, version);
  if (release.ok() && *release) {
    node->hash = (*release)->root;
    node->size = (*release)->bytes;
    node->mtime_ms = (*release)->created_ms;
  } else if (std::optional<LiveInfo> live = catalog_->Live(app); live && live->version == version) {
    // The live record names the root too: the live version resolves even when
    // its release record could not be fetched (no replica answering).
    node->hash = live->root;
    node->mtime_ms = live->issued_ms;
  } else if (!release.ok()) {
    spdlog::warn("lookup {}: {}", name, Sv(release.status().message()));
    return ErrnoOf(release.status());
  } else {
    return ENOENT;
  }
  PrefetchTrees(node->hash, name);
  return 0;
}

int DistFs::Lookup(uint64_t parent, const std::string& name, EntryReply* out) {
  std::shared_ptr<const Node> dir = inodes_.Get(parent);
  if (dir == nullptr) return ENOENT;
  Node node;
  if (dir->kind == Node::kRoot) {
    if (int err = LookupRoot(name, &node); err != 0) {
      if (err != ENOENT) return err;
      *out = EntryReply{.entry_timeout_s = options_.live_timeout_s};  // negative, short-lived
      return ENOENT;
    }
  } else if (dir->kind == Node::kVersionDir || dir->kind == Node::kDir) {
    auto entries = Tree(dir->hash);
    if (!entries.ok()) {
      spdlog::error("directory {}@{} tree={}: {}", dir->app, dir->version, dir->hash.Short(),
                    Sv(entries.status().message()));
      return ErrnoOf(entries.status());
    }
    auto it = std::lower_bound((*entries)->begin(), (*entries)->end(), name,
                               [](const TreeEntry& e, const std::string& n) { return e.name < n; });
    if (it == (*entries)->end() || it->name != name) {
      *out = EntryReply{.entry_timeout_s = options_.version_timeout_s};  // immutable: cache it
      return ENOENT;
    }
    node.app = dir->app;
    node.version = dir->version;
    node.mtime_ms = dir->mtime_ms;
    node.hash = it->hash;
    node.size = it->size;
    switch (it->type) {
      case EntryType::kDir:
        node.kind = Node::kDir;
        break;
      case EntryType::kFile:
        node.kind = Node::kFile;
        node.exec = it->exec;
        node.chunked = it->chunked;
        // Timestamps are not part of a version, but Python validates its
        // bytecode cache by the source's mtime: a .py reports the mtime its
        // .pyc recorded, so the cache stays valid and nothing is recompiled
        // at every start. Deterministic: derived from the version's content.
        if (name.ends_with(".py")) {
          if (int64_t pyc = PycSourceMtimeMs(**entries, *it); pyc != 0) node.mtime_ms = pyc;
        }
        break;
      case EntryType::kSymlink:
        node.kind = Node::kSymlink;
        node.target = it->target;
        node.size = it->target.size();
        break;
    }
  } else {
    return ENOTDIR;
  }
  bool created;
  uint64_t ino = inodes_.Lookup(parent, name, node, &created);
  // A file's content, when already cached, is pinned while the kernel holds
  // its inode: an open file (which holds its inode) is then never evicted,
  // even before its first read reaches us.
  if (created && node.kind == Node::kFile && !node.chunked && content_->PinIfCached(node.hash)) {
    OpenFile file;
    file.pieces.push_back({node.hash, 0, node.size});
    file.bytes = node.size;
    bool raced;
    {
      MutexLock lock(&mu_);
      file.last_read = ++read_clock_;
      raced = !files_.emplace(ino, std::move(file)).second;
    }
    if (raced) content_->Unpin(node.hash);
  }
  *out = EntryReply{AttrOf(ino, node), EntryTimeoutOf(node), TimeoutOf(node)};
  return 0;
}

int64_t DistFs::PycSourceMtimeMs(const std::vector<TreeEntry>& dir, const TreeEntry& file) {
  auto cache_dir =
      std::lower_bound(dir.begin(), dir.end(), std::string("__pycache__"),
                       [](const TreeEntry& e, const std::string& n) { return e.name < n; });
  if (cache_dir == dir.end() || cache_dir->name != "__pycache__" ||
      cache_dir->type != EntryType::kDir) {
    return 0;
  }
  auto pycs = Tree(cache_dir->hash);
  if (!pycs.ok()) return 0;
  // The first source looked up in a directory brings all its .pyc files in
  // one request (a listing looks every source up, one after another).
  std::vector<Hash> missing;
  for (const TreeEntry& e : **pycs) {
    if (e.type == EntryType::kFile && !e.chunked && !content_->Cached(e.hash)) {
      missing.push_back(e.hash);
    }
  }
  if (!missing.empty() && !content_->Ensure(missing).ok()) return 0;
  std::string stem = StrCat(file.name.substr(0, file.name.size() - 3), ".cpython-");
  for (auto it =
           std::lower_bound((*pycs)->begin(), (*pycs)->end(), stem,
                            [](const TreeEntry&e, const std::string&n) { return e.name < n; });
       it != (*pycs)->end() && it->name.starts_with(stem); ++it) {
    if (it->type != EntryType::kFile || !it->name.ends_with(".pyc") || it->size < 16) continue;
    auto bytes = content_->Get(it->hash);
    if (!bytes.ok() || (*bytes)->size() < 16) continue;
    auto u32 = [&](size_t at) {
      const auto* p = reinterpret_cast<const uint8_t*>((*bytes)->data() + at);
      return static_cast<uint32_t>(p[0] | p[1] << 8 | p[2] << 16 |
                                   static_cast<uint32_t>(p[3]) << 24);
    };
    // PEP 552 header: magic, flags (0: timestamp-based), source mtime, size.
    if (u32(4) == 0 && u32(12) == static_cast<uint32_t>(file.size)) {
      return static_cast<int64_t>(u32(8)) * 1000;
    }
  }
  return 0;
}

double DistFs::TimeoutOf(const Node& node) const {
  // An app link's *inode* never changes (a flip makes a new one), so its
  // attributes may be cached long; the *name* /APP is what stays short-lived
  // (EntryTimeoutOf) so that a flip is seen even if an invalidation races.
  return node.kind == Node::kRoot ? options_.live_timeout_s : options_.version_timeout_s;
}

double DistFs::EntryTimeoutOf(const Node& node) const {
  return node.kind == Node::kRoot || node.kind == Node::kAppLink ? options_.live_timeout_s
                                                                 : options_.version_timeout_s;
}

Attr DistFs::AttrOf(uint64_t ino, const Node& node) const {
  Attr a;
  a.ino = ino;
  a.mtime_ms = node.mtime_ms;
  switch (node.kind) {
    case Node::kRoot:
      a.mode = S_IFDIR | 0555;
      a.nlink = 2;
      a.mtime_ms = mounted_ms_;
      break;
    case Node::kVersionDir:
    case Node::kDir:
      // nlink 1: "unknown subdirectory count" (as btrfs), so find and friends
      // never assume leaves, and no child tree is fetched just to count.
      a.mode = S_IFDIR | 0555;
      a.size = 4096;
      break;
    case Node::kFile:
      a.mode = S_IFREG | (node.exec ? 0555 : 0444);
      a.size = node.size;
      break;
    case Node::kSymlink:
    case Node::kAppLink:
      a.mode = S_IFLNK | 0777;
      a.size = node.target.size();
      break;
  }
  return a;
}

int DistFs::GetAttr(uint64_t ino, Attr* out, double* timeout_s) {
  std::shared_ptr<const Node> node = inodes_.Get(ino);
  if (node == nullptr) return ENOENT;
  *out = AttrOf(ino, *node);
  *timeout_s = TimeoutOf(*node);
  return 0;
}

int DistFs::ReadLink(uint64_t ino, std::string* out) {
  std::shared_ptr<const Node> node = inodes_.Get(ino);
  if (node == nullptr) return ENOENT;
  if (node->kind != Node::kSymlink && node->kind != Node::kAppLink) return EINVAL;
  *out = node->target;
  return 0;
}

namespace {

mode_t TypeOf(EntryType t) {
  return t == EntryType::kDir ? S_IFDIR : t == EntryType::kFile ? S_IFREG : S_IFLNK;
}

}  // namespace

int DistFs::ReadDir(uint64_t ino, size_t offset, const DirSink& add) {
  std::shared_ptr<const Node> node = inodes_.Get(ino);
  if (node == nullptr) return ENOENT;
  if (node->kind == Node::kRoot) {
    size_t i = 0;
    for (const auto& [app, live] : catalog_->LiveApps()) {
      if (i++ < offset) continue;
      if (!add({app, S_IFLNK})) break;
    }
    return 0;
  }
  if (node->kind != Node::kVersionDir && node->kind != Node::kDir) return ENOTDIR;
  auto entries = Tree(node->hash);
  if (!entries.ok()) return ErrnoOf(entries.status());
  for (size_t i = offset; i < (*entries)->size(); ++i) {
    const TreeEntry& e = (**entries)[i];
    if (!add({e.name, TypeOf(e.type)})) break;
  }
  return 0;
}

int DistFs::ReadDirPlus(uint64_t ino, size_t offset, const DirPlusSink& add) {
  return ReadDir(ino, offset, [&](const DirEntry& d) {
    EntryReply e;
    if (Lookup(ino, d.name, &e) != 0) return true;  // gone meanwhile (the root): skip it
    if (add(d.name, e)) return true;
    Forget(e.attr.ino, 1);  // not delivered
    return false;
  });
}

void DistFs::FetchWithSiblings(const Node& file) {
  std::vector<Hash> batch;
  std::shared_ptr<const Node> dir = inodes_.Get(file.parent);
  auto entries = dir ? Tree(dir->hash) : absl::StatusOr<Entries>(absl::NotFoundError("no parent"));
  if (entries.ok()) {
    // The files after this one in name order (a reader like tar goes in
    // order; most of a directory is usually wanted), up to a byte budget.
    uint64_t budget = options_.prefetch_bytes;
    auto it = std::upper_bound((*entries)->begin(), (*entries)->end(), file.name,
                               [](const std::string& n, const TreeEntry& e) { return n < e.name; });
    for (; it != (*entries)->end() && budget > 0; ++it) {
      if (it->type != EntryType::kFile || it->chunked || it->size > budget) continue;
      if (content_->Cached(it->hash)) continue;
      batch.push_back(it->hash);
      budget -= it->size;
    }
  }
  // The file first and alone: its reader waits for it, not for the rest.
  if (absl::Status s = content_->Ensure(std::span<const Hash>(&file.hash, 1)); !s.ok()) {
    spdlog::debug("fetch in {}@{}: {}", file.app, file.version, Sv(s.message()));
  }
  content_->Prefetch(batch, &readahead_pool_);
}

void DistFs::PrefetchTrees(const Hash& root, const std::string& version_key) {
  {
    MutexLock lock(&mu_);
    if (roots_.size() > 4 * kMaxWalks && !roots_.count(version_key)) roots_.clear();  // bounded
    roots_[version_key] = root;
    if (!tree_walks_.insert(root).second) return;  // fetched, or being fetched
  }
  prefetch_pool_.Submit([this, root] {
    std::vector<Hash> level = {root};
    std::unordered_set<Hash, HashHasher> seen = {root};
    size_t trees = 0;
    while (!level.empty() && trees < 1'000'000) {
      if (!content_->Ensure(level).ok()) {  // offline: lookups fetch as they go
        MutexLock lock(&mu_);
        tree_walks_.erase(root);  // and the next lookup tries again
        return;
      }
      std::vector<Hash> next;
      for (const Hash& h : level) {
        auto entries = Tree(h);
        if (!entries.ok()) continue;
        for (const TreeEntry& e : **entries) {
          if (e.type == EntryType::kDir && seen.insert(e.hash).second) next.push_back(e.hash);
        }
      }
      trees += level.size();
      level = std::move(next);
    }
    auto walk = BuildWalk(root);
    if (walk == nullptr) return;
    walk->root = root;
    MutexLock lock(&mu_);
    if (walks_.size() >= kMaxWalks) {  // the least recently read version's walk goes
      auto oldest = std::min_element(
          walks_.begin(), walks_.end(),
          [](const auto& a, const auto& b) { return a.second.used < b.second.used; });
      tree_walks_.erase(oldest->second.walk->root);  // its next lookup builds it again
      walks_.erase(oldest);
    }
    walks_[root] = {std::move(walk), ++read_clock_};
  });
}

std::shared_ptr<DistFs::Walk> DistFs::BuildWalk(const Hash& root) {
  auto walk = std::make_shared<Walk>();
  uint64_t bytes = 0;
  // Depth first, entries in name order: the order of `tar`, `cp -r`, `find`.
  std::function<bool(const Hash&)> visit = [&](const Hash& tree) {
    auto entries = Tree(tree);
    if (!entries.ok()) return false;
    size_t first = walk->files.size();
    for (const TreeEntry& e : **entries) {
      if (e.type == EntryType::kDir) {
        if (!visit(e.hash)) return false;
      } else if (e.type == EntryType::kFile && !e.chunked) {
        bytes += e.size;
        walk->files.push_back(e.hash);
        walk->end_bytes.push_back(bytes);
      }
    }
    // An identical tree elsewhere keeps the first place.
    walk->dirs.try_emplace(tree, first, walk->files.size() - first);
    return true;
  };
  if (!visit(root)) return nullptr;
  return walk;
}

bool DistFs::WalkReady(const std::string& app, const std::string& version) const {
  MutexLock lock(&mu_);
  auto root = roots_.find(StrCat(app, "@", version));
  return root != roots_.end() && walks_.count(root->second) > 0;
}

size_t DistFs::WalkIndexOf(const Walk& walk, const Node& dir, const std::string& name) {
  auto start = walk.dirs.find(dir.hash);
  if (start == walk.dirs.end()) return walk.files.size();
  auto entries = Tree(dir.hash);
  size_t index = start->second.first;
  if (!entries.ok()) return index;
  // Files before `name` in this directory, and all below the subdirectories
  // before it.
  for (const TreeEntry& e : **entries) {
    if (e.name >= name) break;
    if (e.type == EntryType::kFile && !e.chunked) {
      ++index;
    } else if (e.type == EntryType::kDir) {
      if (auto sub = walk.dirs.find(e.hash); sub != walk.dirs.end()) index += sub->second.second;
    }
  }
  return std::min(index, walk.files.size());
}

void DistFs::Readahead(const Node& file) {
  std::shared_ptr<Walk> walk;
  {
    MutexLock lock(&mu_);
    auto root = roots_.find(StrCat(file.app, "@", file.version));
    if (root == roots_.end()) return;
    auto it = walks_.find(root->second);
    if (it == walks_.end()) return;
    it->second.used = ++read_clock_;
    walk = it->second.walk;
  }
  std::shared_ptr<const Node> dir = inodes_.Get(file.parent);
  if (dir == nullptr || walk->files.empty()) return;
  size_t index = WalkIndexOf(*walk, *dir, file.name);
  if (index >= walk->files.size()) return;
  uint64_t pos = index == 0 ? 0 : walk->end_bytes[index - 1];
  // As the kernel's readahead does for a file, for a walk through a tree:
  // a read where the last window reached means a sequential reader, whose
  // window doubles; any other read starts again from a small window.
  uint64_t max_window =
      std::min<uint64_t>(options_.readahead_max_bytes, content_->cache().max_bytes() / 4);
  uint64_t from, to;
  {
    MutexLock lock(&walk->mu);
    bool sequential = walk->window > 0 && pos >= walk->window_start && pos <= walk->requested_end;
    if (!sequential) {
      walk->window = std::min(options_.readahead_min_bytes, max_window);
      walk->window_start = walk->requested_end = pos;
    } else if (walk->requested_end - pos > walk->window / 2) {
      return;  // far enough ahead still
    } else {
      walk->window = std::min(walk->window * 2, max_window);
    }
    from = walk->requested_end;
    to = pos + walk->window;
    if (to <= from) return;
    walk->window_start = pos;
    walk->requested_end = to;
  }
  // Requests of a few MiB each: the first lands soon, and the reader waits
  // only for the object it needs.
  auto at = [&](uint64_t bytes) {
    return static_cast<size_t>(
        std::upper_bound(walk->end_bytes.begin(), walk->end_bytes.end(), bytes) -
        walk->end_bytes.begin());
  };
  std::vector<Hash> batch;
  uint64_t batch_bytes = 0;
  for (size_t i = at(from), end = std::min(at(to) + 1, walk->files.size()); i < end; ++i) {
    if (content_->Cached(walk->files[i])) continue;
    batch.push_back(walk->files[i]);
    batch_bytes += walk->end_bytes[i] - (i == 0 ? 0 : walk->end_bytes[i - 1]);
    if (batch_bytes >= kReadaheadRequestBytes) {
      content_->Prefetch(batch, &readahead_pool_);
      batch.clear();
      batch_bytes = 0;
    }
  }
  content_->Prefetch(batch, &readahead_pool_);
}

void DistFs::Forget(uint64_t ino, uint64_t n) {
  inodes_.Forget(ino, n);
  if (inodes_.Get(ino) != nullptr) return;
  OpenFile file;
  {
    MutexLock lock(&mu_);
    auto it = files_.find(ino);
    if (it == files_.end()) return;
    file = std::move(it->second);
    files_.erase(it);
  }
  for (const OpenFile::Piece& p : file.pieces) content_->Unpin(p.hash);
}

int DistFs::Open(uint64_t ino, uint64_t* fh) {
  *fh = ino;
  {
    MutexLock lock(&mu_);
    if (files_.count(ino)) return 0;
  }
  std::shared_ptr<const Node> node = inodes_.Get(ino);
  if (node == nullptr) return ENOENT;
  if (node->kind != Node::kFile)
    return node->kind == Node::kVersionDir || node->kind == Node::kDir ? EISDIR : EINVAL;
  OpenFile file;
  if (!node->chunked) {
    if (!content_->Cached(node->hash)) FetchWithSiblings(*node);
    file.pieces.push_back({node->hash, 0, node->size});
  } else {
    auto list = content_->Get(node->hash);
    if (!list.ok()) return ErrnoOf(list.status());
    auto chunks = DecodeChunkList(**list);
    if (!chunks.ok()) return EIO;
    uint64_t offset = 0;
    std::vector<Hash> hashes;
    for (const ChunkRef& c : *chunks) {
      file.pieces.push_back({c.hash, offset, c.size});
      hashes.push_back(c.hash);
      offset += c.size;
    }
    if (offset != node->size) return EIO;
    if (absl::Status s = content_->Ensure(hashes); !s.ok()) {
      spdlog::error("open {}@{}/{}: {}", node->app, node->version, node->name, Sv(s.message()));
      return ErrnoOf(s);
    }
  }
  for (size_t i = 0; i < file.pieces.size(); ++i) {
    if (absl::Status s = content_->Pin(file.pieces[i].hash); !s.ok()) {
      spdlog::error("open {}@{}/{}: {}", node->app, node->version, node->name, Sv(s.message()));
      for (size_t j = 0; j < i; ++j) content_->Unpin(file.pieces[j].hash);
      return ErrnoOf(s);
    }
  }
  for (const OpenFile::Piece& p : file.pieces) file.bytes += p.size;
  bool raced = false;
  {
    MutexLock lock(&mu_);
    raced = !files_.emplace(ino, file).second;  // another thread pinned it meanwhile
  }
  if (raced) {
    for (const OpenFile::Piece& p : file.pieces) content_->Unpin(p.hash);
  }
  return 0;
}

int DistFs::Read(uint64_t ino, uint64_t offset, size_t size, std::vector<Segment>* out) {
  bool first_read;
  {
    MutexLock lock(&mu_);
    auto it = files_.find(ino);
    first_read = it == files_.end() || !it->second.read;
    if (it != files_.end()) it->second.read = true;
  }
  if (first_read) {
    if (std::shared_ptr<const Node> node = inodes_.Get(ino); node && node->kind == Node::kFile) {
      Readahead(*node);
    }
  }
  uint64_t fh;
  if (int err = Open(ino, &fh); err != 0) return err;
  std::vector<std::pair<Hash, Segment>> wanted;
  {
    MutexLock lock(&mu_);
    auto it = files_.find(ino);
    if (it == files_.end()) return EBADF;
    it->second.last_read = ++read_clock_;
    for (const OpenFile::Piece& p : it->second.pieces) {
      if (size == 0) break;
      if (offset >= p.offset + p.size) continue;
      uint64_t within = offset - p.offset;
      size_t len = std::min<uint64_t>(size, p.size - within);
      wanted.push_back({p.hash, Segment{nullptr, within, len}});
      offset += len;
      size -= len;
    }
  }
  out->clear();
  for (auto& [hash, segment] : wanted) {
    auto bytes = content_->Get(hash);
    if (!bytes.ok()) {
      spdlog::error("read ino={}: {}", ino, Sv(bytes.status().message()));
      return ErrnoOf(bytes.status());
    }
    if (segment.pos + segment.len > (*bytes)->size()) return EIO;
    segment.data = std::move(*bytes);
    out->push_back(std::move(segment));
  }
  return 0;
}

std::vector<std::pair<uint64_t, std::string>> DistFs::ReclaimCandidates(uint64_t bytes) const {
  std::vector<std::pair<uint64_t, uint64_t>> by_age;  // last_read, ino
  {
    MutexLock lock(&mu_);
    for (const auto& [ino, file] : files_) by_age.emplace_back(file.last_read, ino);
  }
  std::sort(by_age.begin(), by_age.end());
  std::vector<std::pair<uint64_t, std::string>> out;
  uint64_t freed = 0;
  for (const auto& [age, ino] : by_age) {
    if (freed >= bytes) break;
    std::shared_ptr<const Node> node = inodes_.Get(ino);
    if (node == nullptr) continue;
    out.emplace_back(node->parent, node->name);
    MutexLock lock(&mu_);
    if (auto it = files_.find(ino); it != files_.end()) freed += it->second.bytes;
  }
  return out;
}

DistFs::FsStats DistFs::StatFs() const {
  FsStats st;
  const uint64_t max = content_->cache().max_bytes();
  const uint64_t used = std::min(content_->cache().bytes(), max);
  st.blocks = max / st.block_size;
  st.blocks_free = (max - used) / st.block_size;
  constexpr uint64_t kInodes = uint64_t{1} << 32;
  st.inodes = kInodes;
  st.inodes_free = kInodes - std::min<uint64_t>(inodes_.size(), kInodes);
  return st;
}

int DistFs::ListXattr(uint64_t ino, std::vector<std::string>* names) {
  std::shared_ptr<const Node> node = inodes_.Get(ino);
  if (node == nullptr) return ENOENT;
  names->clear();
  if (node->kind == Node::kRoot) {
    *names = {"user.vms.cache_bytes", "user.vms.cache_max_bytes", "user.vms.cache_pinned",
              "user.vms.fetches"};
    return 0;
  }
  // Linux refuses user.* attributes on symlinks, so the live pointer's
  // facts are on the live version's top directory: `getfattr -d /dist/APP/`.
  if (node->kind == Node::kAppLink || node->kind == Node::kSymlink) return 0;
  *names = {"user.vms.app", "user.vms.version", "user.vms.hash"};
  if (node->kind == Node::kVersionDir) {
    std::optional<LiveInfo> live = catalog_->Live(node->app);
    if (live && live->version == node->version) {
      names->push_back("user.vms.live_seq");
      names->push_back("user.vms.live_since");
    }
  }
  if (node->kind == Node::kFile) {
    names->push_back("user.vms.chunked");
    names->push_back("user.vms.cached");
  }
  return 0;
}

int DistFs::GetXattr(uint64_t ino, const std::string& name, std::string* value) {
  std::vector<std::string> names;
  if (int err = ListXattr(ino, &names); err != 0) return err;
  if (std::find(names.begin(), names.end(), name) == names.end()) return ENODATA;
  std::shared_ptr<const Node> node = inodes_.Get(ino);
  if (name == "user.vms.app") {
    *value = node->app;
  } else if (name == "user.vms.version") {
    *value = node->version;
  } else if (name == "user.vms.live_seq" || name == "user.vms.live_since") {
    std::optional<LiveInfo> live = catalog_->Live(node->app);
    if (!live || live->version != node->version) return ENODATA;  // flipped meanwhile
    *value =
        name == "user.vms.live_seq" ? std::to_string(live->live_seq) : IsoTime(live->issued_ms);
  } else if (name == "user.vms.hash") {
    *value = node->hash.Hex();
  } else if (name == "user.vms.chunked") {
    *value = node->chunked ? "yes" : "no";
  } else if (name == "user.vms.cached") {
    // Whole-file objects only; a chunked file says whether its list is.
    *value = content_->Cached(node->hash) ? "yes" : "no";
  } else if (name == "user.vms.cache_bytes") {
    *value = std::to_string(content_->cache().bytes());
  } else if (name == "user.vms.cache_max_bytes") {
    *value = std::to_string(content_->cache().max_bytes());
  } else if (name == "user.vms.cache_pinned") {
    *value = std::to_string(content_->cache().pinned());
  } else if (name == "user.vms.fetches") {
    Content::Stats st = content_->stats();
    *value = StrCat(st.fetches, " requests, ", st.objects, " objects, ", st.fetch_micros / 1000,
                    " ms waiting");
  }
  return 0;
}

}  // namespace vms
