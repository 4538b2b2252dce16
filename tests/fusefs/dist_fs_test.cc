#include "fusefs/dist_fs.h"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>

#include "core/codec.h"
#include "core/envelope.h"
#include "core/strings.h"
#include "fusefs/census.h"
#include "fusefs/dir_plus.h"
#include "gtest/gtest.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/testing.h"

namespace vms {
namespace {

// A host's view with no network: objects come from a map, records are
// signed here with a key the catalog trusts.
class DistFsTest : public ::testing::Test {
 protected:
  DistFsTest()
      : key_(SigningKey::Generate()),
        cache_(ObjectCache::Open(dir_ / "cache", 1 << 30).value()),
        catalog_(
            Catalog::Open(dir_ / "catalog", TrustChain::MasterKeyOnly(key_.public_key()),
                          [this](const std::string& app) -> absl::StatusOr<std::vector<Envelope>> {
                            ++release_queries_;
                            if (releases_.count(app) == 0) return absl::NotFoundError(app);
                            return releases_[app];
                          })
                .value()),
        content_(cache_.get(),
                 [this](std::span<const Hash> hashes, const Upstream::Sink& sink) -> absl::Status {
                   if (offline_) return absl::UnavailableError("no replica answers");
                   std::vector<StoredObject> batch;
                   for (const Hash& h : hashes) {
                     {
                       std::unique_lock lock(held_mu_);
                       held_cv_.wait_for(lock, std::chrono::seconds(30),
                                         [&] { return held_.count(h) == 0; });
                     }
                     auto it = objects_.find(h);
                     if (it == objects_.end()) return absl::NotFoundError(h.Short());
                     ++fetched_;
                     batch.push_back({h, Codec::kRaw, it->second.size(), it->second});
                   }
                   return sink(&batch);
                 }),
        fs_(catalog_.get(), &content_) {}

  Hash Put(const std::string& raw) {
    objects_[Sha256(raw)] = raw;
    return Sha256(raw);
  }
  // app VERSION: bin/tool (exec), lib/big (chunked, 3 chunks), link -> bin/tool
  Hash Publish(const std::string& app, const std::string& version) {
    std::string tool = "#!/bin/sh\necho " + version + "\n";
    std::vector<std::string> pieces = {std::string(3000, 'a'), std::string(2000, 'b') + version,
                                       std::string(1000, 'c')};
    std::vector<ChunkRef> chunks;
    uint64_t big = 0;
    for (const std::string& p : pieces) {
      chunks.push_back({p.size(), Put(p)});
      big += p.size();
    }
    Hash list = Put(EncodeChunkList(chunks));
    Hash bin = Put(EncodeTree({{.name = "tool",
                                .type = EntryType::kFile,
                                .exec = true,
                                .size = tool.size(),
                                .hash = Put(tool)}})
                       .value());
    Hash lib = Put(
        EncodeTree(
            {{.name = "big", .type = EntryType::kFile, .chunked = true, .size = big, .hash = list}})
            .value());
    Hash root =
        Put(EncodeTree({{.name = "bin", .type = EntryType::kDir, .size = tool.size(), .hash = bin},
                        {.name = "lib", .type = EntryType::kDir, .size = big, .hash = lib},
                        {.name = "link", .type = EntryType::kSymlink, .target = "bin/tool"}})
                .value());
    AddRelease(app, version, root, 1700000000000);
    return root;
  }
  // Signs a release of `root` and makes it what the replica answers for `app`.
  void AddRelease(const std::string& app, const std::string& version, const Hash& root,
                  int64_t created_ms = 0) {
    Release r;
    r.set_app(app);
    r.set_version(version);
    r.set_root(std::string(root.View()));
    if (created_ms != 0) r.set_created_unix_ms(created_ms);
    releases_[app].push_back(SignEnvelope(kReleaseType, r.SerializeAsString(), key_));
  }
  Envelope Live(const std::string& app, const std::string& version, uint64_t seq, Hash root) {
    LiveRecord l;
    l.set_app(app);
    l.set_version(version);
    l.set_root(std::string(root.View()));
    l.set_live_seq(seq);
    return SignEnvelope(kLiveType, l.SerializeAsString(), key_);
  }
  uint64_t Lookup(uint64_t parent, const std::string& name, int* err = nullptr,
                  DistFs* fs = nullptr) {
    EntryReply e;
    int rc = (fs ? fs : &fs_)->Lookup(parent, name, &e);
    if (err) *err = rc;
    return rc == 0 ? e.attr.ino : 0;
  }
  uint64_t Path(const std::string& path, DistFs* fs = nullptr) {
    uint64_t ino = InodeTable::kRoot;
    size_t start = 0;
    while (ino != 0 && start < path.size()) {
      size_t end = path.find('/', start);
      if (end == std::string::npos) end = path.size();
      ino = Lookup(ino, path.substr(start, end - start), nullptr, fs);
      start = end + 1;
    }
    return ino;
  }
  std::string ReadAll(uint64_t ino, uint64_t size) {
    uint64_t fh;
    EXPECT_EQ(fs_.Open(ino, &fh), 0);
    std::vector<Segment> segments;
    EXPECT_EQ(fs_.Read(fh, 0, size + 100, &segments), 0);
    std::string out;
    for (const Segment& s : segments) out += s.data->substr(s.pos, s.len);
    return out;
  }

