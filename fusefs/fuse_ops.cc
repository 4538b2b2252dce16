#define FUSE_USE_VERSION 312
#include "fusefs/fuse_ops.h"

#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <poll.h>
#include <pthread.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include "core/file_util.h"
#include "core/log.h"
#include "core/process.h"
#include "core/status_macros.h"
#include "core/strings.h"
#include "fusefs/dir_plus.h"
#include "spdlog/spdlog.h"

namespace vms {

// What the callbacks get as user data.
struct FuseSession {
  DistFs* fs = nullptr;
  bool no_open = false;     // the kernel opens files without asking us
  bool no_opendir = false;  // ... and directories
};

namespace {

FuseSession* S(fuse_req_t req) { return static_cast<FuseSession*>(fuse_req_userdata(req)); }
DistFs* Fs(fuse_req_t req) { return S(req)->fs; }

void OnInit(void* userdata, fuse_conn_info* conn) {
  auto* session = static_cast<FuseSession*>(userdata);
  // A symlink inode's target never changes (a flip makes a new inode).
  if (conn->capable & FUSE_CAP_CACHE_SYMLINKS) conn->want |= FUSE_CAP_CACHE_SYMLINKS;
  // Always readdirplus (not the kernel's guess): a listing is almost always
  // followed by stats of its entries.
  if (conn->capable & FUSE_CAP_READDIRPLUS) conn->want |= FUSE_CAP_READDIRPLUS;
  conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO;
  // Larger reads for large files (the kernel's default is 128 KiB).
  conn->max_readahead = 1 << 20;
  conn->max_write = 1 << 20;  // also sets max_pages, the bound on read size
  // Where the kernel can do without open requests, answering ENOSYS makes it
  // open files and directories with no round trip at all and keep their
  // pages and listings cached (FOPEN_KEEP_CACHE | FOPEN_CACHE_DIR): warm
  // reads of an immutable tree then run at page-cache speed. Content stays
  // pinned while the kernel holds the inode (DistFs::Open), so an open file
  // is never evicted either way.
  session->no_open = conn->capable & FUSE_CAP_NO_OPEN_SUPPORT;
  session->no_opendir = conn->capable & FUSE_CAP_NO_OPENDIR_SUPPORT;
}

void OnLookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  EntryReply e;
  int err = Fs(req)->Lookup(parent, name, &e);
  fuse_entry_param p{};
  if (err == ENOENT && e.entry_timeout_s > 0) {  // negative entry the kernel may cache
    p.entry_timeout = e.entry_timeout_s;
    fuse_reply_entry(req, &p);
    return;
  }
  if (err != 0) {
    fuse_reply_err(req, err);
    return;
  }
  p.ino = e.attr.ino;
  p.attr = StatOf(e.attr);
  p.entry_timeout = e.entry_timeout_s;
  p.attr_timeout = e.attr_timeout_s;
  // An entry the kernel never received must not keep its lookup count.
  if (fuse_reply_entry(req, &p) != 0) Fs(req)->Forget(e.attr.ino, 1);
}

void OnForget(fuse_req_t req, fuse_ino_t ino, uint64_t n) {
  Fs(req)->Forget(ino, n);
  fuse_reply_none(req);
}

void OnForgetMulti(fuse_req_t req, size_t count, fuse_forget_data* forgets) {
  for (size_t i = 0; i < count; ++i) Fs(req)->Forget(forgets[i].ino, forgets[i].nlookup);
  fuse_reply_none(req);
}

void OnGetAttr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
  Attr a;
  double timeout;
  if (int err = Fs(req)->GetAttr(ino, &a, &timeout); err != 0) {
    fuse_reply_err(req, err);
    return;
  }
  struct stat st = StatOf(a);
  fuse_reply_attr(req, &st, timeout);
}

void OnReadLink(fuse_req_t req, fuse_ino_t ino) {
  std::string target;
  if (int err = Fs(req)->ReadLink(ino, &target); err != 0) {
    fuse_reply_err(req, err);
    return;
  }
  fuse_reply_readlink(req, target.c_str());
}

