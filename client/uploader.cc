#include "client/uploader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "core/codec.h"
#include "core/file_util.h"
#include "core/limits.h"
#include "core/strings.h"
#include "core/sync.h"
#include "core/throttle.h"
#include "net/rpc.h"

namespace vms {

namespace {

// Well inside the master's kMaxUploadStreamRawBytes.
constexpr uint64_t kUploadStreamRotateBytes = 1ull << 30;
static_assert(kUploadStreamRotateBytes + kMaxObjectSize < kMaxUploadStreamRawBytes);

// Reads the bytes of a file-backed object, checking the file is unchanged.
absl::Status ReadSource(const Snapshot& snap, const ObjectSource& o, std::string* out) {
  const ScannedFile& f = snap.file_list[o.file];
  Fd fd(open(f.path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) return ErrnoError(errno, StrCat("cannot read ", f.path));
  out->resize(o.size);
  size_t got = 0;
  while (got < o.size) {
    ssize_t n = pread(fd.get(), out->data() + got, o.size - got, o.offset + got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError(errno, StrCat("cannot read ", f.path));
    if (n == 0) break;
    got += n;
  }
  struct stat st;
  if (got != o.size || fstat(fd.get(), &st) != 0 || !(StatKey::Of(st) == f.stat)) {
    return absl::AbortedError(StrCat(f.path, " changed while it was being pushed; push again"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<UploadStats> UploadObjects(MasterClient* master, const Snapshot& snapshot,
                                          const std::vector<size_t>& which,
                                          const UploadOptions& options) {
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  Mutex mu;
  absl::Status first_error;
  UploadStats total;
  Throttle throttle(options.limit_rate);

  auto fail = [&](absl::Status s) {
    MutexLock lock(&mu);
    if (!failed.exchange(true)) first_error = std::move(s);
  };

  // Ends a stream; false (and the upload failed) if the master refused it.
  auto finish = [&](MasterClient::Upload* upload) {
    auto result = upload->Finish();
    if (result.ok()) return true;
    std::string hint = absl::IsDataLoss(result.status())
                           ? " (did a file change while it was being pushed? push again)"
                           : "";
    fail(absl::Status(result.status().code(), StrCat(result.status().message(), hint)));
    return false;
  };

  auto worker = [&] {
    std::unique_ptr<MasterClient::Upload> upload = master->StartUpload();
    UploadStats mine;
    ObjectBatch batch;
    size_t batch_bytes = 0;
    uint64_t stream_raw = 0;  // a stream carries at most kMaxUploadStreamRawBytes
    bool broken = false;
    auto flush = [&] {
      if (batch.objects_size() == 0 || broken) return;
      if (!upload->Write(batch)) broken = true;  // Finish() below tells why
      throttle.Spend(batch_bytes);
      batch.Clear();
      batch_bytes = 0;
    };
    std::string raw;  // given to Encode(), which keeps it when it stays raw
    for (size_t i; !failed && !broken && (i = next.fetch_add(1)) < which.size();) {
      const ObjectSource& o = snapshot.objects[which[i]];
      if (o.file >= 0) {
        if (absl::Status s = ReadSource(snapshot, o, &raw); !s.ok()) {
          fail(std::move(s));
          break;
        }
      } else {
        raw.assign(o.inline_data);
      }
      EncodedObject enc = Encode(std::move(raw), options.zstd_level);
      raw.clear();  // moved from
      Object* out = batch.add_objects();
      out->set_hash(std::string(o.hash.View()));
      out->set_codec(static_cast<uint32_t>(enc.codec));
      out->set_raw_size(o.size);
      size_t wire = enc.data.size();
      out->set_data(std::move(enc.data));
      batch_bytes += wire;
      mine.objects++;
      mine.raw_bytes += o.size;
      mine.wire_bytes += wire;
      if (options.progress) {
        options.progress->objects_sent.fetch_add(1, std::memory_order_relaxed);
        options.progress->bytes_sent.fetch_add(o.size, std::memory_order_relaxed);
        options.progress->wire_bytes.fetch_add(wire, std::memory_order_relaxed);
      }
      stream_raw += o.size;
      if (batch_bytes >= kBatchBytes || stream_raw >= kUploadStreamRotateBytes) flush();
      if (stream_raw >= kUploadStreamRotateBytes && !broken) {
        if (!finish(upload.get())) return;
        upload = master->StartUpload();
        stream_raw = 0;
      }
    }
    if (!failed) flush();
    if (!finish(upload.get())) return;
    MutexLock lock(&mu);
    total.objects += mine.objects;
    total.raw_bytes += mine.raw_bytes;
    total.wire_bytes += mine.wire_bytes;
  };

  int streams = std::max(1, std::min<int>(options.streams, static_cast<int>(which.size())));
  std::vector<std::thread> threads;
  for (int s = 1; s < streams; ++s) threads.emplace_back(worker);
  if (!which.empty()) worker();
  for (std::thread& t : threads) t.join();
  if (failed) return first_error;
  return total;
}

}  // namespace vms
