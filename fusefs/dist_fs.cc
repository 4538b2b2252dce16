#include "fusefs/dist_fs.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <unordered_set>

#include "core/clock.h"
#include "core/log.h"
#include "core/names.h"
#include "core/strings.h"
#include "fusefs/pyc_mtime.h"
#include "spdlog/spdlog.h"

namespace vms {

int ErrnoOf(const absl::Status& s) {
  if (s.ok()) return 0;
  if (absl::IsNotFound(s)) return ENOENT;
  return EIO;
}

DistFs::DistFs(Catalog* catalog, Content* content, FsOptions options)
    : catalog_(catalog),
      content_(content),
      options_(options),
      mounted_ms_(catalog->clock()->WallMs()),
      trees_(content, options.tree_cache_entries),
      files_(content),
      xattrs_(catalog, content),
      readahead_(&trees_, content,
                 {.sibling_bytes = options.prefetch_bytes,
                  .min_window = options.readahead_min_bytes,
                  .max_window = options.readahead_max_bytes}) {}

absl::Status DistFs::StartJournal(const std::string& path) {
  auto journal = InodeJournal::Create(path);
  if (!journal.ok()) return journal.status();
  UseJournal(*std::move(journal));
  return absl::OkStatus();
}

void DistFs::UseJournal(std::unique_ptr<InodeJournal> journal) {
  inodes_.SetJournal(nullptr);
  journal_ = std::move(journal);
  inodes_.SetJournal(journal_.get());  // starts with a snapshot: any history goes
}

absl::StatusOr<std::string> DistFs::ResumeJournal(const std::string& path) {
  InodeJournal::State state;
  auto journal = InodeJournal::Resume(path, &state);
  if (!journal.ok()) return journal.status();
  // Without the kernel's INIT to replay, the adopted session would answer
  // every request EIO: an empty journal (what a failed append leaves) or one
  // that is garbage from its first byte cannot be taken over.
  if (state.init.empty()) {
    return absl::DataLossError(StrCat("the inode journal ", path,
                                      " holds no FUSE_INIT (empty, or unreadable from its "
                                      "first byte)"));
  }
  inodes_.SetJournal(nullptr);
  for (const auto& [ino, node] : inodes_.Restore(state.next, state.inodes)) {
    PinIfCached(ino, *node);
  }
  UseJournal(*std::move(journal));
  FuseLog()->info("took over {} inodes the kernel holds from journal={}", state.inodes.size(),
                  path);
  return state.init;
}

namespace {

// /dist/APP, /dist/APP@LABEL, /dist/.at/TIME/APP: a symlink to `prefix`APP@VERSION.
void AppLink(const std::string& app, const LiveInfo& live, std::string_view prefix, Node* node) {
  node->kind = Node::kAppLink;
  node->app = app;
  node->version = live.version;
  node->live_seq = live.live_seq;
  node->target = StrCat(prefix, app, "@", live.version);
  node->hash = live.root;
  node->mtime_ms = live.issued_ms;
}

}  // namespace

int DistFs::LookupRoot(const std::string& name, Node* node) {
  if (name == kAtName) {
    node->kind = Node::kAtRoot;
    node->mtime_ms = mounted_ms_;
    return 0;
  }
  auto at = name.find('@');
  if (at == std::string::npos) {
    std::optional<LiveInfo> live = catalog_->Live(name);
    if (!live) return ENOENT;
    AppLink(name, *live, "", node);
    if (census_ != nullptr) census_->Touched(name, live->version);
    readahead_.PrefetchTrees(node->hash, node->target);
    return 0;
  }
  std::string app = name.substr(0, at), version = name.substr(at + 1);
  if (!ValidateAppName(app).ok() || !ValidateVersionName(version).ok()) return ENOENT;
  if (std::optional<LiveInfo> label = catalog_->Label(app, version)) {
    // APP@LABEL: a symlink switched like APP (labels are never version names).
    AppLink(app, *label, "", node);
    return 0;
  }
  if (std::optional<int64_t> when = catalog_->RetiredAt(app, version)) {
    FuseLog()->info("lookup {}: retired at {}", name, IsoTime(*when));
    return ENOENT;
  }
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
    FuseLog()->warn("lookup {}: {}", name, Sv(release.status().message()));
    return ErrnoOf(release.status());
  } else {
    return ENOENT;
  }
  if (census_ != nullptr) census_->Touched(app, version);
  readahead_.PrefetchTrees(node->hash, name);
  return 0;
}