void OnOpenDir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  if (S(req)->no_opendir) {
    fuse_reply_err(req, ENOSYS);
    return;
  }
  // Version directories never change: the kernel may keep their listing.
  if (ino != FUSE_ROOT_ID) {
    fi->cache_readdir = 1;
    fi->keep_cache = 1;
  }
  fuse_reply_open(req, fi);
}

constexpr off_t kDots = kDirDots;

void OnReadDir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info*) {
  std::vector<char> buf(size);
  size_t used = 0;
  off_t next = off;
  auto add = [&](const char* name, mode_t type) {
    struct stat st {};
    st.st_ino = 0xffffffff;  // unknown: the kernel looks names up
    st.st_mode = type;
    size_t need = fuse_add_direntry(req, buf.data() + used, size - used, name, &st, next + 1);
    if (need > size - used) return false;
    used += need;
    ++next;
    return true;
  };
  while (next < kDots) {
    if (!add(next == 0 ? "." : "..", S_IFDIR)) break;
  }
  if (next >= kDots) {
    int err = Fs(req)->ReadDir(ino, static_cast<size_t>(next - kDots),
                               [&](const DirEntry& d) { return add(d.name.c_str(), d.type); });
    if (err != 0) {
      fuse_reply_err(req, err);
      return;
    }
  }
  fuse_reply_buf(req, buf.data(), used);
}

// Entries come with their attributes, so `ls -l`, `find` and `tar` need no
// lookup per name (dir_plus.h).
void OnReadDirPlus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info*) {
  int err = ReplyDirPlus(Fs(req), ino, size, off, [req](const char* data, size_t len) {
    return fuse_reply_buf(req, data, len);
  });
  if (err != 0) fuse_reply_err(req, err);
}

void OnReleaseDir(fuse_req_t req, fuse_ino_t, fuse_file_info*) { fuse_reply_err(req, 0); }

void OnOpen(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  if ((fi->flags & O_ACCMODE) != O_RDONLY) {
    fuse_reply_err(req, EROFS);
    return;
  }
  if (S(req)->no_open) {
    fuse_reply_err(req, ENOSYS);
    return;
  }
  uint64_t fh;
  if (int err = Fs(req)->Open(ino, &fh); err != 0) {
    fuse_reply_err(req, err);
    return;
  }
  fi->fh = fh;
  fi->keep_cache = 1;  // immutable content: pages stay cached across opens
  fuse_reply_open(req, fi);
}

void OnRead(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info*) {
  std::vector<Segment> segments;
  if (int err = Fs(req)->Read(ino, static_cast<uint64_t>(off), size, &segments); err != 0) {
    fuse_reply_err(req, err);
    return;
  }
  if (segments.empty()) {
    fuse_reply_buf(req, nullptr, 0);
    return;
  }
  std::vector<iovec> iov;
  for (const Segment& seg : segments) {
    iov.push_back({const_cast<char*>(seg.data->data()) + seg.pos, seg.len});
  }
  fuse_reply_iov(req, iov.data(), static_cast<int>(iov.size()));
}

// Content stays pinned until the kernel forgets the inode.
void OnRelease(fuse_req_t req, fuse_ino_t, fuse_file_info*) { fuse_reply_err(req, 0); }

void ReplyXattr(fuse_req_t req, const std::string& value, size_t size) {
  if (size == 0) {
    fuse_reply_xattr(req, value.size());
  } else if (size < value.size()) {
    fuse_reply_err(req, ERANGE);
  } else {
    fuse_reply_buf(req, value.data(), value.size());
  }
}

void OnGetXattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) {
  std::string value;
  if (int err = Fs(req)->GetXattr(ino, name, &value); err != 0) {
    fuse_reply_err(req, err);
    return;
  }
  ReplyXattr(req, value, size);
}

void OnListXattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
  std::vector<std::string> names;
  if (int err = Fs(req)->ListXattr(ino, &names); err != 0) {
    fuse_reply_err(req, err);
    return;
  }
  std::string joined;
  for (const std::string& n : names) joined += n + '\0';
  ReplyXattr(req, joined, size);
}