  testing::TempDir dir_;
  SigningKey key_;
  std::map<Hash, std::string> objects_;
  std::map<std::string, std::vector<Envelope>> releases_;
  // Objects whose fetch waits until they are released (a slow replica).
  void Hold(const Hash& h) {
    std::lock_guard lock(held_mu_);
    held_.insert(h);
  }
  void ReleaseAll() {
    {
      std::lock_guard lock(held_mu_);
      held_.clear();
    }
    held_cv_.notify_all();
  }
  std::mutex held_mu_;
  std::condition_variable held_cv_;
  std::set<Hash> held_;
  std::atomic<bool> offline_{false};
  std::atomic<int> fetched_{0};
  int release_queries_ = 0;
  std::unique_ptr<ObjectCache> cache_;
  std::unique_ptr<Catalog> catalog_;
  Content content_;
  DistFs fs_;
};

TEST_F(DistFsTest, RootListsLiveAppsAsSymlinks) {
  Hash root = Publish("app", "1.0");
  Publish("other", "1.0");  // never live: not listed
  ASSERT_TRUE(catalog_->ApplyLive(Live("app", "1.0", 1, root)).value());
  std::vector<DirEntry> entries;
  ASSERT_EQ(fs_.ReadDir(InodeTable::kRoot, 0,
                        [&](const DirEntry& e) {
                          entries.push_back(e);
                          return true;
                        }),
            0);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].name, "app");
  EXPECT_EQ(entries[0].type, S_IFLNK);
  uint64_t link = Lookup(InodeTable::kRoot, "app");
  std::string target;
  ASSERT_EQ(fs_.ReadLink(link, &target), 0);
  EXPECT_EQ(target, "app@1.0");
  int err;
  EXPECT_EQ(Lookup(InodeTable::kRoot, "other", &err), 0u);
  EXPECT_EQ(err, ENOENT);
  EXPECT_NE(Path("other@1.0"), 0u) << "any held version is reachable by name";
}

TEST_F(DistFsTest, HugeDirectoryListsInPiecesInLinearTimeWithOneLookupPerEntry) {
  // 200,000 entries, listed 25 at a time as the kernel asks (a 4 KiB buffer
  // per readdirplus). Looking every entry up on every call, as vms-fuse
  // once did, is 1.6 billion lookups: this test would not end.
  constexpr size_t kEntries = 200000, kPerCall = 25;
  Hash empty = Put("");
  std::vector<TreeEntry> files;
  for (size_t i = 0; i < kEntries; ++i) {
    files.push_back({.name = StrCat("f", i), .type = EntryType::kFile, .size = 0, .hash = empty});
  }
  std::sort(files.begin(), files.end(),
            [](const TreeEntry& a, const TreeEntry& b) { return a.name < b.name; });
  Hash root = Put(EncodeTree(files).value());
  AddRelease("wide", "1.0", root);
  uint64_t dir = Path("wide@1.0");
  ASSERT_NE(dir, 0u);

  std::vector<std::string> names;
  std::vector<uint64_t> inos;
  for (size_t offset = 0;;) {
    size_t got = 0;
    DistFs::DirPlusSink sink{.fits = [&](const std::string&) { return got < kPerCall; },
                             .add =
                                 [&](const std::string& name, const EntryReply& e) {
                                   ++got;
                                   names.push_back(name);
                                   inos.push_back(e.attr.ino);
                                 }};
    ASSERT_EQ(fs_.ReadDirPlus(dir, offset, sink), 0);
    if (got == 0) break;
    offset += got;
  }
  ASSERT_EQ(names.size(), kEntries);
  EXPECT_EQ(names.front(), files.front().name);
  EXPECT_EQ(names.back(), files.back().name);
  // Each entry delivered is one lookup.
  std::set<uint64_t> distinct(inos.begin(), inos.end());
  EXPECT_EQ(distinct.size(), kEntries);
  for (uint64_t ino : {inos.front(), inos[kEntries / 2], inos.back()}) {
    EXPECT_EQ(fs_.inodes().lookups(ino), 1u);
  }
  // Only what fitted was looked up: an entry looked up and given back would
  // have used an inode number (they are never reused), leaving a gap where
  // one call ends.
  for (size_t i = 1; i < inos.size(); ++i) {
    ASSERT_EQ(inos[i], inos[i - 1] + 1) << "a lookup thrown away before entry " << i;
  }
  EXPECT_EQ(fs_.inodes().size(), kEntries + 2);  // and the root and wide@1.0
}

