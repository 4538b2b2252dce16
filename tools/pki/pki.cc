#include "tools/pki/pki.h"

#include <arpa/inet.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <filesystem>
#include <memory>

#include "core/file_util.h"
#include "core/names.h"
#include "core/principal.h"
#include "core/strings.h"

namespace vms::pki {

namespace {

namespace fs = std::filesystem;

struct Free {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(X509* p) const { X509_free(p); }
  void operator()(BIO* p) const { BIO_free(p); }
  void operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); }
  void operator()(GENERAL_NAMES* p) const { GENERAL_NAMES_free(p); }
};
using Key = std::unique_ptr<EVP_PKEY, Free>;
using Cert = std::unique_ptr<X509, Free>;
using Bio = std::unique_ptr<BIO, Free>;

absl::Status OpenSslError(std::string_view what) {
  return absl::InternalError(StrCat(what, " failed (OpenSSL)"));
}

absl::StatusOr<Key> NewKey(KeyType type) {
  EVP_PKEY* k = type == KeyType::kEd25519 ? EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519")
                                          : EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  if (k == nullptr) return OpenSslError("key generation");
  return Key(k);
}

// Ed25519 signs the whole message itself: no digest.
const EVP_MD* DigestFor(EVP_PKEY* key) {
  return EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519 ? nullptr : EVP_sha256();
}

std::string Pem(EVP_PKEY* key, bool private_key) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (private_key) {
    PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  } else {
    PEM_write_bio_PUBKEY(bio.get(), key);
  }
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

std::string Pem(X509* cert) {
  Bio bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

absl::Status AddExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  std::unique_ptr<X509_EXTENSION, Free> ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  if (ext == nullptr || X509_add_ext(cert, ext.get(), -1) != 1) {
    return OpenSslError(StrCat("certificate extension ", OBJ_nid2sn(nid), "=", value));
  }
  return absl::OkStatus();
}

// A certificate for `key`, valid from `from_s` to `to_s` seconds from now.
absl::StatusOr<Cert> NewCert(EVP_PKEY* key, const std::string& cn, const std::string& ou,
                             long from_s, long to_s) {
  Cert cert(X509_new());
  if (cert == nullptr || X509_set_version(cert.get(), 2) != 1) return OpenSslError("X509_new");
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof serial) != 1) return OpenSslError("serial");
  serial[0] &= 0x7f;  // positive
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), from_s);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), to_s);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>("vms"), -1, -1, 0);
  if (!ou.empty()) {
    X509_NAME_add_entry_by_txt(name, "OU", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(ou.c_str()), -1, -1, 0);
  }
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  return cert;
}

absl::Status Sign(X509* cert, EVP_PKEY* key) {
  if (X509_sign(cert, key, DigestFor(key)) <= 0) return OpenSslError("signing the certificate");
  return absl::OkStatus();
}

// Writes both files, refusing to replace either.
absl::Status WritePair(const std::string& cert_path, const std::string& cert_pem,
                       const std::string& key_path, const std::string& key_pem,
                       std::string_view what) {
  for (const std::string& p : {cert_path, key_path}) {
    if (fs::exists(p)) {
      return absl::AlreadyExistsError(
          StrCat(p, " exists: ", what, " was made before; remove it first to make it again"));
    }
  }
  if (absl::Status s = WriteFileAtomic(key_path, key_pem, 0600); !s.ok()) return s;
  return WriteFileAtomic(cert_path, cert_pem, 0644);
}

absl::StatusOr<std::string> Read(const std::string& path, std::string_view what) {
  auto text = ReadFile(path);
  if (!text.ok()) {
    return absl::FailedPreconditionError(StrCat("cannot read ", what, " ", path, ": ",
                                                text.status().message(),
                                                " (run vms-pki init on that directory first)"));
  }
  return text;
}

}  // namespace

