// vms: the command developers use to publish apps.
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "client/commands.h"
#include "core/strings.h"
#include "grpc/support/log.h"

namespace {

std::string EnvOr(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : fallback;
}

size_t EditDistance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
      diagonal = up;
    }
  }
  return row[b.size()];
}

bool Exists(const std::string& path) { return access(path.c_str(), F_OK) == 0; }

// Where the certificate comes from when no --tls-* flag names it:
// $VMS_TLS_DIR, else ~/.config/vms, each holding ca.crt, cert.crt, cert.key.
void DefaultTlsFiles(const std::string& dir, vms::TlsFiles* tls) {
  if (tls->ca.empty()) tls->ca = dir + "/ca.crt";
  if (tls->cert.empty()) tls->cert = dir + "/cert.crt";
  if (tls->key.empty()) tls->key = dir + "/cert.key";
}

// The command line's first word that is not an option (or an option's
// value); empty if none.
std::string FirstWord(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--master" || arg == "--tls-ca" || arg == "--tls-cert" || arg == "--tls-key") {
      ++i;  // its value
    } else if (arg.empty() || arg[0] != '-') {
      return arg;
    }
  }
  return "";
}

// CLI11 says only "A subcommand is required" for a typo and for nothing at
// all: name the word, suggest the nearest command, show them all.
int UnknownCommand(const CLI::App& app, const std::string& word) {
  std::string nearest;
  size_t best = 3;  // suggest only what is close
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    size_t d = EditDistance(word, sub->get_name());
    if (d < best) best = d, nearest = sub->get_name();
  }
  std::cerr << "vms: unknown command '" << word << "'";
  if (!nearest.empty()) std::cerr << "; did you mean '" << nearest << "'?";
  std::cerr << "\n\n" << app.help();
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  // The environment is read here and only here.
  const std::string home = EnvOr("HOME", "/");
  vms::GlobalOptions global{.master = EnvOr("VMS_MASTER", "127.0.0.1:7700")};
  const std::string dev_root = EnvOr("VMS_DEV_ROOT", home + "/dev");
  const std::string cache_home = EnvOr("XDG_CACHE_HOME", home + "/.cache");
  const std::string trust = EnvOr("VMS_TRUST", "");
  const std::string tls_env_dir = EnvOr("VMS_TLS_DIR", "");
  const std::string tls_home_dir = EnvOr("XDG_CONFIG_HOME", home + "/.config") + "/vms";
  vms::TlsFiles tls{.insecure = EnvOr("VMS_INSECURE", "") == "1"};

  CLI::App app{
      "vms: publish versioned app trees to every site.\n"
      "  vms push APP VERSION [DIR]   publish a version (DIR defaults to "
      "$VMS_DEV_ROOT/APP/VERSION)\n"
      "  vms live APP VERSION [--sites ny,ldn]  make VERSION the one everyone (or a canary "
      "site) gets\n"
      "  vms rollback APP [--to V] [--sites ..]  go back to the previous live version (or V)\n"
      "  vms label APP LABEL VERSION  point /dist/APP@LABEL at VERSION; vms labels APP\n"
      "  vms usage APP                which versions hosts use, per site (the census)\n"
      "  vms retire APP VERSION       remove a version everywhere; vms policy, vms gc "
      "[--dry-run]\n"
      "  vms history APP              every flip of an app\n"
      "  vms list                     the apps and their live versions\n"
      "  vms sites / vms status APP   where versions are, site by site\n"
      "  vms versions APP             the versions of an app\n"
      "  vms owners APP [add|remove P] who may push and flip an app\n"
      "  vms audit [APP]              who did what (owners: their apps; admins: all)\n"
      "  vms key gen                  make your signing key (~/.config/vms/signing.key) and "
      "register it\n"
      "  vms verify APP --trust PUB   check every signature and the live chain"};
  app.set_version_flag("--version", std::string("vms ") + VMS_VERSION);
  app.require_subcommand(1);
  app.add_option(
         "--master", global.master,
         "Master address host:port, or several separated by commas (tried in turn: one that cannot "
         "be reached is passed over) (default: $VMS_MASTER, else 127.0.0.1:7700)")
      ->capture_default_str();
  app.add_option("--tls-ca", tls.ca, "The CA certificate (default: ca.crt in the TLS directory)");
  app.add_option("--tls-cert", tls.cert,
                 "Your certificate, naming vms://user/NAME (default: cert.crt in the TLS "
                 "directory: $VMS_TLS_DIR, else ~/.config/vms)");
  app.add_option("--tls-key", tls.key, "Its private key (default: cert.key there)");
  app.add_flag("--insecure", tls.insecure,
               "Plaintext to a master started with --insecure (default: $VMS_INSECURE=1)");

  vms::PushOptions push;
  bool no_stat_cache = false;
  push.stat_cache = cache_home + "/vms/statcache";
  CLI::App* push_cmd = app.add_subcommand(
      "push", "Publish DIR as VERSION of APP: only objects the master lacks are sent");
  push_cmd->add_option("app", push.app, "App name: [a-z0-9][a-z0-9._-]{0,63}")->required();
  push_cmd->add_option("version", push.version, "Version: [A-Za-z0-9][A-Za-z0-9._+-]{0,63}")
      ->required();
  push_cmd->add_option("dir", push.dir,
                       "The version's directory (default: $VMS_DEV_ROOT/APP/VERSION, "
                       "VMS_DEV_ROOT defaults to ~/dev)");
  push_cmd->add_option("-m,--message", push.message, "A note stored with the release");
  push_cmd
      ->add_option("--stat-cache", push.stat_cache,
                   "File remembering hashes of unchanged files between pushes")
      ->capture_default_str();
  push_cmd->add_flag("--no-stat-cache", no_stat_cache, "Read and hash every file");
  push_cmd
      ->add_option("--limit-rate", push.limit_rate,
                   "Cap upload bandwidth, bytes per second (suffixes K, M, G: 1024-based)")
      ->transform(CLI::AsSizeValue(false));
  push_cmd->add_option("-j,--jobs", push.jobs, "Hashing and upload threads (default: one per CPU)")
      ->check(CLI::Range(1, 256));
  push_cmd->add_option("--zstd-level", push.zstd_level, "zstd compression level for uploads")
      ->check(CLI::Range(-7, 19))
      ->capture_default_str();
  push_cmd->add_flag("--json", push.json, "Print the summary as JSON for scripts");
  bool no_wait = false;
  push_cmd->add_flag("--no-wait", no_wait,
                     "Return after the commit instead of waiting for every site to hold it");
  push_cmd
      ->add_option("--timeout", push.timeout_s,
                   "Give up waiting for the sites after this many seconds (exit 1, naming "
                   "the sites that lag; the version stays pushed)")
      ->check(CLI::NonNegativeNumber);
  push_cmd
      ->add_option("--max-dir-entries", push.limits.dir_entries,
                   "Refuse a directory with more entries")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  push_cmd->add_option("--max-depth", push.limits.depth, "Refuse directories nested deeper")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  push_cmd->add_option("--max-files", push.limits.files, "Refuse a version with more files")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();

  bool list_json = false;
  CLI::App* list_cmd = app.add_subcommand("list", "List the apps on the master");
  list_cmd->add_flag("--json", list_json, "Print JSON for scripts");

  std::string versions_app;
  bool versions_json = false;
  CLI::App* versions_cmd = app.add_subcommand("versions", "List the versions of APP");
  versions_cmd->add_option("app", versions_app, "App name")->required();
  versions_cmd->add_flag("--json", versions_json, "Print JSON for scripts");

  vms::FlipOptions live;
  CLI::App* live_cmd = app.add_subcommand(
      "live", "Make VERSION the live version of APP (refused unless every site holds it)");
  live_cmd->add_option("app", live.app, "App name")->required();
  live_cmd->add_option("version", live.version, "A pushed version")->required();
  live_cmd->add_flag("--wait", live.wait,
                     "Wait for every site to hold VERSION, flip, then wait for every site to "
                     "apply the flip and print how long each took");
  live_cmd->add_option("--timeout", live.timeout_s, "Bound each wait, in seconds")
      ->check(CLI::NonNegativeNumber);
  live_cmd
      ->add_option("--sites", live.sites,
                   "Only these sites (a canary): their hosts get VERSION, the rest of the world "
                   "keeps its version until a flip without --sites")
      ->delimiter(',');

  vms::FlipOptions label;
  CLI::App* label_cmd = app.add_subcommand(
      "label", "Point LABEL of APP at VERSION: /dist/APP@LABEL, switched like live");
  label_cmd->add_option("app", label.app, "App name")->required();
  label_cmd->add_option("label", label.label, "Label, e.g. beta or lts ([a-z][a-z0-9_-]{0,31})")
      ->required();
  label_cmd->add_option("version", label.version, "A pushed version")->required();
  label_cmd->add_option("--sites", label.sites, "Only at these sites")->delimiter(',');
  label_cmd->add_flag("--wait", label.wait, "As for live");
  label_cmd->add_option("--timeout", label.timeout_s, "Bound each wait, in seconds")
      ->check(CLI::NonNegativeNumber);
  std::string usage_app;
  bool usage_json = false;
  CLI::App* usage_cmd = app.add_subcommand(
      "usage", "Who uses APP's versions: hosts now, in the last day and week, per site");
  usage_cmd->add_option("app", usage_app, "App name")->required();
  usage_cmd->add_flag("--json", usage_json, "Print JSON for scripts");
  std::string retire_app, retire_version;
  bool retire_force = false;
  CLI::App* retire_cmd = app.add_subcommand(
      "retire",
      "Remove VERSION of APP everywhere (a signed record; refused while live, labelled, a "
      "rollback target, or in use)");
  retire_cmd->add_option("app", retire_app, "App name")->required();
  retire_cmd->add_option("version", retire_version, "The version")->required();
  retire_cmd->add_flag("--force", retire_force,
                       "Even if the census shows hosts using it (they are named)");
  std::string policy_app;
  int policy_keep_last = -1, policy_keep_days = -1;
  CLI::App* policy_cmd =
      app.add_subcommand("policy", "Show or set how many versions of APP `vms gc` keeps");
  policy_cmd->add_option("app", policy_app, "App name")->required();
  policy_cmd->add_option("--keep-last", policy_keep_last, "Keep the newest N (and the last N live)")
      ->check(CLI::Range(1, 10000));
  policy_cmd
      ->add_option("--keep-days", policy_keep_days, "Keep those pushed or live in the last D days")
      ->check(CLI::Range(0, 36500));
  std::string gc_app;
  bool gc_dry_run = false, gc_json = false;
  CLI::App* gc_cmd = app.add_subcommand(
      "gc", "Retire what the policies let go (APP's, or every app with a policy), then reclaim");
  gc_cmd->add_option("app", gc_app, "Only this app");
  gc_cmd->add_flag("--dry-run", gc_dry_run,
                   "Show what would be retired and how many bytes the stores would get back");
  gc_cmd->add_flag("--json", gc_json, "With --dry-run: print JSON for scripts");
  std::string labels_app;
  bool labels_json = false;
  CLI::App* labels_cmd =
      app.add_subcommand("labels", "Where live and each label of APP point, site by site");
  labels_cmd->add_option("app", labels_app, "App name")->required();
  labels_cmd->add_flag("--json", labels_json, "Print JSON for scripts");

  vms::FlipOptions rollback;
  CLI::App* rollback_cmd = app.add_subcommand(
      "rollback", "Make the version live before the current one live again (a new, higher seq)");
  rollback_cmd->add_option("app", rollback.app, "App name")->required();
  rollback_cmd->add_option("--to", rollback.version, "Go back to this version instead");
  rollback_cmd->add_flag("--wait", rollback.wait,
                         "Wait for every site to apply the flip; print how long each took");
  rollback_cmd->add_option("--timeout", rollback.timeout_s, "Bound each wait, in seconds")
      ->check(CLI::NonNegativeNumber);
  rollback_cmd
      ->add_option("--sites", rollback.sites,
                   "Only these sites: they return to the world's live version (or --to's)")
      ->delimiter(',');

  bool masters_json = false;
  CLI::App* masters_cmd = app.add_subcommand(
      "masters", "A master group's nodes: the leader, each node's applied entry, lag, etcd");
  masters_cmd->add_flag("--json", masters_json, "Print JSON for scripts");
  bool sites_json = false;
  CLI::App* sites_cmd = app.add_subcommand("sites", "The sites: last seen, applied seq, lag");
  sites_cmd->add_flag("--json", sites_json, "Print JSON for scripts");
  std::string remove_site;
  CLI::App* sites_remove_cmd = sites_cmd->add_subcommand("remove", "Forget a decommissioned site");
  sites_remove_cmd->add_option("site", remove_site, "Site name")->required();
  std::string add_site;
  CLI::App* sites_add_cmd = sites_cmd->add_subcommand(
      "add", "Add a site that reports through another (it follows a replica, not the master)");
  sites_add_cmd->add_option("site", add_site, "Site name")->required();
  std::string serve_site;
  std::vector<std::string> serve_networks;
  CLI::App* sites_serve_cmd = sites_cmd->add_subcommand(
      "serve",
      "Set the networks whose hosts a site serves (hosts with vms-fuse --discover go to it); "
      "none: it serves none");
  sites_serve_cmd->add_option("site", serve_site, "Site name")->required();
  sites_serve_cmd->add_option("networks", serve_networks, "Networks, e.g. 10.1.0.0/16 fd00:1::/48");
  bool remove_force = false;
  sites_remove_cmd->add_flag("--force", remove_force,
                             "Forget the site even if it reported in the last minute");

  std::string status_app, status_version;
  bool status_json = false;
  CLI::App* status_cmd =
      app.add_subcommand("status", "Each site's state for APP's versions (or VERSION)");
  status_cmd->add_option("app", status_app, "App name")->required();
  status_cmd->add_option("version", status_version, "Only this version");
  status_cmd->add_flag("--json", status_json, "Print JSON for scripts");

  std::string site_address;
  bool site_json = false;
  CLI::App* site_cmd = app.add_subcommand(
      "site", "Ask the replica at ADDRESS about itself: upstream, applied seq, staleness");
  site_cmd->add_option("address", site_address, "The replica's host:port")->required();
  site_cmd->add_flag("--json", site_json, "Print JSON for scripts");

  std::string history_app;
  bool history_json = false;
  CLI::App* history_cmd = app.add_subcommand("history", "Every live flip of APP, newest first");
  history_cmd->add_option("app", history_app, "App name")->required();
  history_cmd->add_flag("--json", history_json, "Print JSON for scripts");

  std::string verify_app, verify_trust = trust;
  CLI::App* verify_cmd = app.add_subcommand(
      "verify", "Check every release and live record of APP against the master's public key");
  verify_cmd->add_option("app", verify_app, "App name")->required();
  verify_cmd->add_option(
      "--trust", verify_trust,
      "The root of trust, root.pub (before one: master.pub; default: $VMS_TRUST)");

  std::string owners_app, owners_change, owners_principal;
  CLI::App* owners_cmd = app.add_subcommand(
      "owners", "List APP's owners, or add or remove one (owners and admins may)");
  owners_cmd->add_option("app", owners_app, "App name")->required();
  owners_cmd->add_option("change", owners_change, "add, remove, or threshold")
      ->check(CLI::IsMember({"add", "remove", "threshold"}));
  owners_cmd->add_option("principal", owners_principal,
                         "Who: vms://user/NAME (a bare NAME is a user); for threshold, how many "
                         "owners sign each push and flip");
  std::string sign_app;
  CLI::App* sign_cmd = app.add_subcommand(
      "sign", "Add your signature to APP's push or flip that waits for more owners (threshold)");
  sign_cmd->add_option("app", sign_app, "App name")->required();
  bool sign_yes = false;
  sign_cmd->add_flag("-y,--yes", sign_yes,
                     "Sign what it shows without asking (it asks at a terminal, and refuses "
                     "elsewhere without this)");

  std::string audit_app;
  int audit_limit = 100;
  bool audit_json = false;
  CLI::App* audit_cmd =
      app.add_subcommand("audit",
                         "Every push, flip, rollback, owners change and site removal, accepted or "
                         "refused, newest first: of APP (its owners), or of all (admins)");
  audit_cmd->add_option("app", audit_app, "Only this app");
  audit_cmd->add_option("-n,--limit", audit_limit, "At most this many entries")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  audit_cmd->add_flag("--json", audit_json, "Print JSON for scripts");

  std::string key_dir = tls_env_dir.empty() ? tls_home_dir : tls_env_dir;
  bool key_offline = false;
  CLI::App* key_cmd = app.add_subcommand("key", "Your signing key");
  key_cmd->require_subcommand(1);
  CLI::App* key_gen_cmd = key_cmd->add_subcommand(
      "gen",
      "Make an Ed25519 signing key (DIR/signing.key, 0600), print its public key, and register "
      "it with the master (what an admin's `vms owners APP add YOU` puts in the app's record)");
  key_gen_cmd->add_flag("--offline", key_offline, "Do not register it with the master");
  CLI::App* key_show_cmd = key_cmd->add_subcommand("show", "Print your public key and key id");
  vms::KeyRegisterOptions key_register;
  CLI::App* key_register_cmd = key_cmd->add_subcommand(
      "register",
      "Register your signing key with the master (again). A key after your first must be "
      "vouched for by one registered already (--old-key) or registered by an admin (--for)");
  key_register_cmd->add_flag("--replace", key_register.replace,
                             "Forget the other registered keys (one was lost or stolen); then "
                             "an admin's `vms owners APP add YOU` revokes them in APP");
  key_register_cmd->add_option("--old-key", key_register.old_key_dir,
                               "A directory holding a registered signing key, which signs for "
                               "the new one");
  key_register_cmd->add_option("--for", key_register.for_principal,
                               "(admins) Register the key for this principal, e.g. "
                               "vms://user/alice, whose key was lost or stolen");
  key_register_cmd->add_option("--key", key_register.key_file,
                               "The public key to register (signing.pub) instead of yours");
  for (CLI::App* sub : {key_gen_cmd, key_show_cmd, key_register_cmd}) {
    sub->add_option("--dir", key_dir, "Where the key lives")->capture_default_str();
  }

  std::string word = FirstWord(argc, argv);
  bool asked = false;  // --help or --version
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    asked |= arg == "-h" || arg == "--help" || arg == "--version";
  }
  if (word.empty() && !asked) {
    std::cout << app.help();  // plain `vms`
    return 2;
  }
  auto subs = app.get_subcommands([](const CLI::App*) { return true; });
  bool known = std::any_of(subs.begin(), subs.end(),
                           [&](const CLI::App* sub) { return sub->check_name(word); });
  if (!word.empty() && !known && !asked) {
    return UnknownCommand(app, word);
  }
  CLI11_PARSE(app, argc, argv);

  // Commands on this machine alone: no master, no certificate.
  if (key_gen_cmd->parsed()) {
    if (int rc = vms::RunKeyGen(key_dir); rc != 0 || key_offline) return rc;
  }
  if (key_show_cmd->parsed()) return vms::RunKeyShow(key_dir);
  global.key_dir = key_dir;
  // After `vms key gen`, registering is best done now but can wait.
  const bool best_effort = key_gen_cmd->parsed();
  const char* kRegisterLater =
      "vms: your key is made but not registered with the master yet; run `vms key register` "
      "once you can reach it\n";

  if (!tls.insecure) {
    DefaultTlsFiles(tls_env_dir.empty() ? tls_home_dir : tls_env_dir, &tls);
    if (!Exists(tls.cert) && best_effort) {
      std::cerr << kRegisterLater;
      return 0;
    }
    if (!Exists(tls.cert)) {
      std::cerr << "vms: no client certificate (looked for " << tls.cert
                << "): every connection to vms is mutual TLS. Ask your vms admin for a user "
                   "certificate and put ca.crt, cert.crt and cert.key in "
                << (tls_env_dir.empty() ? tls_home_dir : tls_env_dir)
                << " (or give --tls-ca, --tls-cert, --tls-key); for a master started with "
                   "--insecure, use --insecure or VMS_INSECURE=1\n";
      return 2;
    }
  }
  // gRPC's own log lines (a failed handshake) would come before vms's
  // error, which says what they mean.
  gpr_set_log_function([](gpr_log_func_args*) {});
  auto credentials = vms::Credentials::Load(tls);
  if (!credentials.ok()) {
    std::cerr << "vms: " << vms::Sv(credentials.status().message()) << "\n";
    if (best_effort) std::cerr << kRegisterLater;
    return best_effort ? 0 : 2;
  }
  global.credentials = *std::move(credentials);

  if (key_gen_cmd->parsed() || key_register_cmd->parsed()) {
    int rc = vms::RunKeyRegister(global, key_register);
    return best_effort ? 0 : rc;
  }

  if (push_cmd->parsed()) {
    if (push.dir.empty()) push.dir = dev_root + "/" + push.app + "/" + push.version;
    if (no_stat_cache) push.stat_cache.clear();
    push.wait = !no_wait;
    return vms::RunPush(global, push);
  }
  if (live_cmd->parsed()) return vms::RunLive(global, live);
  if (rollback_cmd->parsed()) return vms::RunRollback(global, rollback);
  if (label_cmd->parsed()) return vms::RunLive(global, label);
  if (labels_cmd->parsed()) return vms::RunLabels(global, labels_app, labels_json);
  if (usage_cmd->parsed()) return vms::RunUsage(global, usage_app, usage_json);
  if (retire_cmd->parsed()) return vms::RunRetire(global, retire_app, retire_version, retire_force);
  if (policy_cmd->parsed()) {
    return vms::RunPolicy(global, policy_app, policy_keep_last, policy_keep_days);
  }
  if (gc_cmd->parsed()) return vms::RunGc(global, gc_app, gc_dry_run, gc_json);
  if (sites_remove_cmd->parsed()) return vms::RunSitesRemove(global, remove_site, remove_force);
  if (sites_add_cmd->parsed()) return vms::RunSitesAdd(global, add_site);
  if (sites_serve_cmd->parsed()) return vms::RunSitesServe(global, serve_site, serve_networks);
  if (sites_cmd->parsed()) return vms::RunSites(global, sites_json);
  if (masters_cmd->parsed()) return vms::RunMasters(global, masters_json);
  if (status_cmd->parsed()) return vms::RunStatus(global, status_app, status_version, status_json);
  if (site_cmd->parsed()) return vms::RunSiteInfo(global, site_address, site_json);
  if (history_cmd->parsed()) return vms::RunHistory(global, history_app, history_json);
  if (verify_cmd->parsed()) return vms::RunVerify(global, verify_app, verify_trust);
  if (list_cmd->parsed()) return vms::RunList(global, list_json);
  if (sign_cmd->parsed()) return vms::RunSign(global, sign_app, sign_yes);
  if (owners_cmd->parsed()) {
    return vms::RunOwners(global, owners_app, owners_change, owners_principal);
  }
  if (audit_cmd->parsed()) return vms::RunAudit(global, audit_app, audit_limit, audit_json);
  if (versions_cmd->parsed()) return vms::RunVersions(global, versions_app, versions_json);
  return 2;
}