TEST_F(DistFsTest, AReaddirplusReplyTheKernelNeverTookGivesItsLookupsBack) {
  // A reply to an interrupted request is refused by the kernel, which then
  // counts none of its lookups; they were kept here, and pinned their
  // content forever.
  Hash root = Publish("app", "1.0");
  ASSERT_TRUE(catalog_->ApplyLive(Live("app", "1.0", 1, root)).value());
  uint64_t dir = Path("app@1.0");
  ASSERT_NE(dir, 0u);
  const size_t before = fs_.inodes().size();
  auto refused = [](const char*, size_t) { return -ENOENT; };
  ASSERT_EQ(ReplyDirPlus(&fs_, dir, 4096, 0, refused), 0);
  EXPECT_EQ(fs_.inodes().size(), before) << "every lookup of the lost reply was taken back";
  size_t sent = 0;
  auto taken = [&](const char*, size_t len) {
    sent = len;
    return 0;
  };
  ASSERT_EQ(ReplyDirPlus(&fs_, dir, 4096, 0, taken), 0);
  EXPECT_GT(sent, 0u);
  EXPECT_EQ(fs_.inodes().size(), before + 3) << "bin, lib and link, counted by the kernel";
}

TEST_F(DistFsTest, VersionTreeAttributesAndContent) {
  Publish("app", "1.0");
  uint64_t tool = Path("app@1.0/bin/tool");
  ASSERT_NE(tool, 0u);
  Attr a;
  double timeout;
  ASSERT_EQ(fs_.GetAttr(tool, &a, &timeout), 0);
  EXPECT_EQ(a.mode, S_IFREG | 0555u);
  EXPECT_GE(timeout, 3600) << "immutable: long kernel caching";
  EXPECT_EQ(a.mtime_ms, 1700000000000);
  EXPECT_EQ(ReadAll(tool, a.size), "#!/bin/sh\necho 1.0\n");

  uint64_t big = Path("app@1.0/lib/big");
  ASSERT_EQ(fs_.GetAttr(big, &a, &timeout), 0);
  EXPECT_EQ(a.mode, S_IFREG | 0444u);
  EXPECT_EQ(ReadAll(big, a.size),
            std::string(3000, 'a') + std::string(2000, 'b') + "1.0" + std::string(1000, 'c'));
  std::vector<Segment> segments;
  uint64_t fh;
  ASSERT_EQ(fs_.Open(big, &fh), 0);
  ASSERT_EQ(fs_.Read(fh, 2990, 20, &segments), 0);
  ASSERT_EQ(segments.size(), 2u) << "a read across a chunk boundary spans two objects";
  EXPECT_EQ(segments[0].len + segments[1].len, 20u);
  EXPECT_EQ(fs_.open_files(), 2u) << "both files' content is pinned while the kernel holds them";
  size_t pinned = cache_->pinned();
  fs_.Forget(big, fs_.inodes().lookups(big));
  EXPECT_EQ(cache_->pinned(), pinned - 3) << "forgetting the inode unpins its three chunks";
  EXPECT_EQ(fs_.open_files(), 1u);

  std::string target;
  ASSERT_EQ(fs_.ReadLink(Path("app@1.0/link"), &target), 0);
  EXPECT_EQ(target, "bin/tool");
  int err;
  Lookup(Path("app@1.0/bin"), "nope", &err);
  EXPECT_EQ(err, ENOENT);
  EXPECT_EQ(Path("app@9.9"), 0u);
  EXPECT_EQ(fs_.Open(Path("app@1.0/bin"), &fh), EISDIR);
}

