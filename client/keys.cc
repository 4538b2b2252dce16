// vms key gen, vms key show: a developer's Ed25519 signing key
// (DIR/signing.key, 0600, and DIR/signing.pub), with which releases and
// flips of the apps they own are to be signed (../shared/DESIGN.md, "Trust").
#include "core/keys.h"

#include <filesystem>
#include <iostream>

#include "client/commands.h"
#include "client/master_client.h"
#include "client/signer.h"
#include "core/file_util.h"
#include "core/strings.h"

namespace vms {

namespace {

void PrintKey(const std::string& dir, const PublicKey& key) {
  std::cout << "key id: " << key.keyid() << "\n"
            << "private: " << dir << "/signing.key (keep it: only you sign with it)\n"
            << "public:  " << dir << "/signing.pub\n"
            << key.Pem();
}

}  // namespace

int RunKeyGen(const std::string& dir) {
  const std::string key_path = dir + "/signing.key", pub_path = dir + "/signing.pub";
  if (std::filesystem::exists(key_path) || std::filesystem::exists(pub_path)) {
    auto have = SigningKey::LoadOrCreate(dir, "signing");
    return Fail(StrCat("you already have a signing key",
                       have.ok() ? StrCat(" (key id ", have->public_key().keyid(), ")") : "",
                       " in ", dir,
                       ": vms key show prints it; a new key would not be an owner's key until "
                       "an admin adds it, so move the old one away first if you mean to replace "
                       "it"));
  }
  if (absl::Status s = MakeDirs(dir, 0700); !s.ok()) return Fail(Sv(s.message()));
  auto key = SigningKey::LoadOrCreate(dir, "signing");
  if (!key.ok()) return Fail(Sv(key.status().message()));
  std::cout << "made a signing key\n";
  PrintKey(dir, key->public_key());
  return 0;
}

int RunKeyShow(const std::string& dir) {
  const std::string key_path = dir + "/signing.key";
  if (!std::filesystem::exists(key_path)) {
    return Fail(StrCat("no signing key in ", dir, ": vms key gen makes one"));
  }
  auto key = SigningKey::LoadOrCreate(dir, "signing");
  if (!key.ok()) return Fail(Sv(key.status().message()));
  PrintKey(dir, key->public_key());
  return 0;
}

int RunKeyRegister(const GlobalOptions& global, const KeyRegisterOptions& options) {
  std::string pem;
  std::string keyid;
  if (!options.key_file.empty()) {
    auto text = ReadFile(options.key_file);
    if (!text.ok()) return Fail(Sv(text.status().message()));
    auto key = PublicKey::FromPem(*text);
    if (!key.ok()) {
      return Fail(StrCat(options.key_file,
                         " is not an Ed25519 public key (signing.pub): ", key.status().message()));
    }
    pem = key->Pem();
    keyid = key->keyid();
  } else {
    auto key = LoadSigningKey(global.key_dir);
    if (!key.ok()) return Fail(Sv(key.status().message()));
    pem = key->public_key().Pem();
    keyid = key->public_key().keyid();
  }
  MasterClient master(global.master, global.credentials);
  RegisterKeyRequest req;
  req.set_key(pem);
  req.set_replace(options.replace);
  req.set_for_principal(options.for_principal);
  if (!options.old_key_dir.empty()) {
    auto old = LoadSigningKey(options.old_key_dir);
    if (!old.ok()) return Fail(Sv(old.status().message()));
    const std::string principal =
        options.for_principal.empty() ? global.credentials.principal() : options.for_principal;
    req.set_proof(old->Sign(RegisterKeyMessage(principal, pem)));
  }
  if (auto done = master.RegisterKey(req); !done.ok()) {
    return Fail(StrCat("the key is not registered: ", done.status().message()));
  }
  const std::string whom = options.for_principal.empty() ? "you" : options.for_principal;
  std::cout << "registered key " << keyid.substr(0, 16) << " with " << global.master << " for "
            << whom << (options.replace ? ", in place of any other" : "")
            << ": an admin's `vms owners APP add "
            << (options.for_principal.empty() ? "YOU" : options.for_principal)
            << "` puts it in APP's ownership record\n";
  return 0;
}

}  // namespace vms
