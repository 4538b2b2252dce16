// Early returns on errors, for the common shapes:
//
//   VMS_RETURN_IF_ERROR(store.Write(&batch));
//   VMS_ASSIGN_OR_RETURN(auto tree, DecodeTree(raw));
//   VMS_ASSIGN_OR_RETURN(size, store.Size(hash));   // an existing variable
//
// Each returns the error as it is; where the caller adds context to the
// message, write the `if` out: the context is the point.
#ifndef VMS_CORE_STATUS_MACROS_H_
#define VMS_CORE_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define VMS_RETURN_IF_ERROR(expr)                                 \
  do {                                                            \
    if (::absl::Status vms_status_ = (expr); !vms_status_.ok()) { \
      return vms_status_;                                         \
    }                                                             \
  } while (false)

#define VMS_STATUS_CONCAT_INNER_(a, b) a##b
#define VMS_STATUS_CONCAT_(a, b) VMS_STATUS_CONCAT_INNER_(a, b)

#define VMS_ASSIGN_OR_RETURN(lhs, expr) \
  VMS_ASSIGN_OR_RETURN_IMPL_(VMS_STATUS_CONCAT_(vms_statusor_, __LINE__), lhs, expr)

#define VMS_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr)    \
  auto statusor = (expr);                                  \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = std::move(*statusor)

#endif  // VMS_CORE_STATUS_MACROS_H_
