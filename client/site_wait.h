// Waiting for the sites, as `vms push`, `vms live --wait` and
// `vms rollback --wait` do: polls the master's view of the sites and shows
// per-site progress on a terminal.
#ifndef VMS_CLIENT_SITE_WAIT_H_
#define VMS_CLIENT_SITE_WAIT_H_

#include <chrono>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "client/master_client.h"

namespace vms {

// Returns when every known site holds app/version complete (OK at once when
// there are no sites). DeadlineExceeded, naming the sites that lag, after
// `timeout` (zero: no limit); `outcome` ends that message with what the
// timeout means for the caller's command ("the version stays pushed").
absl::Status WaitForVersion(MasterClient* master, const std::string& app,
                            const std::string& version, std::chrono::seconds timeout,
                            std::string_view outcome);

// Returns when every known site applied app's live_seq (or a later one), then
// prints how long each took from `issued_unix_ms`.
absl::Status WaitForFlip(MasterClient* master, const std::string& app, uint64_t live_seq,
                         int64_t issued_unix_ms, std::chrono::seconds timeout);

}  // namespace vms

#endif  // VMS_CLIENT_SITE_WAIT_H_
