// The naming rules of DESIGN.md, in one place. Each returns OK or an
// InvalidArgument error that quotes the name and states the rule.
#ifndef VMS_CORE_NAMES_H_
#define VMS_CORE_NAMES_H_

#include <string_view>

#include "absl/status/status.h"

namespace vms {

// [a-z0-9][a-z0-9._-]{0,63}
absl::Status ValidateAppName(std::string_view name);
// [a-z0-9][a-z0-9._-]{0,63}, like apps.
absl::Status ValidateSiteName(std::string_view name);
// The NAME of vms://KIND/NAME (core/principal.h), like apps.
absl::Status ValidatePrincipalName(std::string_view name);
// [A-Za-z0-9][A-Za-z0-9._+-]{0,63}
absl::Status ValidateVersionName(std::string_view name);
// 1-255 bytes, no NUL or '/', not "." or "..".
absl::Status ValidateEntryName(std::string_view name);
// 1-4095 bytes, no NUL.
absl::Status ValidateSymlinkTarget(std::string_view target);

}  // namespace vms

#endif  // VMS_CORE_NAMES_H_
