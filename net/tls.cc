#include "net/tls.h"

#include <sys/stat.h>
#include <time.h>

#include <atomic>
#include <optional>
#include <set>
#include <sstream>
#include <vector>

#include "core/clock.h"
#include "core/file_util.h"
#include "core/strings.h"
#include "core/sync.h"
#include "core/x509.h"
#include "grpc/grpc_security_constants.h"
#include "grpcpp/security/tls_certificate_provider.h"
#include "grpcpp/security/tls_certificate_verifier.h"
#include "grpcpp/security/tls_credentials_options.h"
#include "spdlog/spdlog.h"

namespace vms {

namespace gx = grpc::experimental;

RevokedSerials::RevokedSerials(std::string path) : path_(std::move(path)) {}

bool RevokedSerials::Has(const std::string& serial) {
  MutexLock lock(&mu_);
  const auto now = std::chrono::steady_clock::now();
  if (now - checked_ >= std::chrono::seconds(1)) {
    checked_ = now;
    struct stat st;
    const int64_t mtime = ::stat(path_.c_str(), &st) == 0
                              ? st.st_mtim.tv_sec * 1000000000ll + st.st_mtim.tv_nsec
                              : -1;
    if (mtime != mtime_) {
      mtime_ = mtime;
      auto text = ReadFile(path_);
      if (!text.ok() && mtime >= 0) {
        spdlog::warn("cannot read the revoked serials in {}: {}", path_,
                     Sv(text.status().message()));
      }
      serials_ = ParseRevokedSerials(text.value_or(""));
    }
  }
  return serials_.contains(serial);
}

struct Credentials::Data {
  std::string ca_pem, cert_pem, key_pem;
  Principal self;
  std::shared_ptr<RevokedSerials> revoked;  // null: none
};

namespace {

std::string Day(std::chrono::system_clock::time_point t) {
  time_t tt = std::chrono::system_clock::to_time_t(t);
  struct tm tm;
  gmtime_r(&tt, &tm);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &tm);
  return buf;
}

// "host" of "host:port", "[v6]:port" or a bare address.
std::string HostOf(std::string_view target) {
  if (target.starts_with("[")) {
    size_t end = target.find(']');
    return std::string(target.substr(1, end == std::string_view::npos ? end : end - 1));
  }
  size_t colon = target.rfind(':');
  if (colon != std::string_view::npos && target.find(':') == colon) {
    return std::string(target.substr(0, colon));
  }
  return std::string(target);
}

// Checks the peer: a client, after gRPC verified the server's chain, takes
// only a server of the kinds it accepts, under the name it dialled. A server
// (`accept` empty, `ca_pem` given) verifies the client's chain itself (gRPC
// is told not to, so that a refusal can be logged with whose certificate it
// was and why, which gRPC's "certificate verify failed" does not say), then
// takes any one vms principal whose serial is not revoked.
class PeerVerifier : public gx::ExternalCertificateVerifier {
 public:
  explicit PeerVerifier(std::optional<PeerKinds> accept, std::string ca_pem = "",
                        std::shared_ptr<RevokedSerials> revoked = nullptr)
      : accept_(accept), ca_pem_(std::move(ca_pem)), revoked_(std::move(revoked)) {}

  bool Verify(gx::TlsCustomVerificationCheckRequest* request,
              std::function<void(grpc::Status)> /*callback*/, grpc::Status* sync_status) override {
    *sync_status = Check(request);
    return true;
  }
  void Cancel(gx::TlsCustomVerificationCheckRequest*) override {}

 private:
  // A refused client, in the log: at most one line a second, with a count
  // of the ones not logged (anyone can make handshakes by the thousand).
  grpc::Status Refuse(std::string_view pem, const std::string& why) const {
    const int64_t now = WallClockMs();
    if (now - last_logged_ms_.load() >= 1000) {
      last_logged_ms_ = now;
      auto info = ReadCertificate(pem);
      std::string who;
      if (info.ok()) {
        for (const std::string& u : info->uris) {
          if (u.starts_with("vms://")) who += (who.empty() ? "" : " and ") + u;
        }
        who = StrCat(who.empty() ? "a certificate naming no vms principal" : who, " (serial ",
                     info->serial, ")");
      } else {
        who = "an unreadable certificate";
      }
      const uint64_t unlogged = unlogged_.exchange(0);
      spdlog::warn("refused a client's handshake: {}: {}{}", who, why,
                   unlogged == 0 ? "" : StrCat(" (and ", unlogged, " more refusals not logged)"));
    } else {
      ++unlogged_;
    }
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                        StrCat("the client's certificate: ", why));
  }