void OnStatFs(fuse_req_t req, fuse_ino_t) {
  DistFs::FsStats st = Fs(req)->StatFs();
  struct statvfs sv {};
  sv.f_bsize = sv.f_frsize = st.block_size;
  sv.f_blocks = st.blocks;
  sv.f_bfree = sv.f_bavail = st.blocks_free;
  sv.f_files = st.inodes;
  sv.f_ffree = sv.f_favail = st.inodes_free;
  sv.f_namemax = 255;
  sv.f_flag = ST_RDONLY | ST_NOSUID | ST_NODEV;
  fuse_reply_statfs(req, &sv);
}

const fuse_lowlevel_ops kOps = [] {
  fuse_lowlevel_ops ops{};
  ops.init = OnInit;
  ops.lookup = OnLookup;
  ops.forget = OnForget;
  ops.forget_multi = OnForgetMulti;
  ops.getattr = OnGetAttr;
  ops.readlink = OnReadLink;
  ops.opendir = OnOpenDir;
  ops.readdir = OnReadDir;
  ops.readdirplus = OnReadDirPlus;
  ops.releasedir = OnReleaseDir;
  ops.open = OnOpen;
  ops.read = OnRead;
  ops.release = OnRelease;
  ops.getxattr = OnGetXattr;
  ops.listxattr = OnListXattr;
  ops.statfs = OnStatFs;
  return ops;
}();

// A mount whose daemon died answers ENOTCONN: detach it so we can mount again.
// statfs() is asked of the daemon every time (stat() may be answered from
// the kernel's cache), so it tells a dead mount from a live one.
absl::Status DetachStaleMount(const std::string& mountpoint) {
  struct statfs sf;
  if (statfs(mountpoint.c_str(), &sf) == 0) {
    if (sf.f_type == 0x65735546 /* FUSE_SUPER_MAGIC */) {
      return absl::FailedPreconditionError(
          StrCat(mountpoint, " is already served by a running vms-fuse; stop it first"));
    }
    return absl::OkStatus();
  }
  if (errno != ENOTCONN) return absl::OkStatus();  // mounting reports what is wrong
  FuseLog()->warn("mountpoint={} holds a dead vms-fuse mount: detaching it", mountpoint);
  if (umount2(mountpoint.c_str(), MNT_DETACH) != 0) {
    // No shell: a quote in the path is a quote, not a command.
    auto rc = RunQuietly({"fusermount3", "-u", "-z", "--", mountpoint});
    if (!rc.ok() || *rc != 0) {
      return absl::FailedPreconditionError(StrCat("cannot detach the dead mount at ", mountpoint,
                                                  ": run fusermount3 -u -z ", mountpoint));
    }
  }
  return absl::OkStatus();
}

}  // namespace

namespace {

// The mount's wake pipe, for the signal handlers (one mount per process).
std::atomic<int> g_wake_fd{-1};

void OnSignal(int sig) {
  char why = sig == SIGHUP ? 'R' : 'S';
  int fd = g_wake_fd.load();
  if (fd >= 0) {
    ssize_t n = write(fd, &why, 1);
    (void)n;
  }
}

void OnInterrupt(int) {}  // only makes a blocked read return EINTR

constexpr int kWorkers = 16;

// Named as in <linux/fuse.h>, lower case, without FUSE_.
constexpr const char* kOpNames[kFuseOpcodes] = {
    nullptr,        "lookup",        "forget",      "getattr",  "setattr",  "readlink",
    "symlink",      nullptr,         "mknod",       "mkdir",    "unlink",   "rmdir",
    "rename",       "link",          "open",        "read",     "write",    "statfs",
    "release",      nullptr,         "fsync",       "setxattr", "getxattr", "listxattr",
    "removexattr",  "flush",         "init",        "opendir",  "readdir",  "releasedir",
    "fsyncdir",     "getlk",         "setlk",       "setlkw",   "access",   "create",
    "interrupt",    "bmap",          "destroy",     "ioctl",    "poll",     "notify_reply",
    "batch_forget", "fallocate",     "readdirplus", "rename2",  "lseek",    "copy_file_range",
    "setupmapping", "removemapping", "syncfs",      "tmpfile"};
constexpr uint32_t kFuseInit = 26;    // FUSE_INIT
constexpr int32_t kNotifyResend = 7;  // FUSE_NOTIFY_RESEND, protocol 7.40 (Linux 6.9)
// A request id the kernel never hands out (its ids count up by 2 from 2): the
// reply to the replayed INIT finds no request and is dropped (ENOENT).
constexpr uint64_t kReplayUnique = uint64_t{1} << 62;

struct InHeader {  // struct fuse_in_header, the start of every request
  uint32_t len, opcode;
  uint64_t unique, nodeid;
  uint32_t uid, gid, pid;
  uint16_t total_extlen, padding;
};
struct OutHeader {  // struct fuse_out_header
  uint32_t len;
  int32_t error;
  uint64_t unique;
};

}  // namespace