int DistFs::LookupAsOf(const Node& dir, const std::string& name, Node* node) {
  if (dir.kind == Node::kAtRoot) {
    std::optional<int64_t> when = ParseInstantMs(name);
    if (!when) return ENOENT;
    node->kind = Node::kAtDir;
    node->mtime_ms = *when;
    node->target = name;  // one inode per spelling of an instant
    return 0;
  }
  if (!ValidateAppName(name).ok()) return ENOENT;
  auto live = catalog_->LiveAsOf(name, dir.mtime_ms);
  if (!live.ok()) {
    if (!absl::IsNotFound(live.status())) {
      FuseLog()->warn("lookup .at/{}/{}: {}", dir.target, name, Sv(live.status().message()));
    }
    return ErrnoOf(live.status());
  }
  if (!*live) return ENOENT;
  AppLink(name, **live, "../../", node);
  return 0;
}

Node DistFs::ChildOf(const Node& dir, const std::vector<TreeEntry>& entries,
                     const TreeEntry& entry) {
  Node node;
  node.app = dir.app;
  node.version = dir.version;
  node.mtime_ms = dir.mtime_ms;
  node.hash = entry.hash;
  node.size = entry.size;
  switch (entry.type) {
    case EntryType::kDir:
      node.kind = Node::kDir;
      break;
    case EntryType::kFile:
      node.kind = Node::kFile;
      node.exec = entry.exec;
      node.chunked = entry.chunked;
      if (int64_t pyc = PycSourceMtimeMs(entries, entry); pyc != 0) node.mtime_ms = pyc;
      break;
    case EntryType::kSymlink:
      node.kind = Node::kSymlink;
      node.target = entry.target;
      node.size = entry.target.size();
      break;
  }
  return node;
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
  } else if (dir->kind == Node::kAtRoot || dir->kind == Node::kAtDir) {
    if (int err = LookupAsOf(*dir, name, &node); err != 0) {
      if (err != ENOENT) return err;
      *out = EntryReply{.entry_timeout_s = options_.live_timeout_s};
      return ENOENT;
    }
  } else if (dir->kind == Node::kVersionDir || dir->kind == Node::kDir) {
    auto entries = trees_.Get(dir->hash);
    if (!entries.ok()) {
      FuseLog()->error("directory {}@{} tree={}: {}", dir->app, dir->version, dir->hash.Short(),
                       Sv(entries.status().message()));
      return ErrnoOf(entries.status());
    }
    const TreeEntry* entry = FindEntry(**entries, name);
    if (entry == nullptr) {
      *out = EntryReply{.entry_timeout_s = options_.version_timeout_s};  // immutable: cache it
      return ENOENT;
    }
    node = ChildOf(*dir, **entries, *entry);
  } else {
    return ENOTDIR;
  }
  bool created;
  uint64_t ino = inodes_.Lookup(parent, name, node, &created);
  if (created) PinIfCached(ino, node);
  *out = EntryReply{AttrOf(ino, node), EntryTimeoutOf(node), TimeoutOf(node)};
  return 0;
}

void DistFs::PinIfCached(uint64_t ino, const Node& node) {
  // A file's content, when already cached, is pinned while the kernel holds
  // its inode: an open file (which holds its inode) is then never evicted,
  // even before its first read reaches us.
  if (node.kind != Node::kFile || node.chunked || !content_->PinIfCached(node.hash)) return;
  files_.Add(ino, {{node.hash, 0, node.size}});
}

int64_t DistFs::PycSourceMtimeMs(const std::vector<TreeEntry>& dir, const TreeEntry& file) {
  const std::string prefix = PycPrefix(file.name);
  if (prefix.empty()) return 0;
  const TreeEntry* cache_dir = FindEntry(dir, "__pycache__");
  if (cache_dir == nullptr || cache_dir->type != EntryType::kDir) return 0;
  auto pycs = trees_.Get(cache_dir->hash);
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
  for (auto it =
           std::lower_bound((*pycs)->begin(), (*pycs)->end(), prefix,
                            [](const TreeEntry&e, const std::string&n) { return e.name < n; });
       it != (*pycs)->end() && it->name.starts_with(prefix); ++it) {
    if (it->type != EntryType::kFile || !it->name.ends_with(".pyc") || it->size < 16) continue;
    auto bytes = content_->Get(it->hash);
    if (!bytes.ok()) continue;
    if (auto mtime = vms::PycSourceMtimeMs(**bytes, file.size)) return *mtime;
  }
  return 0;
}

