#include "net/tls.h"

#include <sys/stat.h>
#include <time.h>

#include <optional>
#include <set>
#include <sstream>
#include <vector>

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
      serials_.clear();
      auto text = ReadFile(path_);
      if (!text.ok() && mtime >= 0) {
        spdlog::warn("cannot read the revoked serials in {}: {}", path_,
                     Sv(text.status().message()));
      }
      std::istringstream in(text.value_or(""));
      for (std::string line; std::getline(in, line);) {
        line = line.substr(0, line.find('#'));
        std::string serial = NormalizeSerial(line);
        if (!serial.empty()) serials_.insert(serial);
      }
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

// Checks the peer's principal after gRPC verified its chain: a server
// (`accept` empty) takes any one vms principal; a client only a server of the
// kinds it accepts, under the name it dialled.
class PeerVerifier : public gx::ExternalCertificateVerifier {
 public:
  explicit PeerVerifier(std::optional<PeerKinds> accept,
                        std::shared_ptr<RevokedSerials> revoked = nullptr)
      : accept_(accept), revoked_(std::move(revoked)) {}

  bool Verify(gx::TlsCustomVerificationCheckRequest* request,
              std::function<void(grpc::Status)> /*callback*/, grpc::Status* sync_status) override {
    *sync_status = Check(request);
    return true;
  }
  void Cancel(gx::TlsCustomVerificationCheckRequest*) override {}

 private:
  grpc::Status Check(gx::TlsCustomVerificationCheckRequest* request) const {
    std::string_view pem(request->peer_cert().data(), request->peer_cert().size());
    auto principal = PrincipalOfCertificate(pem);
    if (!principal.ok()) {
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                          StrCat(accept_ ? "the server's" : "the client's",
                                 " certificate: ", principal.status().message()));
    }
    if (!accept_) {
      if (revoked_) {
        auto info = ReadCertificate(pem);
        if (info.ok() && revoked_->Has(info->serial)) {
          spdlog::warn("refused a handshake: the certificate of {} (serial {}) is revoked",
                       principal->uri(), info->serial);
          return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                              StrCat("the client's certificate (", principal->uri(), ", serial ",
                                     info->serial, ") is revoked"));
        }
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
  std::shared_ptr<RevokedSerials> revoked_;
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
  options.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  options.set_certificate_verifier(
      gx::ExternalCertificateVerifier::Create<PeerVerifier>(std::nullopt, data_->revoked));
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
