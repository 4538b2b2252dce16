// The name of a site's state of a version, as `vms sites`, `vms status` and
// the master's status page show it.
#ifndef VMS_NET_VERSION_STATE_H_
#define VMS_NET_VERSION_STATE_H_

#include "records.pb.h"

namespace vms {

inline const char* VersionStateName(VersionState::State s) {
  switch (s) {
    case VersionState::FETCHING:
      return "fetching";
    case VersionState::COMPLETE:
      return "complete";
    case VersionState::FAILED:
      return "failed";
    default:
      return "waiting";  // reported, not yet started
  }
}

}  // namespace vms

#endif  // VMS_NET_VERSION_STATE_H_
