#include "core/x509.h"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <cctype>
#include <memory>

#include "core/strings.h"

namespace vms {

namespace {

struct Free {
  void operator()(BIO* p) const { BIO_free(p); }
  void operator()(X509* p) const { X509_free(p); }
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(X509_STORE* p) const { X509_STORE_free(p); }
  void operator()(X509_STORE_CTX* p) const { X509_STORE_CTX_free(p); }
  void operator()(GENERAL_NAMES* p) const { GENERAL_NAMES_free(p); }
  void operator()(STACK_OF(X509) * p) const { sk_X509_pop_free(p, X509_free); }
};
using Bio = std::unique_ptr<BIO, Free>;
using Cert = std::unique_ptr<X509, Free>;

Bio MemBio(std::string_view pem) {
  return Bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

// Every certificate of a PEM text, in order.
std::vector<Cert> ReadAll(std::string_view pem) {
  std::vector<Cert> out;
  Bio bio = MemBio(pem);
  while (X509* c = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) out.emplace_back(c);
  ERR_clear_error();  // the end of the text reads as an error
  return out;
}

absl::StatusOr<Cert> ReadFirst(std::string_view pem) {
  std::vector<Cert> all = ReadAll(pem);
  if (all.empty()) return absl::InvalidArgumentError("not a PEM certificate");
  return std::move(all.front());
}

std::chrono::system_clock::time_point TimeOf(const ASN1_TIME* t) {
  struct tm tm = {};
  ASN1_TIME_to_tm(t, &tm);
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

}  // namespace

std::string NormalizeSerial(std::string_view text) {
  if (text.starts_with("serial=")) text.remove_prefix(7);
  std::string out;
  bool digits = false;  // a line of blanks is no serial, not serial 0
  for (char c : text) {
    if (c == ':' || c == ' ' || c == '\t' || c == '\r') continue;
    if (!std::isxdigit(static_cast<unsigned char>(c))) return "";
    digits = true;
    if (out.empty() && c == '0') continue;
    out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return out.empty() && digits ? "0" : out;
}

absl::StatusOr<CertificateInfo> ReadCertificate(std::string_view pem) {
  auto cert = ReadFirst(pem);
  if (!cert.ok()) return cert.status();
  CertificateInfo info;
  info.not_before = TimeOf(X509_get0_notBefore(cert->get()));
  info.not_after = TimeOf(X509_get0_notAfter(cert->get()));
  if (BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert->get()), nullptr)) {
    if (char* hex = BN_bn2hex(bn)) {
      info.serial = NormalizeSerial(hex);
      OPENSSL_free(hex);
    }
    BN_free(bn);
  }
  std::unique_ptr<GENERAL_NAMES, Free> names(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert->get(), NID_subject_alt_name, nullptr, nullptr)));
  for (int i = 0; names != nullptr && i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* n = sk_GENERAL_NAME_value(names.get(), i);
    if (n->type != GEN_URI) continue;
    const ASN1_IA5STRING* uri = n->d.uniformResourceIdentifier;
    info.uris.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(uri)),
                           static_cast<size_t>(ASN1_STRING_length(uri)));
  }
  return info;
}

absl::StatusOr<Principal> PrincipalOfCertificate(std::string_view pem) {
  auto info = ReadCertificate(pem);
  if (!info.ok()) return info.status();
  std::vector<std::string> vms;
  for (const std::string& uri : info->uris) {
    if (uri.starts_with("vms://")) vms.push_back(uri);
  }
  if (vms.empty()) {
    return absl::InvalidArgumentError(
        "the certificate names no vms principal (a URI SAN vms://KIND/NAME)");
  }
  if (vms.size() > 1) {
    return absl::InvalidArgumentError(
        StrCat("the certificate names ", vms.size(), " vms principals; it must name one"));
  }
  return ParsePrincipal(vms.front());
}

std::set<std::string> ParseRevokedSerials(std::string_view text) {
  std::set<std::string> out;
  while (!text.empty()) {
    const size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    line = line.substr(0, line.find('#'));
    if (std::string serial = NormalizeSerial(line); !serial.empty()) out.insert(std::move(serial));
  }
  return out;
}

absl::Status VerifyCertificate(std::string_view ca_pem, std::string_view cert_pem, bool as_client) {
  std::vector<Cert> cas = ReadAll(ca_pem);
  if (cas.empty()) return absl::InvalidArgumentError("the CA file holds no PEM certificate");
  std::vector<Cert> chain = ReadAll(cert_pem);
  if (chain.empty()) return absl::InvalidArgumentError("not a PEM certificate");
  std::unique_ptr<X509_STORE, Free> store(X509_STORE_new());
  for (Cert& ca : cas) X509_STORE_add_cert(store.get(), ca.get());
  std::unique_ptr<STACK_OF(X509), Free> untrusted(sk_X509_new_null());
  for (size_t i = 1; i < chain.size(); ++i) {
    sk_X509_push(untrusted.get(), chain[i].release());
  }
  std::unique_ptr<X509_STORE_CTX, Free> ctx(X509_STORE_CTX_new());
  if (!X509_STORE_CTX_init(ctx.get(), store.get(), chain[0].get(), untrusted.get())) {
    return absl::InternalError("X509_STORE_CTX_init failed (OpenSSL)");
  }
  if (as_client) X509_STORE_CTX_set_default(ctx.get(), "ssl_client");
  if (X509_verify_cert(ctx.get()) == 1) return absl::OkStatus();
  return absl::UnauthenticatedError(
      X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get())));
}

absl::Status KeyMatchesCertificate(std::string_view cert_pem, std::string_view key_pem) {
  auto cert = ReadFirst(cert_pem);
  if (!cert.ok()) return cert.status();
  Bio bio = MemBio(key_pem);
  std::unique_ptr<EVP_PKEY, Free> key(
      PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (key == nullptr) {
    ERR_clear_error();
    return absl::InvalidArgumentError("not a PEM private key");
  }
  if (X509_check_private_key(cert->get(), key.get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError("the key is not the certificate's key");
  }
  return absl::OkStatus();
}

bool CertificateNamesHost(std::string_view cert_pem, std::string_view host) {
  auto cert = ReadFirst(cert_pem);
  if (!cert.ok()) return false;
  std::string h(host);
  if (X509_check_ip_asc(cert->get(), h.c_str(), 0) == 1) return true;
  return X509_check_host(cert->get(), h.data(), h.size(), 0, nullptr) == 1;
}

}  // namespace vms
