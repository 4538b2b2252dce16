// The edge between absl::Status and gRPC, and the channel settings every vms
// client and server share. Codes map one to one (absl's codes are gRPC's).
#ifndef VMS_PROTO_WIRE_H_
#define VMS_PROTO_WIRE_H_

#include <chrono>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "grpc/support/time.h"
#include "grpcpp/channel.h"
#include "grpcpp/server_builder.h"
#include "grpcpp/support/status.h"

namespace vms {

// Objects are at most 64 MiB raw (core/codec.h); batches stay far below this.
inline constexpr int kMaxMessageBytes = 80 << 20;
// What a sender packs into one ObjectBatch before it sends it.
inline constexpr size_t kBatchBytes = 4 << 20;

grpc::Status ToGrpc(const absl::Status& s);
// `what` names the call for the message, e.g. "push to 10.0.0.1:7700".
absl::Status FromGrpc(const grpc::Status& s, std::string_view what);

// A deadline `d` from now on the monotonic clock, for ClientContext,
// Alarm and Server::Shutdown: a step of the wall clock (NTP, an operator's
// `date -s`) neither ends a call early nor keeps it waiting longer.
gpr_timespec DeadlineAfter(std::chrono::milliseconds d);

// An insecure channel (TLS is an operator's proxy for now) with vms limits.
std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address);

// Message limits and keepalive policy matching MakeChannel().
void ConfigureServer(grpc::ServerBuilder* builder);

}  // namespace vms

#endif  // VMS_PROTO_WIRE_H_
