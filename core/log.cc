#include "core/log.h"

#include <map>

#include "core/sync.h"

namespace vms {

std::shared_ptr<spdlog::logger> ComponentLogger(const std::string& component) {
  if (auto registered = spdlog::get(component)) return registered;
  // Not registered (a test, a tool): one copy of the default logger per
  // name, made once, never registered (a daemon's InitLogging may register
  // that name later).
  static Mutex mu;
  static auto* copies = new std::map<std::string, std::shared_ptr<spdlog::logger>>();
  MutexLock lock(&mu);
  auto& copy = (*copies)[component];
  if (!copy) copy = spdlog::default_logger()->clone(component);
  return copy;
}

}  // namespace vms
