// How much decompressing and hashing the master does for each client's
// uploads. An object is verified before it is stored, so a few bytes on the
// wire can cost a lot of CPU (a zstd frame of zeros says 64 MiB in 2 KB):
// every client gets a rate of raw bytes per second, with bursts of a few
// seconds, and an upload past it waits for its turn (gRPC flow control then
// slows the sender) instead of taking the master's cores. Besides, one
// PutObjects stream carries at most kMaxUploadStreamRawBytes.
//
// A client is the peer's address without its port (until identity lands,
// then its principal). Thread-safe; time is injected for tests.
#ifndef VMS_SERVER_UPLOAD_BUDGET_H_
#define VMS_SERVER_UPLOAD_BUDGET_H_

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include "absl/base/thread_annotations.h"
#include "core/clock.h"
#include "core/sync.h"

namespace vms {

class UploadBudget {
 public:
  static constexpr std::chrono::seconds kBurst{4};

  // `bytes_per_second` 0: unlimited.
  explicit UploadBudget(uint64_t bytes_per_second, Clock* clock = Clock::Real())
      : rate_(bytes_per_second), clock_(clock) {}

  // Charges `raw_bytes` to `client` and returns how long to wait before
  // doing the work (zero while the client is within its rate and burst).
  std::chrono::microseconds Reserve(const std::string& client, uint64_t raw_bytes);

  // "ipv4:10.0.0.1:51234" -> "ipv4:10.0.0.1", "ipv6:[::1]:5" -> "ipv6:[::1]".
  static std::string ClientOf(std::string_view peer);

 private:
  const uint64_t rate_;
  Clock* const clock_;
  Mutex mu_;
  // When each client's charged bytes are paid off at the rate; entries in
  // the past are dropped.
  std::unordered_map<std::string, std::chrono::steady_clock::time_point> paid_at_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace vms

#endif  // VMS_SERVER_UPLOAD_BUDGET_H_
