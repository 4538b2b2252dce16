// The root of trust (../shared/DESIGN.md, "Trust"): an offline root of N
// Ed25519 keys, K of which must sign. This is its first piece: the root
// record, its signatures, and the file replicas and hosts are given
// (`--trust root.pub`). What the root signs (the keyring, then ownership and
// owners' records) comes next.
//
// root.pub is the signed RootRecord envelope, base64 between
// "-----BEGIN VMS ROOT-----" lines, so it can be mailed and pasted.
// Thread-safe (no shared state).
#ifndef VMS_CORE_TRUST_H_
#define VMS_CORE_TRUST_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "core/keys.h"
#include "records.pb.h"

namespace vms {

inline constexpr std::string_view kRootType = "application/vnd.vms.root+pb";
// Keys of one root: enough for any committee, few enough to check at once.
inline constexpr size_t kMaxRootKeys = 16;

// Adds `key`'s signature of `env`'s type and payload to `env`.
void AddSignature(Envelope* env, const SigningKey& key);

// How many distinct keys of `keys` validly signed `env` (a key that signed
// twice counts once; signatures by other keys count for nothing).
size_t ValidSignatures(const Envelope& env, const std::vector<PublicKey>& keys);

struct Root {
  RootRecord record;
  std::vector<PublicKey> keys;
  Envelope envelope;  // as signed
};

// Opens a root that is trusted by configuration (the first one a replica or
// host is given): well formed, and signed by a threshold of its own keys.
// Unauthenticated or InvalidArgument saying what is wrong.
absl::StatusOr<Root> OpenRoot(const Envelope& env);

// A signed record as text, base64 between "-----BEGIN VMS LABEL-----"
// lines (root.pub, keyring files), and back.
std::string ArmorRecord(std::string_view label, const Envelope& env);
absl::StatusOr<Envelope> DearmorRecord(std::string_view label, std::string_view text);

// The armored text of root.pub, and back.
std::string ArmorRoot(const Envelope& env);
absl::StatusOr<Envelope> DearmorRoot(std::string_view text);

// Reads, dearmors and opens `path`; errors name the file.
absl::StatusOr<Root> LoadRoot(const std::string& path);

}  // namespace vms

#endif  // VMS_CORE_TRUST_H_
