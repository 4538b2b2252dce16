// Checks of what must hold whatever the input: a failure is a programming
// error or a broken machine (out of memory inside OpenSSL), never a bad
// request. Bad input gets a Status; this is for the rest.
//
//   VMS_CHECK(ctx != nullptr, "EVP_MD_CTX_new");
//
// On failure it logs where and what (to the daemon's log and to stderr),
// flushes, and aborts, so that the core dump and the last log line say the
// same thing.
#ifndef VMS_CORE_CHECK_H_
#define VMS_CORE_CHECK_H_

#include <string_view>

namespace vms {

[[noreturn]] void CheckFailed(const char* file, int line, const char* condition,
                              std::string_view what);

}  // namespace vms

#define VMS_CHECK(condition, what)                                \
  do {                                                            \
    if (!(condition)) [[unlikely]] {                              \
      ::vms::CheckFailed(__FILE__, __LINE__, #condition, (what)); \
    }                                                             \
  } while (false)

#endif  // VMS_CORE_CHECK_H_
