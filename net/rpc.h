// The edge between absl::Status and gRPC, deadlines, and the one request
// policy every vms client follows: how big a message may be, how many hashes
// go in one request, how long each kind of call may take. Codes map one to
// one (absl's codes are gRPC's).
#ifndef VMS_NET_RPC_H_
#define VMS_NET_RPC_H_

#include <chrono>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/limits.h"
#include "core/status_macros.h"
#include "grpc/support/time.h"
#include "grpcpp/client_context.h"
#include "grpcpp/support/status.h"

namespace vms {

// Objects are at most 64 MiB raw (core/codec.h); batches stay far below this.
inline constexpr int kMaxMessageBytes = 80 << 20;
// What a sender packs into one ObjectBatch before it sends it.
inline constexpr size_t kBatchBytes = 4 << 20;
// Hashes a client puts in one request: half of what servers accept (1 MiB).
inline constexpr size_t kHashesPerRequest = kMaxHashesPerRequest / 2;

// How long a call may take, by the work it asks for. Reaching the server at
// all is what fails fast; a call that does real work gets time for it.
inline constexpr std::chrono::seconds kReportDeadline{10};   // a site report, relayed or not
inline constexpr std::chrono::seconds kListDeadline{30};     // listings and a server's view
inline constexpr std::chrono::seconds kQueryDeadline{60};    // reads of a store, flips
inline constexpr std::chrono::seconds kCommitDeadline{600};  // a commit walks a whole closure

grpc::Status ToGrpc(const absl::Status& s);
// `what` names the call for the message, e.g. "push to 10.0.0.1:7700".
absl::Status FromGrpc(const grpc::Status& s, std::string_view what);

// A deadline `d` from now on the monotonic clock, for ClientContext,
// Alarm and Server::Shutdown: a step of the wall clock (NTP, an operator's
// `date -s`) neither ends a call early nor keeps it waiting longer.
gpr_timespec DeadlineAfter(std::chrono::milliseconds d);

// One unary call with its deadline, as a Status that names `what`:
//   auto resp = Unary<FlipResponse>(stub, &Publish::Stub::SetLive, req,
//                                   kQueryDeadline, "live on HOST");
template <typename Resp, typename Stub, typename Req, typename Method>
absl::StatusOr<Resp> Unary(Stub* stub, Method method, const Req& req,
                           std::chrono::milliseconds deadline, std::string_view what) {
  Resp resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(DeadlineAfter(deadline));
  VMS_RETURN_IF_ERROR(FromGrpc((stub->*method)(&ctx, req, &resp), what));
  return resp;
}

}  // namespace vms

#endif  // VMS_NET_RPC_H_
