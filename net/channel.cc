#include "net/channel.h"

#include "core/sync.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"
#include "net/rpc.h"

namespace vms {

namespace {
// How long a keepalive ping may go unanswered before the peer is taken for
// dead. A TSan build runs gRPC and TLS many times slower (every byte OpenSSL
// copies goes through TSan's interceptors), and a loaded peer there misses
// 5 s without being dead.
#ifdef VMS_TSAN  // core/sync.h
constexpr int kKeepaliveTimeoutMs = 30000;
#else
constexpr int kKeepaliveTimeoutMs = 5000;
#endif
}  // namespace

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address,
                                           const Credentials& credentials, PeerKinds accept,
                                           bool own_connection) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(kMaxMessageBytes);
  args.SetMaxSendMessageSize(kMaxMessageBytes);
  // Notice a dead peer on an idle stream (Follow, Watch) within seconds.
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 10000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, kKeepaliveTimeoutMs);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  if (own_connection) args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(address, credentials.ForChannel(accept), args);
}

void ConfigureServer(grpc::ServerBuilder* builder) {
  // gRPC sets SO_REUSEPORT by default, so a second daemon on a port already
  // in use would start and take half the connections: refuse instead.
  builder->AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder->SetMaxReceiveMessageSize(kMaxMessageBytes);
  builder->SetMaxSendMessageSize(kMaxMessageBytes);
  builder->AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder->AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 5000);
  builder->AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);
}

}  // namespace vms
