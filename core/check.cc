#include "core/check.h"

#include <cstdio>
#include <cstdlib>

#include "spdlog/spdlog.h"

namespace vms {

void CheckFailed(const char* file, int line, const char* condition, std::string_view what) {
  std::fprintf(stderr, "vms: check failed at %s:%d: %s (%.*s)\n", file, line, condition,
               static_cast<int>(what.size()), what.data());
  // The daemon's log too, when it is a file.
  if (auto logger = spdlog::default_logger(); logger != nullptr) {
    logger->critical("check failed at {}:{}: {} ({})", file, line, condition, what);
    logger->flush();
  }
  std::abort();
}

}  // namespace vms
