// Fixed keys for the fuzz targets (test keys, trusted by nothing): a seed
// corpus signed by them stays valid from one run to the next, so the
// fuzzers reach past signature checks into the chain's rules.
#ifndef VMS_TESTS_FUZZ_FUZZ_KEYS_H_
#define VMS_TESTS_FUZZ_FUZZ_KEYS_H_

#include <string>

#include "core/keys.h"

namespace vms::fuzz {

// A key from the base64 of its PKCS#8 form.
inline SigningKey FixedKey(const char* base64) {
  return *SigningKey::FromPem(std::string("-----BEGIN PRIVATE KEY-----\n") + base64 +
                              "\n-----END PRIVATE KEY-----\n");
}

inline const SigningKey& RootKey() {
  static const SigningKey key =
      FixedKey("MC4CAQAwBQYDK2VwBCIEIDQCq7JS9BbLvLZ2L7Nt6+aFwbMf5QEzns5x2EoFDNFl");
  return key;
}
inline const SigningKey& AdminKey() {
  static const SigningKey key =
      FixedKey("MC4CAQAwBQYDK2VwBCIEIMDFYQDR3PqCrUKNzfZlqgYE2s3AdG7CnNqUwjyfcgV7");
  return key;
}
// The master's and an owner's.
inline const SigningKey& OwnerKey() {
  static const SigningKey key =
      FixedKey("MC4CAQAwBQYDK2VwBCIEIKgOsv7rPYKktp76hcnypLDw2Qk63+R4ExEfKFPNjjlC");
  return key;
}

}  // namespace vms::fuzz

#endif  // VMS_TESTS_FUZZ_FUZZ_KEYS_H_