absl::StatusOr<std::unique_ptr<FuseMount>> FuseMount::Create(DistFs* fs, const MountOptions& o) {
  auto m = std::unique_ptr<FuseMount>(new FuseMount());
  m->fs_ = fs;
  m->cache_ = o.cache;
  m->requests_ = o.requests;
  m->mountpoint_ = o.mountpoint;
  m->session_ = std::make_unique<FuseSession>();
  m->session_->fs = fs;
  std::string mount_opts = "ro,nosuid,nodev,default_permissions,fsname=vms,subtype=vms";
  if (o.allow_other) mount_opts += ",allow_other";
  std::vector<std::string> argv_s = {"vms-fuse", "-o", mount_opts};
  std::vector<char*> argv;
  for (std::string& a : argv_s) argv.push_back(a.data());
  fuse_args args = FUSE_ARGS_INIT(static_cast<int>(argv.size()), argv.data());
  m->se_ = fuse_session_new(&args, &kOps, sizeof kOps, m->session_.get());
  // Parsing left a copy of the arguments that nothing keeps a pointer into.
  fuse_opt_free_args(&args);
  if (m->se_ == nullptr) return absl::InternalError("cannot create the FUSE session");
  // Signals are caught from before the mount: a SIGTERM that comes before
  // Run() still ends in an unmount (Run returns at once), not in a mount
  // left to the holder.
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK) != 0) return ErrnoError(errno, "pipe2");
  m->wake_read_ = Fd(pipe_fds[0]);
  m->wake_write_ = Fd(pipe_fds[1]);
  g_wake_fd = m->wake_write_.get();
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) sigaction(sig, &sa, nullptr);
  sa.sa_handler = OnInterrupt;  // no SA_RESTART: a blocked read returns EINTR
  sigaction(SIGUSR2, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
  return m;
}

absl::StatusOr<std::unique_ptr<FuseMount>> FuseMount::Mount(DistFs* fs, const MountOptions& o) {
  VMS_RETURN_IF_ERROR(DetachStaleMount(o.mountpoint));
  VMS_ASSIGN_OR_RETURN(auto m, Create(fs, o));
  if (fuse_session_mount(m->se_, o.mountpoint.c_str()) != 0) {
    return absl::FailedPreconditionError(
        StrCat("cannot mount at ", o.mountpoint,
               " (does it exist, is /dev/fuse available, and do you have the right to mount?)"));
  }
  m->mounted_ = true;
  return m;
}

