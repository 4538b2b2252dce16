#include "tests/testing/trees.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "core/codec.h"
#include "core/envelope.h"
#include "core/strings.h"
#include "core/tree.h"
#include "net/rpc.h"
#include "tests/testing/testing.h"

namespace vms::testing {

namespace fs = std::filesystem;

namespace {

absl::StatusOr<std::string> GetObject(Read::Stub* stub, const Hash& h) {
  GetObjectsRequest req;
  req.add_hashes(std::string(h.View()));
  grpc::ClientContext ctx;
  auto reader = stub->GetObjects(&ctx, req);
  ObjectBatch batch;
  std::string raw;
  bool got = false;
  while (reader->Read(&batch)) {
    for (const Object& o : batch.objects()) {
      auto codec = CodecFromWire(o.codec());
      if (!codec.ok()) return codec.status();
      auto decoded = Decode(h, *codec, o.raw_size(), o.data());
      if (!decoded.ok()) return decoded.status();
      raw = std::move(*decoded);
      got = true;
    }
  }
  if (absl::Status s = FromGrpc(reader->Finish(), "GetObjects"); !s.ok()) return s;
  if (!got) return absl::NotFoundError("no object");
  return raw;
}

}  // namespace

absl::Status Materialize(Read::Stub* stub, const Hash& root, const std::string& dest) {
  auto raw = GetObject(stub, root);
  if (!raw.ok()) return raw.status();
  auto entries = DecodeTree(*raw);
  if (!entries.ok()) return entries.status();
  fs::create_directories(dest);
  for (const TreeEntry& e : *entries) {
    std::string path = dest + "/" + e.name;
    if (e.type == EntryType::kDir) {
      if (absl::Status s = Materialize(stub, e.hash, path); !s.ok()) return s;
    } else if (e.type == EntryType::kSymlink) {
      fs::create_symlink(e.target, path);
    } else {
      std::string content;
      if (e.chunked) {
        auto list = GetObject(stub, e.hash);
        if (!list.ok()) return list.status();
        auto chunks = DecodeChunkList(*list);
        if (!chunks.ok()) return chunks.status();
        for (const ChunkRef& c : *chunks) {
          auto piece = GetObject(stub, c.hash);
          if (!piece.ok()) return piece.status();
          content += *piece;
        }
      } else {
        auto blob = GetObject(stub, e.hash);
        if (!blob.ok()) return blob.status();
        content = std::move(*blob);
      }
      WriteFile(path, content, e.exec ? 0555 : 0444);
    }
  }
  return absl::OkStatus();
}

std::string DiffTrees(const std::string& a, const std::string& b) {
  auto names = [](const std::string& dir) {
    std::set<std::string> out;
    for (const auto& e : fs::directory_iterator(dir)) out.insert(e.path().filename().string());
    return out;
  };
  if (names(a) != names(b)) return StrCat("different entries in ", a, " and ", b);
  for (const std::string& n : names(a)) {
    std::string pa = a + "/" + n, pb = b + "/" + n;
    struct stat sa, sb;
    lstat(pa.c_str(), &sa);
    lstat(pb.c_str(), &sb);
    if ((sa.st_mode & S_IFMT) != (sb.st_mode & S_IFMT)) return StrCat("type differs: ", pa);
    if (S_ISLNK(sa.st_mode)) {
      if (fs::read_symlink(pa) != fs::read_symlink(pb)) return StrCat("target differs: ", pa);
    } else if (S_ISDIR(sa.st_mode)) {
      if (std::string d = DiffTrees(pa, pb); !d.empty()) return d;
    } else {
      if (((sa.st_mode & S_IXUSR) != 0) != ((sb.st_mode & S_IXUSR) != 0)) {
        return StrCat("exec bit differs: ", pa);
      }
      if (ReadFileOrDie(pa) != ReadFileOrDie(pb)) return StrCat("bytes differ: ", pa);
    }
  }
  return "";
}

absl::StatusOr<Hash> RootOf(Read::Stub* stub, const std::string& app, const std::string& version) {
  ListVersionsRequest req;
  req.set_app(app);
  ListVersionsResponse resp;
  grpc::ClientContext ctx;
  if (absl::Status s = FromGrpc(stub->ListVersions(&ctx, req, &resp), "ListVersions"); !s.ok()) {
    return s;
  }
  for (const Envelope& env : resp.releases()) {
    auto r = ParseRelease(env);
    if (r.ok() && r->version() == version) return Hash::FromBytes(r->root());
  }
  return absl::NotFoundError(StrCat("no ", app, " ", version));
}

}  // namespace vms::testing
