// vms-admin's root of trust (core/trust.h): made once, kept offline.
//
//   InitRoot(DIR, N, K)   DIR/root-1.key .. root-N.key (0600, each for its
//                         holder), DIR/root.pub (the root, version 1, signed
//                         by all N keys; K of them sign what follows)
//
// Nothing is overwritten: a DIR that holds a root is an error that says so.
#ifndef VMS_TOOLS_ADMIN_ROOT_H_
#define VMS_TOOLS_ADMIN_ROOT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/trust.h"

namespace vms::admin {

// How long a root and a keyring stay valid by default (TUF's: a year for
// its root); 0 days: never expires.
inline constexpr int kDefaultRootDays = 730;
inline constexpr int kDefaultKeyringDays = 365;

absl::StatusOr<Root> InitRoot(const std::string& dir, int keys = 1, int threshold = 1,
                              int expires_days = kDefaultRootDays);

// A new root (rotation, TUF 5.3.4): NEW_DIR/root-N.key and NEW_DIR/root.pub,
// of version old + 1, signed by all its new keys and by `signers` of the old
// root in OLD_DIR (files; empty: OLD_DIR/root-*.key), which must reach the
// old threshold. Given to the master (--trust NEW_DIR/root.pub), it enters
// the log, and every replica and host that trusts the old root takes it;
// keyrings are then signed by the new one (SignKeyring on NEW_DIR).
absl::StatusOr<Root> RotateRoot(const std::string& old_dir, const std::string& new_dir, int keys,
                                int threshold, const std::vector<std::string>& signers = {},
                                int expires_days = kDefaultRootDays);

// The keyring the root delegates to (core/chain.h): `admin_keys` (public key
// files, e.g. an admin's signing.pub) may sign ownership records, and
// `master_key` (the master's master.pub) sequences and signs checkpoints.
// Signed by the root keys `signers` (files; empty: DIR/root-*.key), which
// must reach the root's threshold. `version` 0: 1 + that of `previous` (a
// keyring file; empty: 1). Written armored to `out`, never over a file.
struct KeyringArgs {
  std::string root_dir;
  std::vector<std::string> admin_keys;
  std::string master_key;
  std::vector<std::string> signers;
  std::string previous;
  std::string out;
  int expires_days = kDefaultKeyringDays;
};
absl::StatusOr<KeyringRecord> SignKeyring(const KeyringArgs& args);

}  // namespace vms::admin

#endif  // VMS_TOOLS_ADMIN_ROOT_H_
