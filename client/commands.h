// The vms subcommands. main.cc parses flags and the environment into these
// option structs; each Run* returns the process exit status after printing
// results to stdout and errors to stderr.
#ifndef VMS_CLIENT_COMMANDS_H_
#define VMS_CLIENT_COMMANDS_H_

#include <cstdint>
#include <string>

#include "core/limits.h"
#include "net/tls.h"

namespace vms {

struct GlobalOptions {
  std::string master;  // host:port
  Credentials credentials = Credentials::Insecure();
  // Where the signing key is (signing.key): $VMS_TLS_DIR, else ~/.config/vms.
  std::string key_dir;
};

struct PushOptions {
  std::string app;
  std::string version;
  std::string dir;  // the version's directory
  std::string message;
  std::string stat_cache;   // file; empty: no stat cache
  uint64_t limit_rate = 0;  // bytes per second; 0: unlimited
  int jobs = 0;             // threads; 0: one per CPU
  int zstd_level = 1;
  bool json = false;  // summary as JSON on stdout
  bool wait = true;   // until every site holds the version
  int timeout_s = 0;  // bound on that wait; 0: none
  ShapeLimits limits;
};

struct FlipOptions {
  std::string app;
  std::string version;  // rollback: "" for the previous live version
  bool wait = false;    // for the sites: to hold the version, then to apply the flip
  int timeout_s = 0;
  std::vector<std::string> sites;  // only these sites (a canary); none: the world
  std::string label;               // vms label: move this label instead of live
};

int RunPush(const GlobalOptions& global, const PushOptions& options);
int RunLive(const GlobalOptions& global, const FlipOptions& options);
int RunRollback(const GlobalOptions& global, const FlipOptions& options);
// vms retire APP VERSION [--force], vms policy, vms gc [APP] [--dry-run].
int RunRetire(const GlobalOptions& global, const std::string& app, const std::string& version,
              bool force);
int RunPolicy(const GlobalOptions& global, const std::string& app, int keep_last, int keep_days);
int RunGc(const GlobalOptions& global, const std::string& app, bool dry_run, bool json);
// vms usage APP: the census, per version and site.
int RunUsage(const GlobalOptions& global, const std::string& app, bool json);
// vms labels APP: every label of APP, and where live differs by site.
int RunLabels(const GlobalOptions& global, const std::string& app, bool json);
int RunSites(const GlobalOptions& global, bool json);
// vms masters: a master group's nodes, leader, lag, etcd's health.
int RunMasters(const GlobalOptions& global, bool json);
int RunSitesRemove(const GlobalOptions& global, const std::string& site, bool force);
int RunSitesAdd(const GlobalOptions& global, const std::string& site);
// vms sites serve SITE [NETWORK...]
int RunSitesServe(const GlobalOptions& global, const std::string& site,
                  const std::vector<std::string>& networks);
int RunStatus(const GlobalOptions& global, const std::string& app, const std::string& version,
              bool json);
// What the replica at `address` knows about itself.
int RunSiteInfo(const GlobalOptions& global, const std::string& address, bool json);
int RunHistory(const GlobalOptions& global, const std::string& app, bool json);
// Checks every release and live record of `app` against the key in
// `trust_file` (the master's master.pub).
int RunVerify(const GlobalOptions& global, const std::string& app, const std::string& trust_file);

int RunList(const GlobalOptions& global, bool json);
// vms owners APP [add|remove PRINCIPAL]: `change` is "", "add" or "remove".
int RunOwners(const GlobalOptions& global, const std::string& app, const std::string& change,
              const std::string& principal);
// vms audit [APP]: the newest `limit` entries.
int RunAudit(const GlobalOptions& global, const std::string& app, int limit, bool json);
int RunVersions(const GlobalOptions& global, const std::string& app, bool json);

// vms key gen / show: the signing key in `dir` (signing.key, signing.pub).
int RunKeyGen(const std::string& dir);
int RunKeyShow(const std::string& dir);
// vms key register: binds global.key_dir's key (or, with `key_file`, that
// public key) to the caller's principal on the master (or, for an admin,
// to `for_principal`). `old_key_dir`: a registered key that vouches for the
// new one, which every key after a principal's first needs unless an admin
// registers it.
struct KeyRegisterOptions {
  bool replace = false;
  std::string old_key_dir;
  std::string for_principal;
  std::string key_file;
};
int RunKeyRegister(const GlobalOptions& global, const KeyRegisterOptions& options);
// vms sign APP: co-signs what of APP waits for more owners' signatures.
// Shows each record of APP that waits for co-signers, exactly as it will be
// written, and signs it once the caller says yes (`yes`: without asking).
int RunSign(const GlobalOptions& global, const std::string& app, bool yes);

// Prints "vms: <message>" to stderr and returns 1.
int Fail(std::string_view message);

}  // namespace vms

#endif  // VMS_CLIENT_COMMANDS_H_
