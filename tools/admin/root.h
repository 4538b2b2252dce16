// vms-admin's root of trust (core/trust.h): made once, kept offline.
//
//   InitRoot(DIR, N, K)   DIR/root-1.key .. root-N.key (0600, each for its
//                         holder), DIR/root.pub (the root, version 1, signed
//                         by all N keys; K of them sign what follows)
//
// Nothing is overwritten: a DIR that holds a root is an error that says so.
#ifndef VMS_TOOLS_ADMIN_ROOT_H_
#define VMS_TOOLS_ADMIN_ROOT_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "core/trust.h"

namespace vms::admin {

absl::StatusOr<Root> InitRoot(const std::string& dir, int keys = 1, int threshold = 1);

}  // namespace vms::admin

#endif  // VMS_TOOLS_ADMIN_ROOT_H_
