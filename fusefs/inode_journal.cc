#include "fusefs/inode_journal.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/coding.h"
#include "core/log.h"
#include "core/strings.h"
#include "spdlog/spdlog.h"

namespace vms {

namespace {

enum Kind : uint8_t { kInit = 1, kNew = 2, kRef = 3, kForget = 4, kNext = 5 };

// A record bigger than this is not one we wrote: the rest of the file is
// not trusted.
constexpr uint32_t kMaxRecord = 1 << 20;

void PutString(std::string* out, std::string_view s) {
  PutVarint(out, s.size());
  out->append(s);
}

bool GetString(std::string_view* in, std::string* s) {
  uint64_t n;
  if (!GetVarint(in, &n) || n > in->size()) return false;
  s->assign(in->substr(0, n));
  in->remove_prefix(n);
  return true;
}

std::string Record(Kind kind, std::string_view body) {
  std::string out(4, '\0');
  uint32_t len = static_cast<uint32_t>(1 + body.size());
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>(len >> (8 * i));
  out.push_back(static_cast<char>(kind));
  out.append(body);
  return out;
}

// A new inode with its node and lookup count.
std::string NewRecord(uint64_t ino, const Node& node, uint64_t nlookup) {
  std::string body;
  PutVarint(&body, ino);
  PutVarint(&body, nlookup);
  body += EncodeNode(node);
  return Record(kNew, body);
}

std::string Pair(uint64_t a, uint64_t b) {
  std::string body;
  PutVarint(&body, a);
  PutVarint(&body, b);
  return body;
}

absl::StatusOr<Fd> OpenForAppend(const std::string& path, int flags) {
  Fd fd(open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC | flags, 0600));
  if (!fd.valid()) return ErrnoError(errno, StrCat("open ", path));
  return fd;
}

// Applies one record's body to *state; false if it makes no sense.
bool Apply(Kind kind, std::string_view body, InodeJournal::State* state) {
  uint64_t ino, n;
  switch (kind) {
    case kInit:
      state->init.assign(body);
      return true;
    case kNext:
      if (!GetVarint(&body, &n)) return false;
      state->next = std::max(state->next, n);
      return body.empty();
    case kNew: {
      InodeJournal::Inode inode;
      if (!GetVarint(&body, &ino) || !GetVarint(&body, &inode.nlookup) ||
          !DecodeNode(&body, &inode.node) || !body.empty() || ino <= InodeTable::kRoot) {
        return false;
      }
      state->next = std::max(state->next, ino + 1);
      state->inodes[ino] = std::move(inode);
      return true;
    }
    case kRef:
    case kForget: {
      if (!GetVarint(&body, &ino) || !GetVarint(&body, &n) || !body.empty()) return false;
      auto it = state->inodes.find(ino);
      if (it == state->inodes.end()) return true;  // forgotten already
      if (kind == kRef) {
        it->second.nlookup += n;
      } else if (n >= it->second.nlookup) {
        state->inodes.erase(it);
      } else {
        it->second.nlookup -= n;
      }
      return true;
    }
  }
  return false;
}

}  // namespace

std::string EncodeNode(const Node& n) {
  std::string out;
  out.push_back(static_cast<char>(n.kind));
  PutVarint(&out, n.parent);
  PutString(&out, n.name);
  PutString(&out, n.app);
  PutString(&out, n.version);
  PutVarint(&out, static_cast<uint64_t>(n.mtime_ms));
  out.append(n.hash.View());
  PutVarint(&out, n.size);
  out.push_back(static_cast<char>((n.exec ? 1 : 0) | (n.chunked ? 2 : 0)));
  PutString(&out, n.target);
  PutVarint(&out, n.live_seq);
  return out;
}

bool DecodeNode(std::string_view* in, Node* n) {
  if (in->empty() || static_cast<uint8_t>((*in)[0]) > Node::kAtDir) return false;
  n->kind = static_cast<Node::Kind>((*in)[0]);
  in->remove_prefix(1);
  uint64_t mtime;
  if (!GetVarint(in, &n->parent) || !GetString(in, &n->name) || !GetString(in, &n->app) ||
      !GetString(in, &n->version) || !GetVarint(in, &mtime) || in->size() < Hash::kSize) {
    return false;
  }
  n->mtime_ms = static_cast<int64_t>(mtime);
  std::memcpy(n->hash.bytes.data(), in->data(), Hash::kSize);
  in->remove_prefix(Hash::kSize);
  if (!GetVarint(in, &n->size) || in->empty()) return false;
  uint8_t flags = static_cast<uint8_t>((*in)[0]);
  in->remove_prefix(1);
  n->exec = flags & 1;
  n->chunked = flags & 2;
  return GetString(in, &n->target) && GetVarint(in, &n->live_seq);
}

