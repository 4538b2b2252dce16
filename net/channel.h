// Channels and servers: every vms connection is made here, so that this is
// the one place where transport security plugs in (mutual TLS comes next:
// ../shared/DESIGN.md, "Identity and authority"). Today channels are
// plaintext.
#ifndef VMS_NET_CHANNEL_H_
#define VMS_NET_CHANNEL_H_

#include <memory>
#include <string>

#include "grpcpp/channel.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"

namespace vms {

// A channel to `address` (host:port) with vms message limits and keepalive:
// a peer that stops answering (a hung or stopped process, a cut link) is
// noticed on an idle stream within about 15 s.
std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address);

// Message limits and keepalive policy matching MakeChannel().
void ConfigureServer(grpc::ServerBuilder* builder);
// What a server listens with.
std::shared_ptr<grpc::ServerCredentials> ServerCredentials();

}  // namespace vms

#endif  // VMS_NET_CHANNEL_H_
