// Waiting for the sites, as `vms push`, `vms live --wait` and
// `vms rollback --wait` do: polls the master's view of the sites and shows
// per-site progress on a terminal.
#ifndef VMS_CLIENT_SITE_WAIT_H_
#define VMS_CLIENT_SITE_WAIT_H_

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

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

// Returns when every known site (or every one of `sites`) applied the flip
// of event `seq` (live_seq `live_seq`), then prints how long each took from
// `issued_unix_ms` when the master knows.
absl::Status WaitForFlip(MasterClient* master, const std::string& app, uint64_t live_seq,
                         uint64_t seq, const std::vector<std::string>& sites,
                         int64_t issued_unix_ms, std::chrono::seconds timeout);

}  // namespace vms

#endif  // VMS_CLIENT_SITE_WAIT_H_
