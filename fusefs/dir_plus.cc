#define FUSE_USE_VERSION 312
#include "fusefs/dir_plus.h"

#include <fuse_lowlevel.h>

#include <string>
#include <vector>

namespace vms {

struct stat StatOf(const Attr& a) {
  struct stat st {};
  st.st_ino = a.ino;
  st.st_mode = a.mode;
  st.st_nlink = a.nlink;
  st.st_size = static_cast<off_t>(a.size);
  st.st_blksize = 4096;
  st.st_blocks = static_cast<blkcnt_t>((a.size + 511) / 512);
  st.st_mtim.tv_sec = a.mtime_ms / 1000;
  st.st_mtim.tv_nsec = (a.mtime_ms % 1000) * 1000000;
  st.st_ctim = st.st_atim = st.st_mtim;
  return st;
}

int ReplyDirPlus(DistFs* fs, uint64_t ino, size_t size, int64_t off,
                 const std::function<int(const char* data, size_t len)>& send) {
  std::vector<char> buf(size);
  size_t used = 0;
  int64_t next = off;
  // fuse_add_direntry_plus() only encodes; it never looks at the request.
  auto fits = [&](const char* name) {
    return fuse_add_direntry_plus(nullptr, nullptr, 0, name, nullptr, 0) <= size - used;
  };
  auto add = [&](const char* name, const fuse_entry_param& p) {
    used += fuse_add_direntry_plus(nullptr, buf.data() + used, size - used, name, &p, next + 1);
    ++next;
  };
  while (next < kDirDots && fits(next == 0 ? "." : "..")) {
    fuse_entry_param p{};
    p.attr.st_ino = ino;
    p.attr.st_mode = S_IFDIR;
    add(next == 0 ? "." : "..", p);
  }
  std::vector<uint64_t> looked_up;  // entries in buf, each holding one lookup
  if (next >= kDirDots) {
    DistFs::DirPlusSink sink{.fits = [&](const std::string& name) { return fits(name.c_str()); },
                             .add =
                                 [&](const std::string& name, const EntryReply& e) {
                                   fuse_entry_param p{};
                                   p.ino = e.attr.ino;
                                   p.attr = StatOf(e.attr);
                                   p.entry_timeout = e.entry_timeout_s;
                                   p.attr_timeout = e.attr_timeout_s;
                                   add(name.c_str(), p);
                                   looked_up.push_back(e.attr.ino);
                                 }};
    if (int err = fs->ReadDirPlus(ino, static_cast<size_t>(next - kDirDots), sink); err != 0) {
      for (uint64_t i : looked_up) fs->Forget(i, 1);
      return err;
    }
  }
  if (send(buf.data(), used) != 0) {
    for (uint64_t i : looked_up) fs->Forget(i, 1);
  }
  return 0;
}

}  // namespace vms