  grpc::Status Check(gx::TlsCustomVerificationCheckRequest* request) const {
    std::string_view pem(request->peer_cert().data(), request->peer_cert().size());
    if (!accept_) {
      // The chain first: the leaf, then what the client sent with it.
      std::string chain(pem);
      chain.append(request->peer_cert_full_chain().data(), request->peer_cert_full_chain().size());
      if (absl::Status s = VerifyCertificate(ca_pem_, chain, /*as_client=*/true); !s.ok()) {
        return Refuse(pem, std::string(s.message()));
      }
    }
    auto principal = PrincipalOfCertificate(pem);
    if (!principal.ok()) {
      if (!accept_) return Refuse(pem, std::string(principal.status().message()));
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                          StrCat("the server's certificate: ", principal.status().message()));
    }
    if (!accept_) {
      if (revoked_) {
        auto info = ReadCertificate(pem);
        if (info.ok() && revoked_->Has(info->serial)) return Refuse(pem, "it is revoked");
      }
      return grpc::Status::OK;
    }
    if (!accept_->Has(principal->kind)) {
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                          StrCat("the server is ", principal->uri(), ", not a ",
                                 accept_->ToString(), " as expected here"));
    }
    std::string target(request->target_name().data(), request->target_name().size());
    std::string host = HostOf(target);
    if (!CertificateNamesHost(pem, host)) {
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                          StrCat("the server's certificate (", principal->uri(), ") does not name ",
                                 host, ": it needs a DNS or IP SAN for the address dialled"));
    }
    return grpc::Status::OK;
  }

  std::optional<PeerKinds> accept_;
  const std::string ca_pem_;
  std::shared_ptr<RevokedSerials> revoked_;
  mutable std::atomic<int64_t> last_logged_ms_{0};
  mutable std::atomic<uint64_t> unlogged_{0};
};

absl::StatusOr<std::string> ReadPem(const std::string& path, std::string_view flag) {
  if (path.empty()) {
    return absl::InvalidArgumentError(
        StrCat("no ", flag, ": every vms connection is mutual TLS; give --tls-ca, --tls-cert and ",
               "--tls-key (or, for plaintext on a trusted network, --insecure on both ends)"));
  }
  auto text = ReadFile(path);
  if (!text.ok()) {
    return absl::InvalidArgumentError(
        StrCat("cannot read ", flag, " ", path, ": ", text.status().message()));
  }
  return text;
}

std::shared_ptr<gx::StaticDataCertificateProvider> Provider(const std::string& ca,
                                                            const std::string& cert,
                                                            const std::string& key) {
  return std::make_shared<gx::StaticDataCertificateProvider>(
      ca, std::vector<gx::IdentityKeyCertPair>{{key, cert}});
}

}  // namespace

PeerKinds::PeerKinds(std::initializer_list<PrincipalKind> kinds) {
  for (PrincipalKind k : kinds) bits_ |= 1u << static_cast<int>(k);
}

std::string PeerKinds::ToString() const {
  std::string out;
  for (PrincipalKind k :
       {PrincipalKind::kMaster, PrincipalKind::kSite, PrincipalKind::kHost, PrincipalKind::kUser}) {
    if (!Has(k)) continue;
    if (!out.empty()) out += " or ";
    out += KindName(k);
  }
  return out;
}

absl::StatusOr<Credentials> Credentials::Load(const TlsFiles& files) {
  if (files.insecure) return Insecure();
  auto data = std::make_shared<Data>();
  {
    auto ca = ReadPem(files.ca, "--tls-ca");
    if (!ca.ok()) return ca.status();
    auto cert = ReadPem(files.cert, "--tls-cert");
    if (!cert.ok()) return cert.status();
    auto key = ReadPem(files.key, "--tls-key");
    if (!key.ok()) return key.status();
    data->ca_pem = *std::move(ca);
    data->cert_pem = *std::move(cert);
    data->key_pem = *std::move(key);
    if (!files.revoked.empty()) data->revoked = std::make_shared<RevokedSerials>(files.revoked);
  }
  auto info = ReadCertificate(data->cert_pem);
  if (!info.ok()) {
    return absl::InvalidArgumentError(
        StrCat("--tls-cert ", files.cert, ": ", info.status().message()));
  }
  auto self = PrincipalOfCertificate(data->cert_pem);
  if (!self.ok()) {
    return absl::InvalidArgumentError(
        StrCat("--tls-cert ", files.cert, ": ", self.status().message()));
  }
  data->self = *self;
  if (absl::Status s = KeyMatchesCertificate(data->cert_pem, data->key_pem); !s.ok()) {
    return absl::InvalidArgumentError(StrCat(
        "--tls-key ", files.key, " does not go with --tls-cert ", files.cert, ": ", s.message()));
  }
  const auto now = std::chrono::system_clock::now();
  if (now >= info->not_after) {
    return absl::UnauthenticatedError(
        StrCat("the certificate ", files.cert, " (", self->uri(), ") expired on ",
               Day(info->not_after), ": servers refuse it; get a new one from your CA (",
               "vms-pki issue DIR ", KindName(self->kind), " ", self->name, ")"));
  }
  if (now < info->not_before) {
    return absl::UnauthenticatedError(StrCat("the certificate ", files.cert, " (", self->uri(),
                                             ") is not valid before ", Day(info->not_before),
                                             ": check this machine's clock"));
  }
  if (absl::Status s = VerifyCertificate(data->ca_pem, data->cert_pem); !s.ok()) {
    return absl::UnauthenticatedError(
        StrCat("the certificate ", files.cert, " (", self->uri(), ") is not signed by the CA in ",
               files.ca, " (", s.message(),
               "): servers of this CA refuse it; use a certificate of this CA, or the CA that "
               "signed it"));
  }
  return Credentials(std::move(data));
}

