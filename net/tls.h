// Transport security: mutual TLS on every vms connection, principals from
// certificates (../shared/DESIGN.md, "Identity and authority").
//
// A process loads its Credentials once at start (its CA, certificate and
// key, checked here so that a wrong file is an error that names it, not a
// handshake failure later) and makes every channel and server with them.
//
// - Servers require a client certificate signed by the CA that names one
//   vms principal; anything else is refused at the handshake.
// - Clients verify the server's certificate against the CA, that it names the
//   address dialled (a DNS or IP SAN), and that its principal is of a kind
//   they accept: a replica's upstream is a master or a site, a host's
//   replica a site or a master.
// - Plaintext only with Credentials::Insecure(), which the daemons and `vms`
//   use only behind an explicit --insecure (both ends). An insecure server
//   cannot tell callers apart: every caller is kAnonymous.
#ifndef VMS_NET_TLS_H_
#define VMS_NET_TLS_H_

#include <chrono>
#include <initializer_list>
#include <memory>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "core/principal.h"
#include "core/sync.h"
#include "grpcpp/security/auth_context.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"

namespace vms {

// The principal of every caller of an insecure server.
inline constexpr std::string_view kAnonymous = "anonymous";

struct TlsFiles {
  std::string ca, cert, key;  // PEM files
  bool insecure = false;      // plaintext: no identity at all
  // Serials of certificates cut off before they expire, one per line (hex,
  // as `openssl x509 -noout -serial` prints them; # starts a comment). A
  // server refuses their handshakes; the file is read again when it
  // changes, within a second. Empty: none.
  std::string revoked;
};

// The serials of TlsFiles::revoked, read again when the file changes (looked
// at once a second at most).
class RevokedSerials {
 public:
  explicit RevokedSerials(std::string path);
  bool Has(const std::string& serial);  // `serial` as CertificateInfo has it

 private:
  const std::string path_;
  Mutex mu_;
  std::chrono::steady_clock::time_point checked_ ABSL_GUARDED_BY(mu_){};
  int64_t mtime_ ABSL_GUARDED_BY(mu_) = -2;
  std::set<std::string> serials_ ABSL_GUARDED_BY(mu_);
};

// Which kinds of principal a client accepts as the server it dials.
class PeerKinds {
 public:
  PeerKinds(std::initializer_list<PrincipalKind> kinds);
  bool Has(PrincipalKind kind) const { return (bits_ & (1u << static_cast<int>(kind))) != 0; }
  std::string ToString() const;  // "master or site"

 private:
  unsigned bits_ = 0;
};

class Credentials {
 public:
  // Reads and checks the three files: each readable and PEM, the key the
  // certificate's, the certificate valid now under the CA and naming one vms
  // principal. The error names the file and what is wrong with it (expired
  // on DATE, not signed by the CA in FILE, ...). With `files.insecure`,
  // Insecure() (the files are ignored).
  static absl::StatusOr<Credentials> Load(const TlsFiles& files);
  static Credentials Insecure();

  bool insecure() const { return data_ == nullptr; }
  // This process's own principal ("" when insecure).
  std::string principal() const;

  std::shared_ptr<grpc::ChannelCredentials> ForChannel(PeerKinds accept) const;
  std::shared_ptr<grpc::ServerCredentials> ForServer() const;

 private:
  struct Data;
  explicit Credentials(std::shared_ptr<const Data> data) : data_(std::move(data)) {}
  std::shared_ptr<const Data> data_;  // null: insecure
};

// The principal of a server call's peer, from its verified certificate
// ("vms://user/alice"); kAnonymous on an insecure server.
std::string PeerPrincipal(const grpc::AuthContext& auth);

// When a failed call's message (gRPC's) shows a refused TLS handshake, an
// explanation to append (": this client refused the server's certificate
// ..."); "" otherwise. FromGrpc() appends it.
std::string ExplainHandshakeFailure(std::string_view grpc_message);

}  // namespace vms

#endif  // VMS_NET_TLS_H_
