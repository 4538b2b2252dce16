// Helpers shared by the gRPC adapters of the master and the replica.
#ifndef VMS_SERVER_RPC_UTIL_H_
#define VMS_SERVER_RPC_UTIL_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "core/hash.h"
#include "core/limits.h"
#include "core/status_macros.h"
#include "core/strings.h"
#include "core/thread_pool.h"
#include "grpcpp/grpcpp.h"
#include "net/rpc.h"
#include "net/tls.h"

namespace vms {

// The authenticated principal of the caller (net/tls.h).
inline std::string CallerOf(grpc::ServerContextBase* ctx) {
  return PeerPrincipal(*ctx->auth_context());
}

// Who takes turns with whom on a server's pool: each principal (however many
// connections it opens); on an insecure server, each connection.
inline std::string FairnessKey(grpc::ServerContextBase* ctx) {
  std::string principal = CallerOf(ctx);
  return principal == kAnonymous ? ctx->peer() : principal;
}

// Runs `fn` (returning absl::Status) on `pool`, off gRPC's callback threads
// (work may block on disk), then finishes the call with its status. Calls
// take turns per caller (ThreadPool keys, FairnessKey()), so one caller's
// flood of requests cannot starve another's.
template <typename Fn>
grpc::ServerUnaryReactor* RunUnary(grpc::CallbackServerContext* ctx, ThreadPool* pool, Fn fn) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  pool->Submit(FairnessKey(ctx),
               [reactor, fn = std::move(fn)]() mutable { reactor->Finish(ToGrpc(fn())); });
  return reactor;
}

// InvalidArgument when a request carries more than kMaxHashesPerRequest.
inline absl::Status CheckHashCount(int count) {
  if (static_cast<size_t>(count) <= kMaxHashesPerRequest) return absl::OkStatus();
  return absl::InvalidArgumentError(StrCat("a request carries at most ", kMaxHashesPerRequest,
                                           " hashes, this one ", count,
                                           "; send them in several requests"));
}

// Parses wire hashes; InvalidArgument naming the index of a bad one, or
// for more than kMaxHashesPerRequest.
template <typename Repeated>
absl::StatusOr<std::vector<Hash>> ParseHashes(const Repeated& raw) {
  VMS_RETURN_IF_ERROR(CheckHashCount(raw.size()));
  std::vector<Hash> out;
  out.reserve(raw.size());
  for (int i = 0; i < raw.size(); ++i) {
    auto h = Hash::FromBytes(raw[i]);
    if (!h.ok()) {
      return absl::InvalidArgumentError("hash #" + std::to_string(i) + ": " +
                                        std::string(h.status().message()));
    }
    out.push_back(*h);
  }
  return out;
}

}  // namespace vms

#endif  // VMS_SERVER_RPC_UTIL_H_
