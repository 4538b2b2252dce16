#include "tools/admin/root.h"

#include <chrono>
#include <filesystem>

#include "core/chain.h"
#include "core/clock.h"
#include "core/envelope.h"
#include "core/file_util.h"
#include "core/status_macros.h"
#include "core/strings.h"

namespace vms::admin {

namespace {

absl::StatusOr<std::vector<SigningKey>> LoadSigners(const std::string& dir,
                                                    std::vector<std::string> paths) {
  if (paths.empty()) {
    for (int i = 1; i <= static_cast<int>(kMaxRootKeys); ++i) {
      std::string path = StrCat(dir, "/root-", i, ".key");
      if (std::filesystem::exists(path)) paths.push_back(path);
    }
  }
  std::vector<SigningKey> keys;
  for (const std::string& path : paths) {
    auto pem = ReadFile(path);
    if (!pem.ok()) return pem.status();
    auto key = SigningKey::FromPem(*pem);
    if (!key.ok()) return absl::InvalidArgumentError(StrCat(path, ": ", key.status().message()));
    keys.push_back(*std::move(key));
  }
  return keys;
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// --expires DAYS from now, in unix ms; 0 days: never (0).
absl::StatusOr<int64_t> ExpiresMs(int days) {
  constexpr int kMaxDays = 100 * 366;
  if (days < 0 || days > kMaxDays) {
    return absl::InvalidArgumentError(
        StrCat("--expires ", days, ": 0 (never) to ", kMaxDays, " days"));
  }
  return days == 0 ? 0 : NowMs() + int64_t{days} * 24 * 3600 * 1000;
}

// Writes a root of `version` with `keys` new keys into `dir`, signed by them
// and by `also` (the old root's, for a rotation).
absl::StatusOr<Root> MakeRoot(const std::string& dir, int keys, int threshold, uint64_t version,
                              const std::vector<SigningKey>& also, int expires_days) {
  VMS_ASSIGN_OR_RETURN(int64_t expires, ExpiresMs(expires_days));
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
  record.set_version(version);
  record.set_threshold(static_cast<uint32_t>(threshold));
  record.set_issued_unix_ms(NowMs());
  record.set_expires_unix_ms(expires);
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
  for (const SigningKey& key : also) AddSignature(&env, key);
  if (absl::Status s = WriteFileAtomic(pub, ArmorRoot(env), 0644); !s.ok()) return s;
  return OpenRoot(env);
}

}  // namespace

absl::StatusOr<Root> InitRoot(const std::string& dir, int keys, int threshold, int expires_days) {
  return MakeRoot(dir, keys, threshold, 1, {}, expires_days);
}

absl::StatusOr<Root> RotateRoot(const std::string& old_dir, const std::string& new_dir, int keys,
                                int threshold, const std::vector<std::string>& signers,
                                int expires_days) {
  VMS_ASSIGN_OR_RETURN(Root old, LoadRoot(old_dir + "/root.pub"));
  VMS_ASSIGN_OR_RETURN(auto old_keys, LoadSigners(old_dir, signers));
  // Checked before anything is written: the old threshold must sign.
  size_t valid = 0;
  for (const SigningKey& k : old_keys) {
    for (const PublicKey& p : old.keys) valid += p.keyid() == k.public_key().keyid();
  }
  if (valid < old.record.threshold()) {
    return absl::FailedPreconditionError(
        StrCat("the new root would be signed by ", valid, " keys of root version ",
               old.record.version(), ", which takes ", old.record.threshold(), " (--sign FILE)"));
  }
  return MakeRoot(new_dir, keys, threshold, old.record.version() + 1, old_keys, expires_days);
}

absl::StatusOr<KeyringRecord> SignKeyring(const KeyringArgs& args) {
  VMS_ASSIGN_OR_RETURN(Root root, LoadRoot(args.root_dir + "/root.pub"));
  KeyringRecord k;
  k.set_version(1);
  if (!args.previous.empty()) {
    auto text = ReadFile(args.previous);
    if (!text.ok()) return text.status();
    auto env = DearmorRecord("KEYRING", *text);
    KeyringRecord prev;
    if (!env.ok() || !prev.ParseFromString(env->payload())) {
      return absl::InvalidArgumentError(StrCat(args.previous, ": not a keyring file"));
    }
    k.set_version(prev.version() + 1);
  }
  k.set_root_version(root.record.version());
  k.set_issued_unix_ms(NowMs());
  VMS_ASSIGN_OR_RETURN(int64_t expires, ExpiresMs(args.expires_days));
  k.set_expires_unix_ms(expires);
  // Issued after the root expired, it would be refused everywhere.
  if (root.record.expires_unix_ms() != 0 && k.issued_unix_ms() > root.record.expires_unix_ms()) {
    return absl::FailedPreconditionError(
        StrCat("root version ", root.record.version(), " expired at ",
               IsoTime(root.record.expires_unix_ms()),
               ": no keyring signed with it is accepted; rotate the root first (vms-admin root "
               "rotate)"));
  }
  if (args.admin_keys.empty()) {
    return absl::InvalidArgumentError("a keyring needs at least one admin key (--admin FILE)");
  }
  for (const std::string& path : args.admin_keys) {
    VMS_ASSIGN_OR_RETURN(PublicKey key, PublicKey::Load(path));
    k.add_admin_keys(key.Pem());
  }
  VMS_ASSIGN_OR_RETURN(PublicKey master, PublicKey::Load(args.master_key));
  k.set_master_key(master.Pem());

  VMS_ASSIGN_OR_RETURN(auto signers, LoadSigners(args.root_dir, args.signers));
  Envelope env;
  env.set_payload_type(std::string(kKeyringType));
  env.set_payload(k.SerializeAsString());
  for (const SigningKey& key : signers) AddSignature(&env, key);
  size_t valid = ValidSignatures(env, root.keys);
  if (valid < root.record.threshold()) {
    return absl::FailedPreconditionError(
        StrCat("the keyring is signed by ", valid, " root keys; root version ",
               root.record.version(), " takes ", root.record.threshold(), " (--sign FILE)"));
  }
  if (std::filesystem::exists(args.out)) {
    return absl::AlreadyExistsError(
        StrCat(args.out, " exists: a keyring file is never overwritten"));
  }
  VMS_RETURN_IF_ERROR(WriteFileAtomic(args.out, ArmorRecord("KEYRING", env), 0644));
  return k;
}

}  // namespace vms::admin