absl::StatusOr<std::unique_ptr<InodeJournal>> InodeJournal::Create(const std::string& path) {
  auto fd = OpenForAppend(path, O_CREAT | O_TRUNC);
  if (!fd.ok()) return fd.status();
  return std::unique_ptr<InodeJournal>(new InodeJournal(path, *std::move(fd), 0));
}

absl::StatusOr<std::unique_ptr<InodeJournal>> InodeJournal::Resume(const std::string& path,
                                                                   State* state) {
  auto data = ReadFile(path);
  if (!data.ok()) return data.status();
  *state = State{};
  std::string_view in = *data;
  uint64_t good = 0;
  while (in.size() >= 5) {
    uint32_t len = 0;
    for (int i = 0; i < 4; ++i)
      len |= static_cast<uint32_t>(static_cast<uint8_t>(in[i])) << (8 * i);
    if (len == 0 || len > kMaxRecord || len > in.size() - 4) break;
    auto kind = static_cast<Kind>(in[4]);
    if (!Apply(kind, in.substr(5, len - 1), state)) {
      return absl::DataLossError(StrCat(path, ": record at byte ", good, " makes no sense"));
    }
    in.remove_prefix(4 + len);
    good += 4 + len;
  }
  if (good != data->size()) {
    FuseLog()->warn("inode journal {}: {} bytes cut short at the end (a crash mid-record): dropped",
                    path, data->size() - good);
    if (truncate(path.c_str(), static_cast<off_t>(good)) != 0) {
      return ErrnoError(errno, StrCat("truncate ", path));
    }
  }
  auto fd = OpenForAppend(path, 0);
  if (!fd.ok()) return fd.status();
  auto journal = std::unique_ptr<InodeJournal>(new InodeJournal(path, *std::move(fd), good));
  journal->init_ = state->init;
  return journal;
}

void InodeJournal::Fail(const std::string& what) {
  if (!healthy_) return;
  healthy_ = false;
  FuseLog()->error(
      "inode journal {}: {}: no longer kept; a takeover of this mount will not know "
      "the inodes the kernel holds (restart vms-fuse with the mount unmounted)",
      path_, what);
  if (ftruncate(fd_.get(), 0) != 0) unlink(path_.c_str());
}

void InodeJournal::Append(const std::string& record) {
  if (!healthy_) return;
  ssize_t n = write(fd_.get(), record.data(), record.size());
  if (n != static_cast<ssize_t>(record.size())) {
    Fail(n < 0 ? strerror(errno) : "short write");
    return;
  }
  bytes_ += record.size();
}

void InodeJournal::Init(std::string_view request) {
  init_.assign(request);
  Append(Record(kInit, request));
}

void InodeJournal::Added(uint64_t ino, const Node& node, uint64_t nlookup) {
  Append(NewRecord(ino, node, nlookup));
}

void InodeJournal::Referenced(uint64_t ino, uint64_t n) { Append(Record(kRef, Pair(ino, n))); }

void InodeJournal::Forgotten(uint64_t ino, uint64_t n) { Append(Record(kForget, Pair(ino, n))); }

bool InodeJournal::WantsSnapshot(size_t live) const {
  // About 100 bytes a live inode in a snapshot: rewrite at 8x that, and not
  // before a few MiB, so the cost is amortised over many lookups.
  return healthy_ && bytes_ > (4u << 20) && bytes_ > 800 * static_cast<uint64_t>(live);
}

void InodeJournal::Snapshot(uint64_t next, const std::vector<std::pair<uint64_t, Inode>>& inodes) {
  if (!healthy_) return;
  std::string data;
  if (!init_.empty()) data += Record(kInit, init_);
  std::string body;
  PutVarint(&body, next);
  data += Record(kNext, body);
  for (const auto& [ino, inode] : inodes) data += NewRecord(ino, inode.node, inode.nlookup);
  if (absl::Status s = WriteFileAtomic(path_, data, 0600, /*durable=*/false); !s.ok()) {
    Fail(std::string(s.message()));
    return;
  }
  auto fd = OpenForAppend(path_, 0);
  if (!fd.ok()) {
    Fail(std::string(fd.status().message()));
    return;
  }
  fd_ = *std::move(fd);
  bytes_ = data.size();
}

}  // namespace vms
