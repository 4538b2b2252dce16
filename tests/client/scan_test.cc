#include "client/scan.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

#include <filesystem>
#include <tuple>

#include "core/chunker.h"
#include "core/file_util.h"
#include "core/tree.h"
#include "gtest/gtest.h"
#include "tests/testing/testing.h"

namespace vms {
namespace {

using testing::TempDir;
using testing::WriteFile;

absl::StatusOr<Snapshot> Scan(const std::string& dir, StatCache* cache = nullptr) {
  static ThreadPool pool(2);
  return ScanTree(dir, {.pool = &pool, .cache = cache});
}

const ObjectSource* Find(const Snapshot& s, const Hash& h) {
  for (const ObjectSource& o : s.objects) {
    if (o.hash == h) return &o;
  }
  return nullptr;
}

std::vector<TreeEntry> RootEntries(const Snapshot& s) {
  return DecodeTree(Find(s, s.root)->inline_data).value();
}

TEST(ScanTest, SameContentSameRootWhateverTheCreationOrder) {
  TempDir a, b;
  WriteFile(a / "x/1", "one");
  WriteFile(a / "y", "two", 0755);
  WriteFile(b / "y", "two", 0755);
  WriteFile(b / "x/1", "one");
  auto sa = Scan(a.path()), sb = Scan(b.path());
  ASSERT_TRUE(sa.ok() && sb.ok());
  EXPECT_EQ(sa->root, sb->root);
  chmod((b / "y").c_str(), 0644);  // the exec bit is content
  EXPECT_NE(Scan(b.path())->root, sa->root);
}

TEST(ScanTest, CountsAndDeduplicatesObjects) {
  TempDir d;
  WriteFile(d / "a", "same");
  WriteFile(d / "b", "same");
  WriteFile(d / "sub/c", "other");
  auto s = Scan(d.path()).value();
  EXPECT_EQ(s.files, 3u);
  EXPECT_EQ(s.bytes, 13u);
  EXPECT_EQ(s.dirs, 2u);
  EXPECT_EQ(s.objects.size(), 4u);  // "same", "other", two trees
}

TEST(ScanTest, SymlinksAreStoredNotFollowed) {
  TempDir d, outside;
  WriteFile(outside / "secret", "do not publish");
  WriteFile(d / "bin/tool", "#!/bin/sh\n", 0755);
  std::filesystem::create_symlink(outside.path(), d / "escape");
  std::filesystem::create_symlink("bin/tool", d / "tool");
  auto s = Scan(d.path()).value();
  EXPECT_EQ(s.files, 1u);
  EXPECT_EQ(s.symlinks, 2u);
  for (const TreeEntry& e : RootEntries(s)) {
    if (e.name == "escape") {
      EXPECT_EQ(e.type, EntryType::kSymlink);
      EXPECT_EQ(e.target, outside.path());
    }
  }
}

TEST(ScanTest, TopDirMayBeASymlink) {
  TempDir d;
  WriteFile(d / "1.0/f", "x");
  std::filesystem::create_symlink("1.0", d / "current");
  auto via_link = Scan(d / "current");
  ASSERT_TRUE(via_link.ok()) << via_link.status();
  EXPECT_EQ(via_link->root, Scan(d / "1.0")->root);
}

TEST(ScanTest, ModesAreNormalised) {
  TempDir d;
  WriteFile(d / "suid", "x", 04755);
  WriteFile(d / "plain", "y", 0664);
  WriteFile(d / "group-exec", "z", 0614);
  auto s = Scan(d.path()).value();
  for (const TreeEntry& e : RootEntries(s)) {
    EXPECT_EQ(e.exec, e.name == "suid") << e.name;
  }
}

TEST(ScanTest, HardLinksBecomeSeparateEntries) {
  TempDir d;
  WriteFile(d / "a", "linked");
  std::filesystem::create_hard_link(d / "a", d / "b");
  auto s = Scan(d.path()).value();
  EXPECT_EQ(s.files, 2u);
  auto entries = RootEntries(s);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].hash, entries[1].hash);
}

TEST(ScanTest, RefusesFifoNamingThePath) {
  TempDir d;
  WriteFile(d / "ok", "fine");
  std::filesystem::create_directories(d / "run");
  ASSERT_EQ(mkfifo((d / "run/pipe").c_str(), 0644), 0);
  auto s = Scan(d.path()).status();
  EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
  EXPECT_NE(s.message().find(d / "run/pipe"), std::string::npos) << s;
  EXPECT_NE(s.message().find("FIFO"), std::string::npos) << s;
}

