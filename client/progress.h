// Counters a push updates from many threads, and a reporter that redraws
// one status line on a terminal while they move.
#ifndef VMS_CLIENT_PROGRESS_H_
#define VMS_CLIENT_PROGRESS_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "core/sync.h"

namespace vms {

struct PushProgress {
  std::atomic<uint64_t> files_total{0};
  std::atomic<uint64_t> files_hashed{0};
  std::atomic<uint64_t> bytes_hashed{0};
  std::atomic<uint64_t> objects_to_send{0};
  std::atomic<uint64_t> objects_sent{0};
  std::atomic<uint64_t> bytes_to_send{0};  // raw bytes of the missing objects
  std::atomic<uint64_t> bytes_sent{0};     // raw bytes of what was sent
  std::atomic<uint64_t> wire_bytes{0};     // compressed bytes on the wire
};

// Calls `render` every `period` and writes its result over the previous line
// of stderr, only when stderr is a terminal. Stop() (or the destructor) erases
// the line.
class LineReporter {
 public:
  LineReporter(std::function<std::string()> render, std::chrono::milliseconds period);
  ~LineReporter();
  void Stop();

 private:
  std::function<std::string()> render_;
  bool enabled_;
  Mutex mu_;
  CondVar cv_{&mu_};
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

// "1.5 GiB", "730 KiB", "12 B".
std::string HumanBytes(uint64_t bytes);

}  // namespace vms

#endif  // VMS_CLIENT_PROGRESS_H_
