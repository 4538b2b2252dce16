#include "net/rpc.h"

#include "core/strings.h"
#include "net/tls.h"

namespace vms {

grpc::Status ToGrpc(const absl::Status& s) {
  if (s.ok()) return grpc::Status::OK;
  // The message travels in a trailer, and a peer refuses trailers over 8 KiB
  // (the caller would see RESOURCE_EXHAUSTED instead of the reason). Messages
  // quote input briefly (Quote()); this is the backstop.
  constexpr size_t kMaxErrorMessage = 4096;
  std::string message(s.message());
  if (message.size() > kMaxErrorMessage) {
    message = StrCat(message.substr(0, kMaxErrorMessage), "... (message cut at ", kMaxErrorMessage,
                     " bytes)");
  }
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), std::move(message));
}

absl::Status FromGrpc(const grpc::Status& s, std::string_view what) {
  if (s.ok()) return absl::OkStatus();
  auto code = static_cast<absl::StatusCode>(s.error_code());
  if (code == absl::StatusCode::kUnavailable || code == absl::StatusCode::kDeadlineExceeded) {
    return absl::Status(code, StrCat(what, ": cannot reach the server (", s.error_message(), ")",
                                     ExplainHandshakeFailure(s.error_message())));
  }
  if (code == absl::StatusCode::kUnimplemented) {
    // The server does not serve this RPC at all: a replica asked what only
    // the master does (push, live, rollback, sites), or an older build.
    return absl::Status(
        code, StrCat(what, ": that server does not serve this request",
                     s.error_message().empty() ? "" : StrCat(" (", s.error_message(), ")"),
                     "; is it a replica? Only the master takes pushes, flips and site changes: "
                     "point --master (or VMS_MASTER) at the master"));
  }
  if (s.error_message().empty()) {
    return absl::Status(
        code, StrCat(what, ": ", absl::StatusCodeToString(code), " (the server gave no reason)"));
  }
  return absl::Status(code, StrCat(what, ": ", s.error_message()));
}

gpr_timespec DeadlineAfter(std::chrono::milliseconds d) {
  return gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(d.count(), GPR_TIMESPAN));
}

}  // namespace vms