TEST_F(DistFsTest, FlipGivesNewLookupsANewSymlinkAndKeepsTheOld) {
  Hash r1 = Publish("app", "1.0"), r2 = Publish("app", "2.0");
  ASSERT_TRUE(catalog_->ApplyLive(Live("app", "1.0", 1, r1)).value());
  uint64_t before = Lookup(InodeTable::kRoot, "app");
  ASSERT_TRUE(catalog_->ApplyLive(Live("app", "2.0", 2, r2)).value());
  uint64_t after = Lookup(InodeTable::kRoot, "app");
  EXPECT_NE(before, after);
  std::string t1, t2;
  ASSERT_EQ(fs_.ReadLink(before, &t1), 0);
  ASSERT_EQ(fs_.ReadLink(after, &t2), 0);
  EXPECT_EQ(t1, "app@1.0");
  EXPECT_EQ(t2, "app@2.0");
  EXPECT_FALSE(catalog_->ApplyLive(Live("app", "1.0", 1, r1)).ok()) << "a replay is refused";
  EXPECT_FALSE(catalog_->ApplyLive(Live("app", "2.0", 2, r2)).value())
      << "a resend changes nothing";
}

TEST_F(DistFsTest, LiveVersionResolvesFromItsLiveRecordAlone) {
  Hash root = Publish("app", "1.0");
  releases_.clear();  // the release record cannot be had (not served, or no replica)
  ASSERT_TRUE(catalog_->ApplyLive(Live("app", "1.0", 1, root)).value());
  uint64_t tool = Path("app@1.0/bin/tool");
  ASSERT_NE(tool, 0u);
  EXPECT_EQ(ReadAll(tool, 19), "#!/bin/sh\necho 1.0\n");
  EXPECT_EQ(Path("app@2.0"), 0u) << "other versions still need their release";
}

TEST_F(DistFsTest, PythonSourcesReportTheMtimeTheirPycRecorded) {
  std::string source = "print('hi')\n";
  auto u32 = [](uint32_t v) {
    return std::string{static_cast<char>(v), static_cast<char>(v >> 8), static_cast<char>(v >> 16),
                       static_cast<char>(v >> 24)};
  };
  std::string pyc = "\xa7\x0d\x0d\x0a" + u32(0) + u32(1600000000) + u32(source.size()) + "code";
  std::string stale = "\xa7\x0d\x0d\x0a" + u32(0) + u32(1500000000) + u32(999) + "code";
  Hash cache = Put(EncodeTree({{.name = "mod.cpython-311.pyc",
                                .type = EntryType::kFile,
                                .size = pyc.size(),
                                .hash = Put(pyc)},
                               {.name = "other.cpython-311.pyc",
                                .type = EntryType::kFile,
                                .size = stale.size(),
                                .hash = Put(stale)}})
                       .value());
  Hash root = Put(
      EncodeTree(
          {{.name = "__pycache__", .type = EntryType::kDir, .hash = cache},
           {.name = "mod.py", .type = EntryType::kFile, .size = source.size(), .hash = Put(source)},
           {.name = "other.py",
            .type = EntryType::kFile,
            .size = source.size(),
            .hash = Put(source)}})
          .value());
  AddRelease("py", "1", root, 1700000000000);
  Attr a;
  double timeout;
  ASSERT_EQ(fs_.GetAttr(Path("py@1/mod.py"), &a, &timeout), 0);
  EXPECT_EQ(a.mtime_ms, 1600000000000) << "the .pyc's recorded source mtime";
  ASSERT_EQ(fs_.GetAttr(Path("py@1/other.py"), &a, &timeout), 0);
  EXPECT_EQ(a.mtime_ms, 1700000000000) << "a .pyc of another size does not count";
}