TEST(ScanTest, RefusesSocketNamingThePath) {
  TempDir d;
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::string path = d / "sock";
  ASSERT_LT(path.size(), sizeof addr.sun_path);
  std::strcpy(addr.sun_path, path.c_str());
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  auto s = Scan(d.path()).status();
  close(fd);
  EXPECT_NE(s.message().find("socket"), std::string::npos) << s;
  EXPECT_NE(s.message().find(path), std::string::npos) << s;
}

TEST(ScanTest, RefusesDeviceFiles) {
  TempDir d;
  if (mknod((d / "null").c_str(), S_IFCHR | 0666, makedev(1, 3)) != 0) {
    GTEST_SKIP() << "mknod needs CAP_MKNOD; FIFO and socket cases cover the rule";
  }
  auto s = Scan(d.path()).status();
  EXPECT_NE(s.message().find("character device"), std::string::npos) << s;
}

TEST(ScanTest, RefusesWhatOthersMayNotReadNamingItAndTheFix) {
  // Every host serves a version to every user: a root-only file pushed as
  // root would become world-readable everywhere.
  for (auto [path, mode, fix] :
       {std::tuple{"etc/key", 0600, "chmod o+r"}, std::tuple{"etc/none", 0000, "chmod o+r"},
        std::tuple{"etc/group-only", 0640, "chmod o+r"}}) {
    TempDir d;
    WriteFile(d / "ok", "fine");
    WriteFile(d / path, "secret", mode);
    auto s = Scan(d.path()).status();
    EXPECT_TRUE(absl::IsPermissionDenied(s)) << s;
    EXPECT_NE(s.message().find(d / path), std::string::npos) << s;
    EXPECT_NE(s.message().find(fix), std::string::npos) << s;
  }
  TempDir d;
  WriteFile(d / "private/f", "x");
  chmod((d / "private").c_str(), 0750);
  auto s = Scan(d.path()).status();
  EXPECT_NE(s.message().find(d / "private"), std::string::npos) << s;
  EXPECT_NE(s.message().find("chmod o+rx"), std::string::npos) << s;
  // The top directory's own mode is not part of the version.
  chmod((d / "private").c_str(), 0755);
  chmod(d.path().c_str(), 0700);
  EXPECT_TRUE(Scan(d.path()).ok());
}

TEST(ScanTest, RefusesAVersionBeyondItsShapeLimitsNamingTheFlag) {
  static ThreadPool pool(2);
  TempDir d;
  for (int i = 0; i < 11; ++i) WriteFile(d / ("wide/f" + std::to_string(i)), "x");
  WriteFile(d / "a/b/c/d/e", "deep");
  auto scan = [&](ShapeLimits limits) {
    return ScanTree(d.path(), {.pool = &pool, .limits = limits}).status();
  };
  EXPECT_TRUE(scan({}).ok());

  absl::Status wide = scan({.dir_entries = 10});
  EXPECT_TRUE(absl::IsInvalidArgument(wide)) << wide;
  EXPECT_NE(wide.message().find(d / "wide"), std::string::npos) << wide;
  EXPECT_NE(wide.message().find("more than 10 entries"), std::string::npos) << wide;
  EXPECT_NE(wide.message().find("--max-dir-entries"), std::string::npos) << wide;

  absl::Status deep = scan({.depth = 3});
  EXPECT_NE(deep.message().find(d / "a/b/c/d"), std::string::npos) << deep;
  EXPECT_NE(deep.message().find("--max-depth"), std::string::npos) << deep;
  EXPECT_TRUE(scan({.depth = 4}).ok());

  absl::Status many = scan({.files = 11});
  EXPECT_NE(many.message().find("more than 11 files"), std::string::npos) << many;
  EXPECT_NE(many.message().find("--max-files"), std::string::npos) << many;
  EXPECT_TRUE(scan({.files = 12}).ok());
}

TEST(ScanTest, AVeryLongPathIsShortenedInMessages) {
  TempDir d;
  std::string path = d.path();
  for (int i = 0; i < 30; ++i) path += "/" + std::string(100, 'a' + i % 26);
  std::filesystem::create_directories(path);
  ASSERT_EQ(mkfifo((path + "/pipe").c_str(), 0644), 0);
  auto s = Scan(d.path()).status();
  EXPECT_NE(s.message().find("FIFO"), std::string::npos) << s;
  EXPECT_NE(s.message().find("/pipe (a path of"), std::string::npos) << s;
  EXPECT_LT(s.message().size(), 400u) << s;
}

