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

// The per-app summary after `release` is added.
void AddReleaseToState(const Release& release, AppState* state);
// The per-app summary after `live` is applied (back_stack is the master's):
// the world's live version, the pointers in effect, the retired versions
// (a retirement known ahead, AppState.retired_ahead, becomes a retirement).
void AddLiveToState(const LiveRecord& live, AppState* state);

// Retirement is a rule of the log, not of the collector: a version retired
// anywhere along the log is retired for every store that reads that log,
// whatever position it is at. The master, a replica at the head, a replica
// catching up from an empty disk and a host all decide it here:
//  - No store fetches, keeps or serves a retired version's objects; a site
//    never reports it complete and nothing waits for it.
//  - A follower that reaches the release (or a live record) of a version
//    its upstream knows is retired later is told so with the signed RETIRE
//    record (FollowMessage.retired_later); once it has checked that record
//    (RetirementMatches) it applies the event as records only.
//  - A live record naming a retired version moves no pointer a host sees:
//    a later record (in the log before the retirement) replaced it.
// Whether `state` counts `version` as retired: its RETIRE record applied,
// or known ahead of the log.
bool IsRetired(const AppState& state, std::string_view version);
// OK if `retire` (a verified live record) retires app/version with that
// root; else InvalidArgument saying how it differs.
absl::Status RetirementMatches(const LiveRecord& retire, std::string_view app,
                               std::string_view version, std::string_view root);

}  // namespace vms

#endif  // VMS_CORE_LIFECYCLE_H_