double DistFs::TimeoutOf(const Node& node) const {
  // An app link's *inode* never changes (a flip makes a new one), so its
  // attributes may be cached long; the *name* /APP is what stays short-lived
  // (EntryTimeoutOf) so that a flip is seen even if an invalidation races.
  return node.kind == Node::kRoot || node.kind == Node::kAtDir ? options_.live_timeout_s
                                                               : options_.version_timeout_s;
}

double DistFs::EntryTimeoutOf(const Node& node) const {
  // Every spelling of every instant is a name of its own under /.at, and
  // one inode while the kernel holds its name: never cached, so that the
  // kernel forgets it as soon as it is used and a walk through a million
  // instants holds none of them.
  if (node.kind == Node::kAtDir ||
      (node.kind == Node::kAppLink && node.target.starts_with("../../"))) {
    return 0;
  }
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
    case Node::kAtRoot:
    case Node::kAtDir:
      a.mode = S_IFDIR | 0555;
      a.nlink = 2;
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
  if (node->kind == Node::kAtRoot) return 0;  // every instant: too many to list
  if (node->kind == Node::kAtDir) {
    // Every app the host knows, as it was then (one history read per app).
    size_t i = 0;
    for (const auto& [app, live] : catalog_->LiveApps()) {
      auto then = catalog_->LiveAsOf(app, node->mtime_ms);
      if (!then.ok() || !*then) continue;
      if (i++ < offset) continue;
      if (!add({app, S_IFLNK})) break;
    }
    return 0;
  }
  if (node->kind != Node::kVersionDir && node->kind != Node::kDir) return ENOTDIR;
  auto entries = trees_.Get(node->hash);
  if (!entries.ok()) return ErrnoOf(entries.status());
  for (size_t i = offset; i < (*entries)->size(); ++i) {
    const TreeEntry& e = (**entries)[i];
    if (!add({e.name, TypeOf(e.type)})) break;
  }
  return 0;
}

int DistFs::ReadDirPlus(uint64_t ino, size_t offset, const DirPlusSink& sink) {
  return ReadDir(ino, offset, [&](const DirEntry& d) {
    if (!sink.fits(d.name)) return false;  // the reply is full: no lookup for it
    EntryReply e;
    if (Lookup(ino, d.name, &e) != 0) return true;  // gone meanwhile (the root): skip it
    sink.add(d.name, e);
    return true;
  });
}

uint64_t DistFs::ReclaimVersion(const Hash& root) {
  // Only what is cached is walked: nothing is fetched to be dropped.
  auto walk = [&](const Hash& top, std::unordered_set<Hash, HashHasher>* out) {
    std::vector<Hash> trees = {top};
    out->insert(top);
    while (!trees.empty()) {
      Hash t = trees.back();
      trees.pop_back();
      if (!content_->Cached(t)) continue;
      auto entries = trees_.Get(t);
      if (!entries.ok()) continue;
      for (const TreeEntry& e : **entries) {
        if (e.type == EntryType::kSymlink || !out->insert(e.hash).second) continue;
        if (e.type == EntryType::kDir) {
          trees.push_back(e.hash);
        } else if (e.chunked && content_->Cached(e.hash)) {
          auto list = content_->Get(e.hash);
          auto chunks =
              list.ok() ? DecodeChunkList(**list) : absl::StatusOr<std::vector<ChunkRef>>();
          if (chunks.ok()) {
            for (const ChunkRef& c : *chunks) out->insert(c.hash);
          }
        }
      }
    }
  };
  std::unordered_set<Hash, HashHasher> retired, kept;
  walk(root, &retired);
  for (const LiveInfo& p : catalog_->Pointers()) walk(p.root, &kept);
  std::vector<Hash> drop;
  for (const Hash& h : retired) {
    if (!kept.contains(h)) drop.push_back(h);
  }
  return content_->Drop(drop);
}

bool DistFs::WalkReady(const std::string& app, const std::string& version) const {
  return readahead_.Ready(StrCat(app, "@", version));
}

void DistFs::Forget(uint64_t ino, uint64_t n) {
  inodes_.Forget(ino, n);
  if (inodes_.Get(ino) == nullptr) files_.Remove(ino);
}