absl::Status InitCa(const std::string& dir, const CaOptions& options) {
  if (options.days < 1) return absl::InvalidArgumentError("--days must be at least 1");
  if (absl::Status s = MakeDirs(dir, 0755); !s.ok()) return s;
  auto key = NewKey(options.key);
  if (!key.ok()) return key.status();
  auto cert = NewCert(key->get(), StrCat(options.name, " CA"), "", -3600,
                      static_cast<long>(options.days) * 86400);
  if (!cert.ok()) return cert.status();
  if (X509_set_issuer_name(cert->get(), X509_get_subject_name(cert->get())) != 1) {
    return OpenSslError("issuer");
  }
  for (auto [nid, value] : {std::pair{NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
                            {NID_key_usage, "critical,keyCertSign,cRLSign"},
                            {NID_subject_key_identifier, "hash"}}) {
    if (absl::Status s = AddExtension(cert->get(), cert->get(), nid, value); !s.ok()) return s;
  }
  if (absl::Status s = Sign(cert->get(), key->get()); !s.ok()) return s;
  return WritePair(dir + "/ca.crt", Pem(cert->get()), dir + "/ca.key", Pem(key->get(), true),
                   "a CA");
}

absl::StatusOr<Issued> Issue(const std::string& dir, const std::string& kind,
                             const std::string& name, const IssueOptions& options) {
  auto parsed_kind = ParseKind(kind);
  if (!parsed_kind.ok()) return parsed_kind.status();
  if (absl::Status s = ValidatePrincipalName(name); !s.ok()) return s;
  const std::string principal = Principal{*parsed_kind, name}.uri();
  if (options.days < 1) return absl::InvalidArgumentError("--days must be at least 1");
  const bool serves = kind == "site" || kind == "master";
  if (!serves && (!options.dns.empty() || !options.ips.empty())) {
    return absl::InvalidArgumentError(
        StrCat("a ", kind, " certificate only connects: --dns and --ip are for site and master"));
  }
  auto ca_pem = Read(dir + "/ca.crt", "the CA certificate");
  if (!ca_pem.ok()) return ca_pem.status();
  auto ca_key_pem = Read(dir + "/ca.key", "the CA key");
  if (!ca_key_pem.ok()) return ca_key_pem.status();
  Bio cb(BIO_new_mem_buf(ca_pem->data(), static_cast<int>(ca_pem->size())));
  Cert ca(PEM_read_bio_X509(cb.get(), nullptr, nullptr, nullptr));
  Bio kb(BIO_new_mem_buf(ca_key_pem->data(), static_cast<int>(ca_key_pem->size())));
  Key ca_key(PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr));
  if (ca == nullptr || ca_key == nullptr || X509_check_private_key(ca.get(), ca_key.get()) != 1) {
    return absl::FailedPreconditionError(
        StrCat(dir, "/ca.crt and ca.key are not a CA certificate and its key"));
  }

  auto key = NewKey(options.key);
  if (!key.ok()) return key.status();
  long from = -3600, to = static_cast<long>(options.days) * 86400;
  if (options.expired) {
    from = -2 * 86400;
    to = -3600;
  }
  auto cert = NewCert(key->get(), name, kind, from, to);
  if (!cert.ok()) return cert.status();
  if (X509_set_issuer_name(cert->get(), X509_get_subject_name(ca.get())) != 1) {
    return OpenSslError("issuer");
  }
  std::string san = StrCat("URI:", principal);
  for (const std::string& uri : options.extra_uris) san += StrCat(",URI:", uri);
  if (serves) {
    std::vector<std::string> dns = options.dns, ips = options.ips;
    if (dns.empty() && ips.empty()) {  // the local world
      dns = {"localhost"};
      ips = {"127.0.0.1", "::1"};
    }
    for (const std::string& d : dns) san += StrCat(",DNS:", d);
    for (const std::string& ip : ips) {
      unsigned char buf[16];
      if (inet_pton(AF_INET, ip.c_str(), buf) != 1 && inet_pton(AF_INET6, ip.c_str(), buf) != 1) {
        return absl::InvalidArgumentError(StrCat("--ip ", Quote(ip), " is not an IP address"));
      }
      san += StrCat(",IP:", ip);
    }
  }
  const std::string eku = serves ? "serverAuth,clientAuth" : "clientAuth";
  for (auto [nid, value] : {std::pair<int, std::string>{NID_basic_constraints, "critical,CA:FALSE"},
                            {NID_key_usage, "critical,digitalSignature"},
                            {NID_ext_key_usage, eku},
                            {NID_subject_alt_name, san},
                            {NID_authority_key_identifier, "keyid"}}) {
    if (absl::Status s = AddExtension(cert->get(), ca.get(), nid, value); !s.ok()) return s;
  }
  if (absl::Status s = Sign(cert->get(), ca_key.get()); !s.ok()) return s;
  Issued out{StrCat(dir, "/", kind, "-", name, ".crt"), StrCat(dir, "/", kind, "-", name, ".key"),
             principal};
  if (absl::Status s =
          WritePair(out.cert_path, Pem(cert->get()), out.key_path, Pem(key->get(), true),
                    StrCat("a certificate for ", out.principal));
      !s.ok()) {
    return s;
  }
  return out;
}

}  // namespace vms::pki