absl::StatusOr<std::unique_ptr<FuseMount>> FuseMount::Adopt(DistFs* fs, const MountOptions& o,
                                                            Fd fuse, const std::string& init) {
  VMS_ASSIGN_OR_RETURN(auto m, Create(fs, o));
  // libfuse takes an already mounted descriptor as /dev/fd/N (and then
  // leaves unmounting to us).
  int fd = fuse.Release();
  std::string dev_fd = StrCat("/dev/fd/", fd);
  if (fuse_session_mount(m->se_, dev_fd.c_str()) != 0) {
    close(fd);
    return absl::InternalError(StrCat("libfuse refused the taken-over descriptor ", dev_fd));
  }
  m->adopted_ = true;
  if (init.size() >= sizeof(InHeader)) {
    // The kernel answered INIT long ago; the new session must believe it did
    // too, with the same terms, or it answers every request EIO.
    std::string request = init;
    InHeader h;
    std::memcpy(&h, request.data(), sizeof h);
    if (h.opcode != kFuseInit || h.len != request.size()) {
      return absl::DataLossError("the recorded FUSE_INIT request is not one");
    }
    h.unique = kReplayUnique;
    std::memcpy(request.data(), &h, sizeof h);
    fuse_buf buf{};
    buf.size = request.size();
    buf.mem = request.data();
    fuse_session_process_buf(m->se_, &buf);
    m->init_seen_ = true;
  }
  // Whatever the predecessor read and never answered (it crashed) goes back
  // to the kernel's queue, for us to read.
  OutHeader resend{sizeof(OutHeader), kNotifyResend, 0};
  if (write(fd, &resend, sizeof resend) != static_cast<ssize_t>(sizeof resend)) {
    FuseLog()->warn(
        "the kernel cannot resend requests in flight at the takeover ({}): a read "
        "that was in progress then may wait forever (Linux 6.9 or later resends)",
        strerror(errno));
  }
  return m;
}

FuseMount::~FuseMount() {
  if (se_ == nullptr) return;
  if (!handed_over_) {
    if (absl::Status s = Unmount(); !s.ok()) FuseLog()->warn("{}", Sv(s.message()));
  }
  fuse_session_destroy(se_);
  int fd = wake_write_.get();
  if (fd >= 0 && g_wake_fd.compare_exchange_strong(fd, -1)) {
    // No mount to stop any more: signals do what they do by default again.
    for (int sig : {SIGTERM, SIGINT, SIGHUP}) signal(sig, SIG_DFL);
  }
}

absl::Status FuseMount::Unmount() {
  if (mounted_) {
    fuse_session_unmount(se_);
    mounted_ = false;
    return absl::OkStatus();
  }
  if (!adopted_) return absl::OkStatus();
  adopted_ = false;
  // As libfuse does for its own mounts: lazily, so a busy mount goes too.
  if (umount2(mountpoint_.c_str(), MNT_DETACH) == 0 || errno == EINVAL || errno == ENOENT) {
    return absl::OkStatus();
  }
  auto rc = RunQuietly({"fusermount3", "-u", "-z", "--", mountpoint_});
  if (!rc.ok() || *rc != 0) {
    return absl::InternalError(
        StrCat("cannot unmount ", mountpoint_, ": run fusermount3 -u -z ", mountpoint_));
  }
  return absl::OkStatus();
}

int FuseMount::fd() const { return fuse_session_fd(se_); }

void FuseMount::Wake(char why) {
  ssize_t n = write(wake_write_.get(), &why, 1);
  (void)n;  // a full pipe already holds a reason
}

void FuseMount::HandOver() { Wake('H'); }

const char* FuseOpName(uint32_t opcode) {
  return opcode < kFuseOpcodes && kOpNames[opcode] != nullptr ? kOpNames[opcode] : "other";
}

void FuseMount::Serve(Worker* w) {
  fuse_buf buf{};
  while (!stopping_.load()) {
    w->in_read = true;
    if (stopping_.load()) break;
    int res = fuse_session_receive_buf(se_, &buf);
    w->in_read = false;
    if (res == -EINTR || res == -EAGAIN) continue;
    if (res <= 0) {
      Wake(res == 0 ? 'U' : 'E');  // 0: unmounted (ENODEV)
      break;
    }
    bool init = false;
    if (buf.size >= sizeof(InHeader) && (buf.flags & FUSE_BUF_IS_FD) == 0) {
      InHeader h;
      std::memcpy(&h, buf.mem, sizeof h);
      init = !init_seen_.load() && h.opcode == kFuseInit;
      if (requests_ != nullptr) (*requests_)[std::min(h.opcode, kFuseOpcodes)]->Increment();
    }
    fuse_session_process_buf(se_, &buf);
    // Recorded once answered: a successor replays it instead of waiting for
    // one the kernel never sends again.
    if (init && !init_seen_.exchange(true)) {
      fs_->JournalInit(std::string_view(static_cast<const char*>(buf.mem), buf.size));
    }
  }
  w->in_read = false;
  w->done = true;
  free(buf.mem);
}

