#include "client/progress.h"

#include <unistd.h>

#include <cstdio>

#include "core/sync.h"

namespace vms {

LineReporter::LineReporter(std::function<std::string()> render, std::chrono::milliseconds period)
    : render_(std::move(render)), enabled_(isatty(STDERR_FILENO) == 1) {
  if (!enabled_) return;
  thread_ = std::thread([this, period] {
    MutexLock lock(&mu_);
    while (!stop_) {
      const auto tick = std::chrono::steady_clock::now() + period;
      while (!stop_ && cv_.WaitUntil(tick)) {
      }
      if (stop_) break;
      std::string line = render_();
      std::fprintf(stderr, "\r\033[K%s", line.c_str());
      std::fflush(stderr);
    }
  });
}

LineReporter::~LineReporter() { Stop(); }

void LineReporter::Stop() {
  if (!thread_.joinable()) return;
  {
    MutexLock lock(&mu_);
    stop_ = true;
  }
  cv_.SignalAll();
  thread_.join();
  std::fprintf(stderr, "\r\033[K");
  std::fflush(stderr);
}

std::string HumanBytes(uint64_t bytes) {
  static const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = static_cast<double>(bytes);
  int unit = 0;
  while (v >= 1024 && unit < 5) {
    v /= 1024;
    ++unit;
  }
  char buf[32];
  if (unit == 0) {
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
  } else {
    std::snprintf(buf, sizeof buf,
                  v < 10    ? "%.2f %s"
                  : v < 100 ? "%.1f %s"
                            : "%.0f %s",
                  v, kUnits[unit]);
  }
  return buf;
}

}  // namespace vms