TEST_F(DistFsTest, TamperedRecordsAreRefused) {
  Hash r1 = Publish("app", "1.0");
  Envelope bad = Live("app", "1.0", 1, r1);
  (*bad.mutable_payload())[2] ^= 1;
  EXPECT_TRUE(absl::IsUnauthenticated(catalog_->ApplyLive(bad).status()));
  EXPECT_FALSE(catalog_->Live("app").has_value());
  (*releases_["app"][0].mutable_payload())[5] ^= 1;
  EXPECT_EQ(Path("app@1.0"), 0u) << "a release that does not verify names nothing";
}

TEST_F(DistFsTest, CorruptTreeIsAnErrorNotAPath) {
  // A root whose "bin" names a blob, not a tree object.
  Hash blob = Put("plain bytes, not a tree");
  Hash bad_root = Put(EncodeTree({{.name = "bin", .type = EntryType::kDir, .hash = blob}}).value());
  AddRelease("bad", "1", bad_root);
  int err;
  Lookup(Path("bad@1/bin"), "x", &err);
  EXPECT_EQ(err, EIO);
}

TEST_F(DistFsTest, OpeningAFileFetchesItsSiblingsInOneGo) {
  std::vector<TreeEntry> files;
  for (int i = 0; i < 10; ++i) {
    std::string content = "file " + std::to_string(i);
    files.push_back({.name = "f" + std::to_string(i),
                     .type = EntryType::kFile,
                     .size = content.size(),
                     .hash = Put(content)});
  }
  Hash root = Put(EncodeTree(files).value());
  AddRelease("many", "1", root);
  EXPECT_EQ(ReadAll(Path("many@1/f0"), 6), "file 0");
  // The siblings arrive in the background, in one request.
  ASSERT_TRUE(testing::WaitFor([&] {
    for (const TreeEntry& f : files) {
      if (!content_.Cached(f.hash)) return false;
    }
    return true;
  }));
  int after_first = fetched_;
  for (int i = 1; i < 10; ++i) {
    EXPECT_EQ(ReadAll(Path("many@1/f" + std::to_string(i)), 6), "file " + std::to_string(i));
  }
  EXPECT_EQ(fetched_, after_first) << "the siblings came with the first open";
}

TEST_F(DistFsTest, ReadingThroughATreeInOrderReadsAhead) {
  // No sibling prefetch: whatever comes ahead comes from the readahead.
  DistFs fs(catalog_.get(), &content_,
            {.prefetch_bytes = 0, .readahead_min_bytes = 4000, .readahead_max_bytes = 32000});
  std::vector<std::vector<Hash>> files;
  std::vector<TreeEntry> dirs;
  for (int d = 0; d < 20; ++d) {
    std::vector<TreeEntry> entries;
    files.emplace_back();
    for (int f = 0; f < 4; ++f) {
      std::string content = StrCat(std::string(4, static_cast<char>('a' + f)), d, "/", f);
      content.resize(1000, '.');
      files.back().push_back(Put(content));
      entries.push_back({.name = StrCat("f", f),
                         .type = EntryType::kFile,
                         .size = 1000,
                         .hash = files.back().back()});
    }
    dirs.push_back({.name = StrCat("d", d < 10 ? "0" : "", d),
                    .type = EntryType::kDir,
                    .size = 4000,
                    .hash = Put(EncodeTree(entries).value())});
  }
  Hash root = Put(EncodeTree(dirs).value());
  AddRelease("walk", "1", root);

  auto path = [&](int d, int f) {
    return Path(StrCat("walk@1/d", d < 10 ? "0" : "", d, "/f", f), &fs);
  };
  auto read = [&](int d, int f) {
    std::vector<Segment> segments;
    EXPECT_EQ(fs.Read(path(d, f), 0, 1000, &segments), 0);
    return segments.size() == 1 ? segments[0].data->substr(0, 4) : "";
  };
  ASSERT_NE(path(0, 0), 0u);
  ASSERT_TRUE(testing::WaitFor([&] { return fs.WalkReady("walk", "1"); }));

  // A read in the middle: a small window ahead of it, nothing far away.
  EXPECT_EQ(read(10, 0), "aaaa");
  ASSERT_TRUE(testing::WaitFor([&] { return content_.Cached(files[10][3]); }));
  EXPECT_FALSE(content_.Cached(files[12][0])) << "a scattered read reads little ahead";
  EXPECT_FALSE(content_.Cached(files[0][0]));

  // Reading in walk order: what comes next is fetched before it is read,
  // further and further ahead.
  for (int d = 0; d < 6; ++d) {
    for (int f = 0; f < 4; ++f) EXPECT_EQ(read(d, f)[0], 'a' + f);
    ASSERT_TRUE(testing::WaitFor([&] { return content_.Cached(files[d + 1][3]); }))
        << "the next directory is fetched ahead of the reader, after d" << d;
  }
  ASSERT_TRUE(testing::WaitFor([&] { return content_.Cached(files[11][0]); }))
      << "the window grew while the reads followed the walk";
  // Not read yet, and no request of their own: they come with the window.
  ASSERT_TRUE(testing::WaitFor([&] {
    for (int d = 6; d < 8; ++d) {
      for (int f = 0; f < 4; ++f) {
        if (!content_.Cached(files[d][f])) return false;
      }
    }
    return true;
  })) << "d06 and d07 come ahead of their reads";
  for (int d = 6; d < 8; ++d) {
    for (int f = 0; f < 4; ++f) EXPECT_EQ(read(d, f)[0], 'a' + f);
  }
}