void FuseMount::StopWorkers(std::vector<std::unique_ptr<Worker>>* workers) {
  stopping_ = true;
  // A signal that lands just before a read blocks is lost: send again, to
  // every worker still reading, until all have seen `stopping_`.
  for (bool all_done = false; !all_done;) {
    all_done = true;
    for (auto& w : *workers) {
      if (w->done.load()) continue;
      all_done = false;
      if (w->in_read.load()) pthread_kill(w->thread.native_handle(), SIGUSR2);
    }
    if (!all_done) std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  for (auto& w : *workers) w->thread.join();
}

absl::StatusOr<FuseMount::Ended> FuseMount::Run() {
  std::thread reclaimer;
  if (cache_ != nullptr) {
    cache_->SetPressureCallback([this] {
      MutexLock lock(&reclaim_mu_);
      pressure_ = true;
      reclaim_cv_.Signal();
    });
    reclaimer = std::thread([this] { ReclaimLoop(); });
  }
  // A fixed set of threads reading the one descriptor: the kernel wakes one
  // per request, and every request stays on the descriptor a successor
  // takes over (a cloned descriptor's unanswered requests die with it).
  std::vector<std::unique_ptr<Worker>> workers;
  for (int i = 0; i < kWorkers; ++i) {
    workers.push_back(std::make_unique<Worker>());
    Worker* w = workers.back().get();
    w->thread = std::thread([this, w] { Serve(w); });
  }
  char why = 0;
  while (why == 0) {
    pollfd p{wake_read_.get(), POLLIN, 0};
    if (poll(&p, 1, -1) < 0 && errno != EINTR) break;
    if (read(wake_read_.get(), &why, 1) != 1) why = 0;
  }
  StopWorkers(&workers);
  if (cache_ != nullptr) {
    {
      MutexLock lock(&reclaim_mu_);
      stopping_reclaim_ = true;
    }
    reclaim_cv_.Signal();
    reclaimer.join();
    cache_->SetPressureCallback(nullptr);
  }
  switch (why) {
    case 'S':
      return Ended::kStopped;
    case 'U':
      return Ended::kUnmounted;
    case 'H':
      handed_over_ = true;
      return Ended::kHandedOver;
    case 'R':
      handed_over_ = true;
      return Ended::kReload;
    default:
      return absl::InternalError("reading FUSE requests failed");
  }
}

void FuseMount::ReclaimLoop() {
  MutexLock lock(&reclaim_mu_);
  while (!stopping_reclaim_) {
    const auto tick = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    while (!stopping_reclaim_ && !pressure_ && reclaim_cv_.WaitUntil(tick)) {
    }
    pressure_ = false;
    uint64_t used = cache_->bytes(), max = cache_->max_bytes();
    if (used > max) {
      reclaim_mu_.Unlock();  // never held across a kernel notification
      Reclaim(used - max);
      reclaim_mu_.Lock();
    }
  }
}

void FuseMount::Reclaim(uint64_t bytes) {
  for (const auto& [parent, name] : fs_->ReclaimCandidates(bytes)) {
    // ENOENT: the kernel had already dropped it.
    fuse_lowlevel_notify_inval_entry(se_, parent, name.c_str(), name.size());
  }
}

void FuseMount::InvalidateRootEntry(const std::string& name) {
  int rc = fuse_lowlevel_notify_inval_entry(se_, FUSE_ROOT_ID, name.c_str(), name.size());
  if (rc != 0 && rc != -ENOENT) FuseLog()->warn("cannot invalidate /{}: {}", name, strerror(-rc));
  // The root's listing may be cached too (when opendir is skipped).
  rc = fuse_lowlevel_notify_inval_inode(se_, FUSE_ROOT_ID, 0, 0);
  if (rc != 0 && rc != -ENOENT) FuseLog()->warn("cannot invalidate /: {}", strerror(-rc));
}

}  // namespace vms
