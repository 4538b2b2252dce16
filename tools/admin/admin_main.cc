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
  CLI11_PARSE(app, argc, argv);

  auto made = vms::admin::InitRoot(dir, keys, threshold);
  if (!made.ok()) {
    std::cerr << "vms-admin: " << vms::Sv(made.status().message()) << "\n";
    return 1;
  }
  std::cout << "made root version 1 in " << dir << ": " << keys << " key" << (keys > 1 ? "s" : "")
            << ", " << threshold << " to sign\n"
            << "  root.pub        the root every replica and host is to trust (they do not\n"
            << "                  verify the chain yet: today they trust master.pub)\n"
            << "  root-N.key      one per holder; keep them offline\n";
  for (const vms::PublicKey& k : made->keys) std::cout << "  key " << k.keyid() << "\n";
  return 0;
}