TEST_F(DistFsTest, AVersionWithAnotherVersionsRootGetsItsWalkToo) {
  // Walks were de-duplicated by root but stored by version: a re-push of
  // the same content under a new version never got readahead.
  Hash root = Publish("app", "1.0");
  AddRelease("app", "1.1", root);  // the same tree
  ASSERT_NE(Path("app@1.0/bin/tool"), 0u);
  ASSERT_TRUE(testing::WaitFor([&] { return fs_.WalkReady("app", "1.0"); }));
  ASSERT_NE(Path("app@1.1/bin/tool"), 0u);
  EXPECT_TRUE(testing::WaitFor([&] { return fs_.WalkReady("app", "1.1"); }));
}

// A large file's first bytes are served while its later chunks are still
// coming; those come in the background, ahead of the reader.
TEST_F(DistFsTest, ABigFilesFirstBytesComeBeforeItsLastChunk) {
  Publish("app", "1.0");
  const Hash last = Sha256(std::string(1000, 'c'));
  Hold(last);
  uint64_t big = Path("app@1.0/lib/big");
  std::vector<Segment> segments;
  ASSERT_EQ(fs_.Read(big, 0, 100, &segments), 0) << "not waiting for the held last chunk";
  ASSERT_EQ(segments.size(), 1u);
  EXPECT_EQ(segments[0].data->substr(segments[0].pos, segments[0].len), std::string(100, 'a'));
  EXPECT_FALSE(content_.Cached(last));
  ReleaseAll();
  EXPECT_TRUE(testing::WaitFor([&] { return content_.Cached(last); }))
      << "the rest of the file was asked for ahead of the reader";
  EXPECT_EQ(ReadAll(big, 6003).substr(5003), std::string(1000, 'c'));
  size_t pinned = cache_->pinned();
  fs_.Forget(big, fs_.inodes().lookups(big));
  EXPECT_EQ(cache_->pinned(), pinned - 3) << "each chunk pinned once, at its first read";
}

TEST_F(DistFsTest, OfflineServesCachedAndFailsUncachedWithEio) {
  Hash root = Publish("app", "1.0");
  ASSERT_TRUE(catalog_->ApplyLive(Live("app", "1.0", 1, root)).value());
  uint64_t tool = Path("app@1.0/bin/tool");
  ASSERT_NE(tool, 0u);
  EXPECT_EQ(ReadAll(tool, 19), "#!/bin/sh\necho 1.0\n");
  uint64_t big = Path("app@1.0/lib/big");  // its chunks are not fetched yet
  offline_ = true;
  EXPECT_EQ(ReadAll(tool, 19), "#!/bin/sh\necho 1.0\n");
  uint64_t fh;
  EXPECT_EQ(fs_.Open(big, &fh), EIO);
  int err;
  Lookup(Path("app@1.0"), "not-cached-anyway", &err);
  EXPECT_EQ(err, ENOENT) << "the root tree is cached: a missing name is still ENOENT";
}