TEST(ScanTest, RefusesMissingDirAndRegularFile) {
  TempDir d;
  WriteFile(d / "file", "x");
  auto missing = Scan(d / "nope").status();
  EXPECT_TRUE(absl::IsNotFound(missing)) << missing;
  EXPECT_NE(missing.message().find(d / "nope"), std::string::npos);
  auto not_dir = Scan(d / "file").status();
  EXPECT_NE(not_dir.message().find("not a directory"), std::string::npos) << not_dir;
}

TEST(ScanTest, LargeFilesAreChunked) {
  TempDir d;
  std::string big = testing::RandomBytes(kChunkThreshold + (5 << 20), 5);
  WriteFile(d / "big", big);
  auto s = Scan(d.path()).value();
  auto entries = RootEntries(s);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_TRUE(entries[0].chunked);
  auto chunks = DecodeChunkList(Find(s, entries[0].hash)->inline_data).value();
  EXPECT_GE(chunks.size(), 2u);
  uint64_t offset = 0;
  for (const ChunkRef& c : chunks) {
    const ObjectSource* o = Find(s, c.hash);
    ASSERT_NE(o, nullptr);
    EXPECT_EQ(o->offset, offset);
    EXPECT_EQ(c.hash, Sha256(std::string_view(big).substr(offset, c.size)));
    offset += c.size;
  }
  EXPECT_EQ(offset, big.size());
}

TEST(ScanTest, StatCacheSkipsReadingUnchangedFiles) {
  TempDir d, cache_dir;
  WriteFile(d / "f", "real content");
  // Back-date the file so it is not "racy" (modified just before the scan).
  struct timespec old[2] = {{1000000, 0}, {1000000, 0}};
  utimensat(AT_FDCWD, (d / "f").c_str(), old, 0);
  struct stat st;
  stat((d / "f").c_str(), &st);

  // A cache that claims another digest for exactly this (dev, ino, size,
  // mtime, ctime) proves the scan used it instead of reading the file.
  int64_t now_ns = (static_cast<int64_t>(time(nullptr)) + 10) * 1000000000LL;
  StatCache planted(cache_dir / "cache", now_ns);
  planted.Remember(StatKey::Of(st), {.hash = Sha256("planted")});
  ASSERT_TRUE(planted.Save().ok());

  StatCache cache(cache_dir / "cache", now_ns);
  cache.Load();
  auto s = Scan(d.path(), &cache).value();
  EXPECT_EQ(RootEntries(s)[0].hash, Sha256("planted"));

  WriteFile(d / "f", "real content");  // rewritten: new mtime and ctime
  auto fresh = Scan(d.path(), &cache).value();
  EXPECT_EQ(RootEntries(fresh)[0].hash, Sha256("real content"));
}

// Bytes this process has asked read(2) and friends for so far.
uint64_t BytesRead() {
  std::string io = testing::ReadFileOrDie("/proc/self/io");
  size_t at = io.find("rchar: ");
  return at == std::string::npos ? 0 : std::stoull(io.substr(at + 7));
}

// A sparse file is chunked exactly as the same bytes written out, without
// reading its holes.
TEST(ScanTest, HolesAreNotReadAndChunkAsTheZerosTheyAre) {
  TempDir sparse, dense;
  constexpr uint64_t kSize = 256ull << 20, kDataAt = 100ull << 20;
  const std::string data = testing::RandomBytes(1 << 20, 7);
  {
    Fd fd(open((sparse / "big").c_str(), O_WRONLY | O_CREAT, 0644));
    ASSERT_TRUE(fd.valid());
    ASSERT_EQ(ftruncate(fd.get(), kSize), 0);
    ASSERT_EQ(pwrite(fd.get(), data.data(), data.size(), kDataAt),
              static_cast<ssize_t>(data.size()));
  }
  {
    std::string bytes(kSize, '\0');
    bytes.replace(kDataAt, data.size(), data);
    WriteFile(dense / "big", bytes);
  }
  uint64_t before = BytesRead();
  auto s = Scan(sparse.path());
  uint64_t read = BytesRead() - before;
  ASSERT_TRUE(s.ok()) << s.status();
  auto d = Scan(dense.path());
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(s->root, d->root) << "the same chunks, the same tree";
  EXPECT_LT(read, 80ull << 20) << "the holes (255 of 256 MiB) were read";
}

}  // namespace
}  // namespace vms
