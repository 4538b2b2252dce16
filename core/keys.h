// Ed25519 keys (OpenSSL) for signing and verifying records.
//
// The master holds a SigningKey; replicas and hosts hold its PublicKey and
// verify every record they accept. Keys are stored as PEM: PKCS#8 for the
// private key (mode 0600), SubjectPublicKeyInfo for the public one. A key's
// id is the hex SHA-256 of its DER public key. Both classes are immutable
// after construction and safe to use from many threads.
#ifndef VMS_CORE_KEYS_H_
#define VMS_CORE_KEYS_H_

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace vms {

class PublicKey {
 public:
  static absl::StatusOr<PublicKey> FromPem(std::string_view pem);
  static absl::StatusOr<PublicKey> Load(const std::string& path);

  // True iff `sig` is a valid Ed25519 signature of `message` by this key.
  bool Verify(std::string_view message, std::string_view sig) const;
  const std::string& keyid() const { return keyid_; }
  std::string Pem() const;

 private:
  PublicKey(std::shared_ptr<void> pkey, std::string keyid)
      : pkey_(std::move(pkey)), keyid_(std::move(keyid)) {}
  friend class SigningKey;
  std::shared_ptr<void> pkey_;  // an EVP_PKEY, kept opaque to keep OpenSSL out of headers
  std::string keyid_;
};

class SigningKey {
 public:
  static SigningKey Generate();
  static absl::StatusOr<SigningKey> FromPem(std::string_view pem);

  // Loads DIR/<name>.key, or creates the pair DIR/<name>.key and
  // DIR/<name>.pub when neither exists. Fails if only one of them exists or
  // they do not belong together (a half-copied key directory).
  static absl::StatusOr<SigningKey> LoadOrCreate(const std::string& dir, const std::string& name);

  std::string Sign(std::string_view message) const;
  const PublicKey& public_key() const { return public_; }
  std::string PrivatePem() const;

 private:
  SigningKey(std::shared_ptr<void> pkey, PublicKey pub)
      : pkey_(std::move(pkey)), public_(std::move(pub)) {}
  static SigningKey FromPkey(std::shared_ptr<void> pkey);
  std::shared_ptr<void> pkey_;
  PublicKey public_;
};

// What a registered key signs to vouch for a new key of the same principal
// (RegisterKeyRequest.proof): bound to both, so it proves nothing else.
inline std::string RegisterKeyMessage(std::string_view principal, std::string_view new_key_pem) {
  std::string m = "vms register key\n";
  m.append(principal).append("\n").append(new_key_pem);
  return m;
}

}  // namespace vms

#endif  // VMS_CORE_KEYS_H_