TEST_F(DistFsTest, ExtendedAttributesSayWhereAPathCameFrom) {
  Hash root = Publish("app", "1.0");
  ASSERT_TRUE(catalog_->ApplyLive(Live("app", "1.0", 3, root)).value());
  std::string v;
  uint64_t tool = Path("app@1.0/bin/tool");
  ASSERT_EQ(fs_.GetXattr(tool, "user.vms.app", &v), 0);
  EXPECT_EQ(v, "app");
  ASSERT_EQ(fs_.GetXattr(tool, "user.vms.version", &v), 0);
  EXPECT_EQ(v, "1.0");
  ASSERT_EQ(fs_.GetXattr(tool, "user.vms.hash", &v), 0);
  EXPECT_EQ(v, Sha256("#!/bin/sh\necho 1.0\n").Hex());
  // The live pointer's facts are on the live version's top directory
  // (Linux refuses user.* attributes on the symlink itself).
  uint64_t top = Path("app@1.0");
  ASSERT_EQ(fs_.GetXattr(top, "user.vms.live_seq", &v), 0);
  EXPECT_EQ(v, "3");
  ASSERT_EQ(fs_.GetXattr(top, "user.vms.live_since", &v), 0);
  EXPECT_EQ(v.size(), 24u) << v;  // 2026-11-25T15:04:05.123Z
  Hash other = Publish("app", "2.0");
  ASSERT_TRUE(catalog_->ApplyLive(Live("app", "2.0", 4, other)).value());
  EXPECT_EQ(fs_.GetXattr(top, "user.vms.live_seq", &v), ENODATA) << "1.0 is no longer live";
  ASSERT_EQ(fs_.GetXattr(Path("app@2.0"), "user.vms.live_seq", &v), 0);
  EXPECT_EQ(v, "4");
  EXPECT_EQ(fs_.GetXattr(tool, "user.other", &v), ENODATA);
  std::vector<std::string> names;
  ASSERT_EQ(fs_.ListXattr(tool, &names), 0);
  EXPECT_GE(names.size(), 3u);
}

TEST_F(DistFsTest, LookingUpManyMissingVersionsCostsOneRequestAndNoRewrite) {
  // Every lookup of an unknown APP@VERSION once asked a replica and
  // rewrote (and fsynced) the catalog.
  Hash root = Publish("app", "1.0");
  ASSERT_TRUE(catalog_->ApplyLive(Live("app", "1.0", 1, root)).value());
  ASSERT_NE(Path("app@1.0"), 0u);
  struct stat before;
  ASSERT_EQ(stat((dir_ / "catalog").c_str(), &before), 0);
  const int queries = release_queries_;
  for (int i = 0; i < 10000; ++i) {
    int err = 0;
    EXPECT_EQ(Lookup(InodeTable::kRoot, "app@9." + std::to_string(i), &err), 0u);
    ASSERT_EQ(err, ENOENT);
  }
  EXPECT_LE(release_queries_ - queries, 1) << "misses answered from memory";
  struct stat after;
  ASSERT_EQ(stat((dir_ / "catalog").c_str(), &after), 0);
  EXPECT_EQ(after.st_ino, before.st_ino) << "the catalog was not rewritten";
  // The price: a version pushed a moment after a miss is found only once
  // the miss has aged (Catalog::kMissTtl); a flip to it names it at once.
  AddRelease("app", "2.0", root);
  EXPECT_EQ(Path("app@2.0"), 0u) << "within the miss TTL";
  ASSERT_TRUE(catalog_->ApplyLive(Live("app", "2.0", 2, root)).value());
  EXPECT_NE(Path("app@2.0"), 0u) << "the live record resolves it";
}

// Attack run 2, fault 22: every spelling of an instant under /.at stayed an
// inode the kernel kept (220,000 lookups: +85 MB), and each lookup of a
// made-up app there asked a replica.
TEST_F(DistFsTest, AsOfNamesAreNotCachedAndUnknownAppsCostNoRequest) {
  Hash root = Publish("app", "1.0");
  ASSERT_TRUE(catalog_->ApplyLive(Live("app", "1.0", 1, root)).value());
  int history_queries = 0;
  catalog_->SetHistorySource([&](const std::string& app) -> absl::StatusOr<std::vector<Envelope>> {
    ++history_queries;
    return std::vector<Envelope>{Live("app", "1.0", 1, root)};
  });
  uint64_t at = Lookup(InodeTable::kRoot, DistFs::kAtName);
  ASSERT_NE(at, 0u);
  const size_t base = fs_.inodes().size();
  for (int i = 0; i < 1000; ++i) {
    // "@1800000000", "@01800000000", ...: one instant, many spellings.
    EntryReply instant;
    ASSERT_EQ(fs_.Lookup(at, "@" + std::string(i % 3, '0') + std::to_string(1800000000 + i / 3),
                         &instant),
              0);
    EXPECT_EQ(instant.entry_timeout_s, 0) << "the kernel keeps no name of an instant";
    EntryReply link, made_up;
    ASSERT_EQ(fs_.Lookup(instant.attr.ino, "app", &link), 0);
    EXPECT_EQ(link.entry_timeout_s, 0);
    EXPECT_EQ(fs_.Lookup(instant.attr.ino, "nosuchapp" + std::to_string(i), &made_up), ENOENT);
    // What the kernel does with a name it may not keep: forgets it.
    fs_.Forget(link.attr.ino, 1);
    fs_.Forget(instant.attr.ino, 1);
  }
  EXPECT_EQ(fs_.inodes().size(), base);
  EXPECT_EQ(history_queries, 1) << "one fetch of app's history, none for the made-up apps";
}

