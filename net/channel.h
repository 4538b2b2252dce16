// Channels and servers: every vms connection is made here, with the
// process's Credentials (mutual TLS, net/tls.h).
#ifndef VMS_NET_CHANNEL_H_
#define VMS_NET_CHANNEL_H_

#include <memory>
#include <string>

#include "grpcpp/channel.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "net/tls.h"

namespace vms {

// A channel to `address` (host:port) with vms message limits and keepalive:
// a peer that stops answering (a hung or stopped process, a cut link) is
// noticed on an idle stream within about 15 s. Over TLS, the server must be
// one of the kinds in `accept` (net/tls.h).
// `own_connection`: never share a connection with another channel to the same
// address (gRPC shares them by default): each simulated host of
// tools/hostsim has its own, as real hosts do.
std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address,
                                           const Credentials& credentials, PeerKinds accept,
                                           bool own_connection = false);

// Message limits and keepalive policy matching MakeChannel().
void ConfigureServer(grpc::ServerBuilder* builder);

}  // namespace vms

#endif  // VMS_NET_CHANNEL_H_
