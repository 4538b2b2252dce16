// vms-admin: what a company's vms admins run offline. Today: the root of
// trust (tools/admin/root.h).
#include <iostream>

#include "CLI/CLI.hpp"
#include "core/strings.h"
#include "tools/admin/root.h"

int main(int argc, char** argv) {
  CLI::App app{"vms-admin: the root of trust of a vms installation (keep its keys offline)"};
  app.require_subcommand(1);
  CLI::App* root = app.add_subcommand("root", "The root keys");
  root->require_subcommand(1);
  std::string dir;
  int keys = 1, threshold = 1;
  CLI::App* init = root->add_subcommand(
      "init", "Make a root: DIR/root-1.key .. root-N.key and DIR/root.pub, signed by every key");
  init->add_option("dir", dir, "Where to write it (created; nothing is overwritten)")->required();
  init->add_option("--keys", keys, "How many root keys (one per holder)")->capture_default_str();
  init->add_option("--threshold", threshold, "How many of them must sign")->capture_default_str();
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
  CLI11_PARSE(app, argc, argv);

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
              << "; give it to vms-master --keyring\n";
    return 0;
  }

  auto made = vms::admin::InitRoot(dir, keys, threshold);
  if (!made.ok()) {
    std::cerr << "vms-admin: " << vms::Sv(made.status().message()) << "\n";
    return 1;
  }
  std::cout << "made root version 1 in " << dir << ": " << keys << " key" << (keys > 1 ? "s" : "")
            << ", " << threshold << " to sign\n"
            << "  root.pub        the root every master, replica and host trusts (--trust)\n"
            << "  root-N.key      one per holder; keep them offline\n";
  for (const vms::PublicKey& k : made->keys) std::cout << "  key " << k.keyid() << "\n";
  return 0;
}
