// vms-admin: what a company's vms admins run offline. Today: the root of
// trust (tools/admin/root.h).
#include <iostream>

#include "CLI/CLI.hpp"
#include "core/clock.h"
#include "core/strings.h"
#include "tools/admin/root.h"

namespace {

std::string Expiry(int64_t expires_ms) {
  if (expires_ms == 0) return "it never expires\n";
  return vms::StrCat("it expires at ", vms::IsoTime(expires_ms),
                     "; vms sites and the status page say so 30 days before\n");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"vms-admin: the root of trust of a vms installation (keep its keys offline)"};
  app.require_subcommand(1);
  CLI::App* root = app.add_subcommand("root", "The root keys");
  root->require_subcommand(1);
  std::string dir;
  int keys = 1, threshold = 1;
  int root_days = vms::admin::kDefaultRootDays;
  CLI::App* init = root->add_subcommand(
      "init", "Make a root: DIR/root-1.key .. root-N.key and DIR/root.pub, signed by every key");
  init->add_option("dir", dir, "Where to write it (created; nothing is overwritten)")->required();
  init->add_option("--keys", keys, "How many root keys (one per holder)")->capture_default_str();
  init->add_option("--threshold", threshold, "How many of them must sign")->capture_default_str();
  init->add_option("--expires", root_days,
                   "Days until it expires: no keyring issued after is accepted (0: never)")
      ->capture_default_str();
  std::string old_dir, new_dir;
  std::vector<std::string> old_signers;
  int new_keys = 1, new_threshold = 1;
  CLI::App* rotate = root->add_subcommand(
      "rotate",
      "Make the next root in NEW_DIR, signed by its new keys and a threshold of the old ones; "
      "give NEW_DIR/root.pub to vms-master --trust, then sign a keyring with it");
  rotate->add_option("old", old_dir, "The current root's directory")->required();
  rotate->add_option("new", new_dir, "Where to write the new root (created)")->required();
  rotate->add_option("--keys", new_keys, "How many new root keys")->capture_default_str();
  rotate->add_option("--threshold", new_threshold, "How many of them must sign")
      ->capture_default_str();
  rotate->add_option("--sign", old_signers,
                     "An old root key to sign with (default: OLD/root-*.key)");
  rotate->add_option("--expires", root_days, "Days until the new root expires (0: never)")
      ->capture_default_str();
  vms::admin::KeyringArgs ring;
  CLI::App* keyring = app.add_subcommand(
      "keyring", "Sign a keyring: the admin keys and the master's key the root delegates to");
  keyring->add_option("dir", ring.root_dir, "The root's directory (root.pub, root-N.key)")
      ->required();
  keyring->add_option("--admin", ring.admin_keys, "An admin's public key file (signing.pub)")
      ->required();
  keyring->add_option("--master", ring.master_key, "The master's public key (DATA/master.pub)")
      ->required();
  keyring->add_option("--sign", ring.signers, "A root key to sign with (default: DIR/root-*.key)");
  keyring->add_option("--previous", ring.previous,
                      "The keyring this one replaces (its version + 1)");
  keyring->add_option("-o,--out", ring.out, "Where to write it (never over a file)")->required();
  keyring
      ->add_option("--expires", ring.expires_days,
                   "Days until it expires: no ownership record or checkpoint issued after "
                   "is accepted, so sign the next one before (0: never)")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  if (rotate->parsed()) {
    auto rotated =
        vms::admin::RotateRoot(old_dir, new_dir, new_keys, new_threshold, old_signers, root_days);
    if (!rotated.ok()) {
      std::cerr << "vms-admin: " << vms::Sv(rotated.status().message()) << "\n";
      return 1;
    }
    std::cout << Expiry(rotated->record.expires_unix_ms()) << "made root version "
              << rotated->record.version() << " in " << new_dir
              << ", signed by the old root too: give " << new_dir
              << "/root.pub to vms-master --trust (replicas and hosts keep their old root.pub "
                 "and take the new one from the log), then sign a keyring with vms-admin "
                 "keyring "
              << new_dir << " --previous OLD_KEYRING\n";
    return 0;
  }
  if (keyring->parsed()) {
    auto made_ring = vms::admin::SignKeyring(ring);
    if (!made_ring.ok()) {
      std::cerr << "vms-admin: " << vms::Sv(made_ring.status().message()) << "\n";
      return 1;
    }
    std::cout << "signed keyring version " << made_ring->version() << " (root version "
              << made_ring->root_version() << ") to " << ring.out << ": "
              << made_ring->admin_keys_size() << " admin key"
              << (made_ring->admin_keys_size() > 1 ? "s" : "")
              << "; give it to vms-master --keyring\n"
              << Expiry(made_ring->expires_unix_ms());
    return 0;
  }

  auto made = vms::admin::InitRoot(dir, keys, threshold, root_days);
  if (!made.ok()) {
    std::cerr << "vms-admin: " << vms::Sv(made.status().message()) << "\n";
    return 1;
  }
  std::cout << "made root version 1 in " << dir << ": " << keys << " key" << (keys > 1 ? "s" : "")
            << ", " << threshold << " to sign\n"
            << "  root.pub        the root every master, replica and host trusts (--trust)\n"
            << "  root-N.key      one per holder; keep them offline\n"
            << Expiry(made->record.expires_unix_ms());
  for (const vms::PublicKey& k : made->keys) std::cout << "  key " << k.keyid() << "\n";
  return 0;
}
