#include "client/signer.h"

#include <filesystem>

#include "core/file_util.h"
#include "core/strings.h"

namespace vms {

absl::StatusOr<SigningKey> LoadSigningKey(const std::string& dir) {
  const std::string path = dir + "/signing.key";
  if (!std::filesystem::exists(path)) {
    return absl::FailedPreconditionError(StrCat(
        "this master has a root of trust: what you push and flip is signed with your own key, "
        "and you have none (",
        path,
        "): run `vms key gen`, then ask an admin to make you an owner (vms owners APP add "
        "you)"));
  }
  auto text = ReadFile(path);
  if (!text.ok()) return text.status();
  auto key = SigningKey::FromPem(*text);
  if (!key.ok()) {
    return absl::InvalidArgumentError(
        StrCat(path, " is not a signing key (vms key gen makes one): ", key.status().message()));
  }
  return key;
}

}  // namespace vms