int DistFs::Open(uint64_t ino, uint64_t* fh) {
  *fh = ino;
  if (files_.Contains(ino)) return 0;
  std::shared_ptr<const Node> node = inodes_.Get(ino);
  if (node == nullptr) return ENOENT;
  if (node->kind != Node::kFile) {
    return node->kind == Node::kVersionDir || node->kind == Node::kDir ||
                   node->kind == Node::kAtRoot || node->kind == Node::kAtDir
               ? EISDIR
               : EINVAL;
  }
  std::vector<OpenFiles::Piece> pieces;
  if (!node->chunked) {
    if (!content_->Cached(node->hash)) {
      std::shared_ptr<const Node> dir = inodes_.Get(node->parent);
      if (dir != nullptr) readahead_.FetchWithSiblings(dir->hash, node->name, node->hash);
    }
    pieces.push_back({node->hash, 0, node->size});
  } else {
    auto list = content_->Get(node->hash);
    if (!list.ok()) return ErrnoOf(list.status());
    auto chunks = DecodeChunkList(**list);
    if (!chunks.ok()) return EIO;
    // Chunks are pinned as they are read (Read), and fetched ahead of the
    // reader: the first bytes are served before the last chunk has come.
    uint64_t offset = 0;
    for (const ChunkRef& c : *chunks) {
      pieces.push_back({c.hash, offset, c.size, /*pinned=*/false});
      offset += c.size;
    }
    if (offset != node->size) return EIO;
  }
  for (size_t i = 0; i < pieces.size(); ++i) {
    if (!pieces[i].pinned) continue;
    if (absl::Status s = content_->Pin(pieces[i].hash); !s.ok()) {
      FuseLog()->error("open {}@{}/{}: {}", node->app, node->version, node->name, Sv(s.message()));
      for (size_t j = 0; j < i; ++j) {
        if (pieces[j].pinned) content_->Unpin(pieces[j].hash);
      }
      return ErrnoOf(s);
    }
  }
  files_.Add(ino, std::move(pieces));  // another thread may have pinned it meanwhile: fine
  return 0;
}

int DistFs::Read(uint64_t ino, uint64_t offset, size_t size, std::vector<Segment>* out) {
  if (files_.MarkRead(ino)) {
    if (std::shared_ptr<const Node> node = inodes_.Get(ino); node && node->kind == Node::kFile) {
      if (std::shared_ptr<const Node> dir = inodes_.Get(node->parent); dir != nullptr) {
        readahead_.FirstRead(StrCat(node->app, "@", node->version), dir->hash, node->name);
      }
    }
  }
  uint64_t fh;
  if (int err = Open(ino, &fh); err != 0) return err;
  std::vector<OpenFiles::Span> spans;
  if (!files_.Locate(ino, offset, size, &spans)) return EBADF;
  out->clear();
  if (!spans.empty() && !spans.back().pinned) {
    // A chunked file: the window after this read comes in the background.
    const uint64_t window =
        std::min<uint64_t>(options_.readahead_max_bytes, content_->cache().max_bytes() / 4);
    readahead_.FetchChunks(files_.Ahead(ino, offset, size + window));
  }
  for (const OpenFiles::Span& span : spans) {
    if (!span.pinned) {
      if (absl::Status s = content_->Pin(span.hash); !s.ok()) {
        FuseLog()->error("read ino={}: {}", ino, Sv(s.message()));
        return ErrnoOf(s);
      }
      if (!files_.MarkPinned(ino, span.piece)) content_->Unpin(span.hash);
    }
    auto bytes = content_->Get(span.hash);
    if (!bytes.ok()) {
      FuseLog()->error("read ino={}: {}", ino, Sv(bytes.status().message()));
      return ErrnoOf(bytes.status());
    }
    if (span.pos + span.len > (*bytes)->size()) return EIO;
    out->push_back(Segment{std::move(*bytes), span.pos, span.len});
  }
  return 0;
}

std::vector<std::pair<uint64_t, std::string>> DistFs::ReclaimCandidates(uint64_t bytes) const {
  std::vector<std::pair<uint64_t, std::string>> out;
  for (uint64_t ino : files_.LeastRecentlyRead(bytes)) {
    std::shared_ptr<const Node> node = inodes_.Get(ino);
    if (node != nullptr) out.emplace_back(node->parent, node->name);
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
  *names = xattrs_.List(*node);
  return 0;
}

int DistFs::GetXattr(uint64_t ino, const std::string& name, std::string* value) {
  std::shared_ptr<const Node> node = inodes_.Get(ino);
  if (node == nullptr) return ENOENT;
  return xattrs_.Get(*node, name, value);
}

}  // namespace vms
