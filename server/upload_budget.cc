#include "server/upload_budget.h"

#include <algorithm>

#include "core/sync.h"

namespace vms {

std::chrono::microseconds UploadBudget::Reserve(const std::string& client, uint64_t raw_bytes) {
  using std::chrono::microseconds;
  if (rate_ == 0) return microseconds(0);
  // A client owes at most a year: hostile sizes saturate instead of wrapping.
  constexpr int64_t kMaxOwedUs = int64_t{365} * 86400 * 1000000;
  const int64_t cost_us = static_cast<int64_t>(std::min<unsigned __int128>(
      static_cast<unsigned __int128>(raw_bytes) * 1000000 / rate_, kMaxOwedUs));
  const auto now = clock_->Now();
  MutexLock lock(&mu_);
  if (paid_at_.size() > 4096) {  // many clients: forget those that owe nothing
    std::erase_if(paid_at_, [&](const auto& kv) { return kv.second <= now; });
  }
  auto& paid_at = paid_at_[client];
  const int64_t owed_us =
      std::max<int64_t>(0, std::chrono::duration_cast<microseconds>(paid_at - now).count());
  const int64_t total_us = std::min(kMaxOwedUs, owed_us + cost_us);
  paid_at = now + microseconds(total_us);
  return microseconds(std::max<int64_t>(0, total_us - microseconds(kBurst).count()));
}

std::string UploadBudget::ClientOf(std::string_view peer) {
  size_t colon = peer.rfind(':');
  size_t first = peer.find(':');
  if (colon == std::string_view::npos || colon == first) return std::string(peer);
  return std::string(peer.substr(0, colon));
}

}  // namespace vms