// Attack run 2, fault 12: the census is told at once of a version looked up
// that it has not seen (or not in the last minute), so that its reporter
// reports now rather than at the next interval.
TEST_F(DistFsTest, ANewUseOfAVersionTellsTheCensusAtOnce) {
  testing::FakeClock clock;
  HostCensus census("/dist", &clock, dir_ / "no-proc");
  int told = 0;
  census.SetOnNewUse([&] { ++told; });
  fs_.SetCensus(&census);
  Publish("app", "1.0");
  Publish("app", "2.0");
  ASSERT_NE(Path("app@1.0"), 0u);
  EXPECT_EQ(told, 1);
  ASSERT_NE(Path("app@1.0"), 0u);
  EXPECT_EQ(told, 1) << "the same use, just reported";
  ASSERT_NE(Path("app@2.0"), 0u);
  EXPECT_EQ(told, 2);
  clock.Advance(std::chrono::milliseconds(HostCensus::kReportAgainAfterMs));
  ASSERT_NE(Path("app@1.0"), 0u);
  EXPECT_EQ(told, 3) << "idle for a minute: new again";
  fs_.SetCensus(nullptr);
}

TEST_F(DistFsTest, StatFsReportsTheCacheNotZeros) {
  DistFs::FsStats empty = fs_.StatFs();
  EXPECT_EQ(empty.blocks * empty.block_size, uint64_t{1} << 30);  // the cache's bound
  EXPECT_EQ(empty.blocks_free, empty.blocks);
  EXPECT_GT(empty.inodes, 0u);
  Publish("app", "1.0");
  uint64_t tool = Path("app@1.0/bin/tool");
  ReadAll(tool, 20);
  DistFs::FsStats used = fs_.StatFs();
  EXPECT_LT(used.blocks_free, used.blocks) << "what the cache holds is used";
  EXPECT_LT(used.inodes_free, empty.inodes_free) << "the inodes the kernel holds";
}

TEST_F(DistFsTest, ForgetReleasesInodes) {
  Publish("app", "1.0");
  size_t base = fs_.inodes().size();
  uint64_t dir = Path("app@1.0");
  uint64_t bin = Lookup(dir, "bin");
  Lookup(dir, "bin");
  EXPECT_EQ(fs_.inodes().lookups(bin), 2u);
  fs_.Forget(bin, 2);
  fs_.Forget(dir, 1);
  EXPECT_EQ(fs_.inodes().size(), base);
}

TEST_F(DistFsTest, CatalogSurvivesRestartWithoutAsking) {
  Hash root = Publish("app", "1.0");
  ASSERT_TRUE(catalog_->ApplyLive(Live("app", "1.0", 1, root)).value());
  ASSERT_NE(Path("app@1.0"), 0u);
  int queries = release_queries_;
  auto reopened = Catalog::Open(
      dir_ / "catalog", TrustChain::MasterKeyOnly(key_.public_key()), [](const std::string&) {
        return absl::StatusOr<std::vector<Envelope>>(absl::UnavailableError("offline"));
      });
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ((*reopened)->Live("app")->version, "1.0");
  auto release = (*reopened)->Release("app", "1.0");
  ASSERT_TRUE(release.ok()) << release.status();
  ASSERT_TRUE(release->has_value());
  EXPECT_EQ((*release)->root, root);
  EXPECT_EQ(release_queries_, queries);
  EXPECT_FALSE((*reopened)->ApplyLive(Live("app", "1.0", 1, root)).value())
      << "the accepted seq survived too";
}

}  // namespace
}  // namespace vms
