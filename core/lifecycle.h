// Scopes and labels of live records (../shared/DESIGN.md, "Lifecycle").
//
// A live record moves one pointer of an app: its label ("" is live, what
// /dist/APP follows; else /dist/APP@LABEL) for its sites (none: the world).
// live_seq is per app across every label and scope, so what is in effect
// for a label at a site is simply the newest record of that label that
// applies to the site: a world record supersedes every older scoped one, and
// a record replayed later never wins. Master, replicas, hosts and `vms
// verify` all decide it here.
#ifndef VMS_CORE_LIFECYCLE_H_
#define VMS_CORE_LIFECYCLE_H_

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "records.pb.h"

namespace vms {

// Sites one scoped record may name.
inline constexpr size_t kMaxScopeSites = 64;

// [a-z][a-z0-9_-]{0,31}: no dot or '+', so that most version names are not
// labels; "live" is the pointer /dist/APP follows and is spelled "".
absl::Status ValidateLabel(std::string_view label);

// Sorted, without duplicates, each a valid site name, at most kMaxScopeSites.
absl::Status ValidateScope(const std::vector<std::string>& sites);

// Whether `record` moves a pointer at `site`: a world record applies
// everywhere; a scoped one at the sites it names. Site "" means the world
// itself (only world records apply to it). A retirement moves no pointer.
bool AppliesTo(const LiveRecord& record, std::string_view site);

// "APP" for live, "APP@LABEL" for a label: the name in /dist.
std::string PointerName(std::string_view app, std::string_view label);

// What each label points to at `site`, from records of one app in any order:
// label -> the newest record of that label applying there.
std::map<std::string, LiveRecord> InEffect(const std::vector<LiveRecord>& records,
                                           std::string_view site);

// The live_seq of the app's world live record (0: none).
uint64_t WorldLiveSeq(const AppState& state);

// "the world", or "ny, ldn": for messages.
std::string ScopeText(const LiveRecord& record);

}  // namespace vms

#endif  // VMS_CORE_LIFECYCLE_H_
