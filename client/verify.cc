// vms verify: checks what the master serves against its public key.
#include <iostream>
#include <map>

#include "client/commands.h"
#include "client/master_client.h"
#include "core/envelope.h"
#include "core/keys.h"
#include "core/live_verifier.h"
#include "core/names.h"
#include "core/strings.h"

namespace vms {

int RunVerify(const GlobalOptions& global, const std::string& app, const std::string& trust_file) {
  if (absl::Status s = ValidateAppName(app); !s.ok()) return Fail(Sv(s.message()));
  if (trust_file.empty()) {
    return Fail(
        "vms verify needs the master's public key: --trust /path/to/master.pub "
        "(or $VMS_TRUST)");
  }
  auto key = PublicKey::Load(trust_file);
  if (!key.ok()) return Fail(Sv(key.status().message()));

  MasterClient master(global.master, global.credentials);
  auto versions = master.ListVersions(app);
  if (!versions.ok()) return Fail(Sv(versions.status().message()));
  auto history = master.LiveHistory(app);
  if (!history.ok()) return Fail(Sv(history.status().message()));

  std::vector<std::string> problems;
  std::map<std::string, std::string> roots;  // version -> root bytes
  for (const Envelope& env : versions->releases()) {
    auto r = OpenRelease(env, *key);
    if (!r.ok()) {
      problems.push_back(StrCat("release: ", r.status().message()));
      continue;
    }
    if (r->app() != app) problems.push_back(StrCat("release of ", r->app(), " listed under ", app));
    if (r->root().size() != Hash::kSize)
      problems.push_back(StrCat("release ", r->version(), ": bad root"));
    if (!roots.emplace(r->version(), r->root()).second) {
      problems.push_back(StrCat("version ", r->version(), " appears twice"));
    }
  }

  LiveVerifier verifier(*key);
  std::string previous;
  uint64_t expected_seq = 1;
  for (const Envelope& env : history->records()) {
    auto r = verifier.Accept(env);
    if (!r.ok()) {
      problems.push_back(StrCat("live record #", expected_seq, ": ", r.status().message()));
      ++expected_seq;
      continue;
    }
    std::string where = StrCat("live record ", r->live_seq(), " (", r->version(), ")");
    if (r->app() != app) problems.push_back(StrCat(where, " is about app ", r->app()));
    if (r->live_seq() != expected_seq) {
      problems.push_back(StrCat(where, ": expected live_seq ", expected_seq, " (a gap)"));
    }
    auto root = roots.find(r->version());
    if (root == roots.end()) {
      problems.push_back(StrCat(where, " names a version that has no release"));
    } else if (root->second != r->root()) {
      problems.push_back(StrCat(where, " names a root that differs from the release's"));
    }
    if (r->previous_version() != previous) {
      problems.push_back(StrCat(where, " says the previous version was \"", r->previous_version(),
                                "\", the chain says \"", previous, "\""));
    }
    previous = r->version();
    expected_seq = r->live_seq() + 1;
  }

  std::cout << "checked " << app << " against key " << key->keyid().substr(0, 16) << ": "
            << versions->releases_size() << " releases, " << history->records_size()
            << " live records";
  if (history->records_size() > 0) std::cout << " (live_seq 1.." << expected_seq - 1 << ")";
  if (!previous.empty()) std::cout << ", live version " << previous;
  std::cout << "\n";
  if (problems.empty()) {
    std::cout << "OK: every signature verifies and the live chain is in order\n";
    return 0;
  }
  for (const std::string& p : problems) std::cerr << "vms: verify: " << p << "\n";
  std::cerr << "vms: verify FAILED: " << problems.size() << " problem(s)\n";
  return 1;
}

}  // namespace vms
