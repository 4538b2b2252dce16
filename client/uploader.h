// Sends the objects a master lacks: several PutObjects streams in parallel,
// each reading, compressing and batching objects (about 4 MiB per message),
// so there is no round trip per object and both cores stay busy.
#ifndef VMS_CLIENT_UPLOADER_H_
#define VMS_CLIENT_UPLOADER_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "client/master_client.h"
#include "client/progress.h"
#include "client/scan.h"

namespace vms {

struct UploadOptions {
  int streams = 2;
  int zstd_level = 1;
  uint64_t limit_rate = 0;  // wire bytes per second over all streams; 0: unlimited
  PushProgress* progress = nullptr;
};

struct UploadStats {
  uint64_t objects = 0;     // objects sent
  uint64_t raw_bytes = 0;   // their uncompressed size
  uint64_t wire_bytes = 0;  // what crossed the network
};

// Uploads snapshot.objects[i] for each i in `which`. A file that changed since
// the scan fails the upload (Aborted, naming the path); so does a master error.
absl::StatusOr<UploadStats> UploadObjects(MasterClient* master, const Snapshot& snapshot,
                                          const std::vector<size_t>& which,
                                          const UploadOptions& options);

}  // namespace vms

#endif  // VMS_CLIENT_UPLOADER_H_