Credentials Credentials::Insecure() { return Credentials(nullptr); }

std::string Credentials::principal() const { return data_ ? data_->self.uri() : ""; }

std::shared_ptr<grpc::ChannelCredentials> Credentials::ForChannel(PeerKinds accept) const {
  if (insecure()) return grpc::InsecureChannelCredentials();
  gx::TlsChannelCredentialsOptions options;
  options.set_certificate_provider(Provider(data_->ca_pem, data_->cert_pem, data_->key_pem));
  options.watch_root_certs();
  options.watch_identity_key_cert_pairs();
  options.set_verify_server_certs(true);
  // The verifier checks the name dialled itself, with the principal.
  options.set_check_call_host(false);
  options.set_certificate_verifier(gx::ExternalCertificateVerifier::Create<PeerVerifier>(accept));
  return gx::TlsCredentials(options);
}

std::shared_ptr<grpc::ServerCredentials> Credentials::ForServer() const {
  if (insecure()) return grpc::InsecureServerCredentials();
  gx::TlsServerCredentialsOptions options(Provider(data_->ca_pem, data_->cert_pem, data_->key_pem));
  options.watch_root_certs();
  options.watch_identity_key_cert_pairs();
  // A certificate is required; its chain is verified by PeerVerifier, which
  // says in the log whose it was and why it was refused.
  options.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_BUT_DONT_VERIFY);
  options.set_certificate_verifier(gx::ExternalCertificateVerifier::Create<PeerVerifier>(
      std::nullopt, data_->ca_pem, data_->revoked));
  return gx::TlsServerCredentials(options);
}

std::string PeerPrincipal(const grpc::AuthContext& auth) {
  if (!auth.IsPeerAuthenticated()) return std::string(kAnonymous);
  // The handshake parsed the certificate's URI SANs already; every call asks,
  // so they are read here rather than the certificate parsed again.
  for (const grpc::string_ref& uri : auth.FindPropertyValues(GRPC_PEER_URI_PROPERTY_NAME)) {
    std::string_view u(uri.data(), uri.size());
    if (u.starts_with("vms://")) return std::string(u);
  }
  for (const grpc::string_ref& pem : auth.FindPropertyValues(GRPC_X509_PEM_CERT_PROPERTY_NAME)) {
    auto p = PrincipalOfCertificate(std::string_view(pem.data(), pem.size()));
    if (p.ok()) return p->uri();
  }
  // The handshake admits only certificates that name one principal.
  return std::string(kAnonymous);
}

std::string ExplainHandshakeFailure(std::string_view message) {
  // gRPC reports a refused handshake only in its message text. A server that
  // refuses the client's certificate closes the connection without saying
  // why (its log does); `vms` checks its own certificate before connecting,
  // so what is left is told apart here as far as the text allows.
  if (message.find("certificate verify failed") != std::string_view::npos) {
    return ": this client refused the server's certificate: it is not signed by the CA in "
           "--tls-ca, has expired, or is not a server certificate (the server's log says more)";
  }
  if (message.find("Tls handshake failed") != std::string_view::npos ||
      message.find("Ssl handshake failed") != std::string_view::npos) {
    return ": the TLS handshake failed; a server started with --insecure speaks plaintext, so "
           "its clients need --insecure too";
  }
  if (message.find("failed to connect") != std::string_view::npos &&
      message.find("Socket closed") != std::string_view::npos) {
    return ": the server closed the connection at once, as a TLS server does when it refuses "
           "the client's certificate (none, expired, or from another CA) or the client speaks "
           "plaintext (--insecure); the server's log names which";
  }
  return "";
}

}  // namespace vms
