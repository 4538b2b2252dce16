// vms-pki: a CA and certificates for the local world, tests and small
// installations. See tools/pki/pki.h.
#include <iostream>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "core/strings.h"
#include "tools/pki/pki.h"

namespace {

vms::pki::KeyType KeyTypeOf(const std::string& s) {
  return s == "ed25519" ? vms::pki::KeyType::kEd25519 : vms::pki::KeyType::kP256;
}

int Fail(const absl::Status& s) {
  std::cerr << "vms-pki: " << vms::Sv(s.message()) << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "vms-pki: makes a certificate authority and certificates for vms (any X.509 CA will do; "
      "this one is for the local world, tests and small installations). A principal is the URI "
      "SAN of a certificate: vms://KIND/NAME."};
  app.set_version_flag("--version", std::string("vms-pki ") + VMS_VERSION);
  app.require_subcommand(1);

  std::string dir, kind, name, key = "p256";
  int days = 0;
  bool expired = false;
  std::vector<std::string> dns, ips;
  const std::vector<std::string> key_types = {"p256", "ed25519"};

  CLI::App* init = app.add_subcommand("init", "Make a CA: DIR/ca.crt and DIR/ca.key (0600)");
  init->add_option("dir", dir, "Directory for the CA (created if missing)")->required();
  init->add_option("--days", days, "How long the CA is valid (default 3650)")
      ->check(CLI::Range(1, 36500));
  init->add_option("--key", key, "Key type: p256 or ed25519")
      ->check(CLI::IsMember(key_types))
      ->capture_default_str();

  CLI::App* issue = app.add_subcommand(
      "issue", "Issue a certificate: DIR/KIND-NAME.crt and DIR/KIND-NAME.key (0600)");
  issue->add_option("dir", dir, "The CA's directory (from vms-pki init)")->required();
  issue->add_option("kind", kind, "user, site, host or master")
      ->required()
      ->check(CLI::IsMember({"user", "site", "host", "master"}));
  issue->add_option("name", name, "The name: [a-z0-9][a-z0-9._-]{0,63}")->required();
  issue->add_option("--days", days, "How long it is valid (default 365)")
      ->check(CLI::Range(1, 36500));
  issue->add_option("--key", key, "Key type: p256 or ed25519")
      ->check(CLI::IsMember(key_types))
      ->capture_default_str();
  issue->add_option("--dns", dns,
                    "site and master: a host name it serves under (repeatable; with neither "
                    "--dns nor --ip: localhost, 127.0.0.1 and ::1)");
  issue->add_option("--ip", ips, "site and master: an address it serves on (repeatable)");
  issue->add_flag("--expired", expired,
                  "Issue one that expired an hour ago (to test that it is refused)");

  CLI11_PARSE(app, argc, argv);

  if (init->parsed()) {
    vms::pki::CaOptions o;
    if (days > 0) o.days = days;
    o.key = KeyTypeOf(key);
    if (absl::Status s = vms::pki::InitCa(dir, o); !s.ok()) return Fail(s);
    std::cout << "made a CA in " << dir << ": ca.crt (give it to every daemon and user as "
              << "--tls-ca), ca.key (keep it safe)\n";
    return 0;
  }
  vms::pki::IssueOptions o;
  if (days > 0) o.days = days;
  o.key = KeyTypeOf(key);
  o.dns = dns;
  o.ips = ips;
  o.expired = expired;
  auto issued = vms::pki::Issue(dir, kind, name, o);
  if (!issued.ok()) return Fail(issued.status());
  std::cout << "issued " << issued->principal << ": " << issued->cert_path << ", "
            << issued->key_path << "\n";
  return 0;
}
