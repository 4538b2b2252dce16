#include "tools/admin/root.h"

#include <chrono>
#include <filesystem>

#include "core/envelope.h"
#include "core/file_util.h"
#include "core/strings.h"

namespace vms::admin {

absl::StatusOr<Root> InitRoot(const std::string& dir, int keys, int threshold) {
  if (keys < 1 || static_cast<size_t>(keys) > kMaxRootKeys) {
    return absl::InvalidArgumentError(
        StrCat("--keys ", keys, ": a root has 1 to ", kMaxRootKeys, " keys"));
  }
  if (threshold < 1 || threshold > keys) {
    return absl::InvalidArgumentError(
        StrCat("--threshold ", threshold, ": it takes 1 to ", keys, " (the keys) signatures"));
  }
  const std::string pub = dir + "/root.pub";
  if (std::filesystem::exists(pub) || std::filesystem::exists(dir + "/root-1.key")) {
    return absl::AlreadyExistsError(
        StrCat(dir,
               " already holds a root (root.pub or root-1.key): a root is made once; move "
               "it away to make another"));
  }
  if (absl::Status s = MakeDirs(dir, 0700); !s.ok()) return s;
  RootRecord record;
  record.set_version(1);
  record.set_threshold(static_cast<uint32_t>(threshold));
  record.set_issued_unix_ms(std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count());
  std::vector<SigningKey> made;
  for (int i = 1; i <= keys; ++i) {
    SigningKey key = SigningKey::Generate();
    if (absl::Status s = WriteFileAtomic(StrCat(dir, "/root-", i, ".key"), key.PrivatePem(), 0600);
        !s.ok()) {
      return s;
    }
    record.add_keys(key.public_key().Pem());
    made.push_back(std::move(key));
  }
  Envelope env;
  env.set_payload_type(std::string(kRootType));
  env.set_payload(record.SerializeAsString());
  for (const SigningKey& key : made) AddSignature(&env, key);
  if (absl::Status s = WriteFileAtomic(pub, ArmorRoot(env), 0644); !s.ok()) return s;
  return OpenRoot(env);
}

}  // namespace vms::admin
