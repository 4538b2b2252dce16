#include "core/tree.h"

#include <algorithm>

#include "core/codec.h"
#include "core/coding.h"
#include "core/names.h"
#include "core/status_macros.h"
#include "core/strings.h"

namespace vms {

namespace {

constexpr std::string_view kTreeMagic = "VMSTREE1";
constexpr std::string_view kChunkMagic = "VMSCHNK1";
constexpr uint8_t kFlagExec = 1, kFlagChunked = 2;

absl::Status Corrupt(std::string_view what) {
  return absl::DataLossError(StrCat("corrupt tree object: ", what));
}

bool TakeHash(std::string_view* in, Hash* h) {
  if (in->size() < Hash::kSize) return false;
  std::copy_n(in->data(), Hash::kSize, reinterpret_cast<char*>(h->bytes.data()));
  in->remove_prefix(Hash::kSize);
  return true;
}

bool TakeBytes(std::string_view* in, uint64_t n, std::string_view* out) {
  if (in->size() < n) return false;
  *out = in->substr(0, n);
  in->remove_prefix(n);
  return true;
}

}  // namespace

absl::StatusOr<std::string> EncodeTree(std::vector<TreeEntry> entries) {
  std::sort(entries.begin(), entries.end(),
            [](const TreeEntry& a, const TreeEntry& b) { return a.name < b.name; });
  std::string out(kTreeMagic);
  PutVarint(&out, entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    const TreeEntry& e = entries[i];
    VMS_RETURN_IF_ERROR(ValidateEntryName(e.name));
    if (i > 0 && entries[i - 1].name == e.name) {
      return absl::InvalidArgumentError(StrCat("duplicate entry name \"", e.name, "\""));
    }
    if (e.type != EntryType::kFile && (e.exec || e.chunked)) {
      return absl::InvalidArgumentError(
          StrCat("entry \"", e.name, "\": only files have exec or chunked flags"));
    }
    out.push_back(static_cast<char>(e.type));
    out.push_back(static_cast<char>((e.exec ? kFlagExec : 0) | (e.chunked ? kFlagChunked : 0)));
    PutVarint(&out, e.name.size());
    out.append(e.name);
    switch (e.type) {
      case EntryType::kDir:
      case EntryType::kFile:
        PutVarint(&out, e.size);
        out.append(e.hash.View());
        break;
      case EntryType::kSymlink:
        VMS_RETURN_IF_ERROR(ValidateSymlinkTarget(e.target));
        PutVarint(&out, e.target.size());
        out.append(e.target);
        break;
      default:
        return absl::InvalidArgumentError(StrCat("entry \"", e.name, "\": bad type"));
    }
  }
  return out;
}

absl::StatusOr<std::vector<TreeEntry>> DecodeTree(std::string_view in) {
  if (!in.starts_with(kTreeMagic)) return Corrupt("bad magic");
  in.remove_prefix(kTreeMagic.size());
  uint64_t count;
  if (!GetVarint(&in, &count)) return Corrupt("bad entry count");
  // Each entry takes at least 4 bytes, so a count beyond that is a lie that
  // would otherwise make us reserve huge amounts of memory.
  if (count > in.size() / 4) return Corrupt("entry count exceeds object size");
  std::vector<TreeEntry> entries;
  entries.reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    if (in.size() < 2) return Corrupt("truncated entry");
    TreeEntry e;
    uint8_t type = static_cast<uint8_t>(in[0]), flags = static_cast<uint8_t>(in[1]);
    in.remove_prefix(2);
    uint64_t name_len;
    std::string_view name;
    if (!GetVarint(&in, &name_len) || !TakeBytes(&in, name_len, &name)) {
      return Corrupt("truncated name");
    }
    if (absl::Status s = ValidateEntryName(name); !s.ok()) return Corrupt(Sv(s.message()));
    e.name.assign(name);
    if (!entries.empty() && !(entries.back().name < e.name)) {
      return Corrupt(StrCat("entries not in strict name order at \"", e.name, "\""));
    }
    if (!GetVarint(&in, &e.size)) return Corrupt("truncated size");
    if (type == static_cast<uint8_t>(EntryType::kDir) ||
        type == static_cast<uint8_t>(EntryType::kFile)) {
      e.type = static_cast<EntryType>(type);
      uint8_t allowed = e.type == EntryType::kFile ? (kFlagExec | kFlagChunked) : 0;
      if ((flags & ~allowed) != 0) return Corrupt(StrCat("bad flags on \"", e.name, "\""));
      e.exec = flags & kFlagExec;
      e.chunked = flags & kFlagChunked;
      if (!TakeHash(&in, &e.hash)) return Corrupt("truncated hash");
    } else if (type == static_cast<uint8_t>(EntryType::kSymlink)) {
      e.type = EntryType::kSymlink;
      if (flags != 0) return Corrupt(StrCat("bad flags on \"", e.name, "\""));
      std::string_view target;
      if (!TakeBytes(&in, e.size, &target)) return Corrupt("truncated symlink target");
      if (absl::Status s = ValidateSymlinkTarget(target); !s.ok()) return Corrupt(Sv(s.message()));
      e.target.assign(target);
    } else {
      return Corrupt(StrCat("unknown entry type ", type, " for \"", e.name, "\""));
    }
    entries.push_back(std::move(e));
  }
  if (!in.empty()) return Corrupt("trailing bytes");
  return entries;
}

std::string EncodeChunkList(const std::vector<ChunkRef>& chunks) {
  std::string out(kChunkMagic);
  PutVarint(&out, chunks.size());
  for (const ChunkRef& c : chunks) {
    PutVarint(&out, c.size);
    out.append(c.hash.View());
  }
  return out;
}

absl::StatusOr<std::vector<ChunkRef>> DecodeChunkList(std::string_view in) {
  auto corrupt = [](std::string_view what) {
    return absl::DataLossError(StrCat("corrupt chunk list object: ", what));
  };
  if (!in.starts_with(kChunkMagic)) return corrupt("bad magic");
  in.remove_prefix(kChunkMagic.size());
  uint64_t count;
  if (!GetVarint(&in, &count) || count == 0 || count > in.size() / (Hash::kSize + 1)) {
    return corrupt("bad chunk count");
  }
  std::vector<ChunkRef> chunks(count);
  for (ChunkRef& c : chunks) {
    if (!GetVarint(&in, &c.size) || c.size == 0 || c.size > kMaxObjectSize) {
      return corrupt("bad chunk size");
    }
    if (!TakeHash(&in, &c.hash)) return corrupt("truncated hash");
  }
  if (!in.empty()) return corrupt("trailing bytes");
  return chunks;
}

uint64_t TreeBytes(const std::vector<TreeEntry>& entries) {
  uint64_t total = 0;
  for (const TreeEntry& e : entries) {
    if (e.type != EntryType::kSymlink) total += e.size;
  }
  return total;
}

}  // namespace vms
