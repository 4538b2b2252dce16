#include "core/keys.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>

#include "core/check.h"
#include "core/file_util.h"
#include "core/hash.h"
#include "core/status_macros.h"
#include "core/strings.h"

namespace vms {

namespace {

EVP_PKEY* P(const std::shared_ptr<void>& p) { return static_cast<EVP_PKEY*>(p.get()); }

std::shared_ptr<void> Own(EVP_PKEY* p) {
  return std::shared_ptr<void>(p, [](void* k) { EVP_PKEY_free(static_cast<EVP_PKEY*>(k)); });
}

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;

std::string BioContents(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  return std::string(data, len);
}

std::string KeyId(EVP_PKEY* pkey) {
  unsigned char* der = nullptr;
  int len = i2d_PUBKEY(pkey, &der);
  VMS_CHECK(len > 0, "i2d_PUBKEY of a key we hold");
  std::string id = Sha256(std::string_view(reinterpret_cast<char*>(der), len)).Hex();
  OPENSSL_free(der);
  return id;
}

bool IsEd25519(EVP_PKEY* pkey) { return EVP_PKEY_get_id(pkey) == EVP_PKEY_ED25519; }

}  // namespace

absl::StatusOr<PublicKey> PublicKey::FromPem(std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  EVP_PKEY* pkey = PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr);
  if (pkey == nullptr) {
    return absl::InvalidArgumentError("not a PEM public key (expected \"BEGIN PUBLIC KEY\")");
  }
  auto owned = Own(pkey);
  if (!IsEd25519(pkey)) return absl::InvalidArgumentError("public key is not Ed25519");
  return PublicKey(owned, KeyId(pkey));
}

absl::StatusOr<PublicKey> PublicKey::Load(const std::string& path) {
  absl::StatusOr<std::string> pem = ReadFile(path);
  if (!pem.ok()) return pem.status();
  absl::StatusOr<PublicKey> key = FromPem(*pem);
  if (!key.ok()) return absl::InvalidArgumentError(StrCat(path, ": ", key.status().message()));
  return key;
}

bool PublicKey::Verify(std::string_view message, std::string_view sig) const {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  VMS_CHECK(ctx != nullptr, "EVP_MD_CTX_new (out of memory?)");
  bool ok =
      EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, P(pkey_)) == 1 &&
      EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                       reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

std::string PublicKey::Pem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  VMS_CHECK(PEM_write_bio_PUBKEY(bio.get(), P(pkey_)) == 1, "PEM of a key we hold");
  return BioContents(bio.get());
}

SigningKey SigningKey::FromPkey(std::shared_ptr<void> pkey) {
  // The public half shares the EVP_PKEY: OpenSSL only reads it when verifying.
  return SigningKey(pkey, PublicKey(pkey, KeyId(P(pkey))));
}

SigningKey SigningKey::Generate() {
  EVP_PKEY* pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  VMS_CHECK(pkey != nullptr, "Ed25519 key generation");
  return FromPkey(Own(pkey));
}

absl::StatusOr<SigningKey> SigningKey::FromPem(std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  EVP_PKEY* pkey = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
  if (pkey == nullptr) {
    return absl::InvalidArgumentError("not a PEM private key (expected \"BEGIN PRIVATE KEY\")");
  }
  auto owned = Own(pkey);
  if (!IsEd25519(pkey)) return absl::InvalidArgumentError("private key is not Ed25519");
  return FromPkey(owned);
}

absl::StatusOr<SigningKey> SigningKey::LoadOrCreate(const std::string& dir,
                                                    const std::string& name) {
  std::string key_path = StrCat(dir, "/", name, ".key");
  std::string pub_path = StrCat(dir, "/", name, ".pub");
  bool have_key = std::filesystem::exists(key_path), have_pub = std::filesystem::exists(pub_path);
  if (!have_key && !have_pub) {
    SigningKey key = Generate();
    // Private key first: a crash between the two writes leaves a key without
    // its .pub, which the next start re-derives rather than a .pub without key.
    VMS_RETURN_IF_ERROR(WriteFileAtomic(key_path, key.PrivatePem(), 0600));
    VMS_RETURN_IF_ERROR(WriteFileAtomic(pub_path, key.public_key().Pem(), 0644));
    return key;
  }
  if (!have_key) {
    return absl::FailedPreconditionError(
        StrCat(pub_path, " exists but ", key_path,
               " does not: restore the private key, or move both away to create a new pair"));
  }
  absl::StatusOr<std::string> pem = ReadFile(key_path);
  if (!pem.ok()) return pem.status();
  absl::StatusOr<SigningKey> key = FromPem(*pem);
  if (!key.ok()) {
    return absl::InvalidArgumentError(StrCat(key_path, ": ", key.status().message()));
  }
  if (!have_pub) {
    VMS_RETURN_IF_ERROR(WriteFileAtomic(pub_path, key->public_key().Pem(), 0644));
    return key;
  }
  absl::StatusOr<PublicKey> pub = PublicKey::Load(pub_path);
  if (!pub.ok()) return pub.status();
  if (pub->keyid() != key->public_key().keyid()) {
    return absl::FailedPreconditionError(
        StrCat(pub_path, " does not belong to ", key_path,
               ": replace it with the public half of the private key"));
  }
  return key;
}

std::string SigningKey::Sign(std::string_view message) const {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  VMS_CHECK(ctx != nullptr, "EVP_MD_CTX_new (out of memory?)");
  size_t len = 64;
  std::string sig(len, '\0');
  bool signed_ok =
      EVP_DigestSignInit(ctx, nullptr, nullptr, nullptr, P(pkey_)) == 1 &&
      EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1;
  VMS_CHECK(signed_ok, "Ed25519 signing with a key we hold");
  EVP_MD_CTX_free(ctx);
  sig.resize(len);
  return sig;
}

std::string SigningKey::PrivatePem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  VMS_CHECK(
      PEM_write_bio_PrivateKey(bio.get(), P(pkey_), nullptr, nullptr, 0, nullptr, nullptr) == 1,
      "PEM of a key we hold");
  return BioContents(bio.get());
}

}  // namespace vms
