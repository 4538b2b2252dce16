// vms verify: checks what the master serves against the trusted root (or,
// before a root of trust, the master's public key), and names who signed
// each record.
#include <iostream>
#include <map>

#include "client/commands.h"
#include "client/master_client.h"
#include "core/chain.h"
#include "core/envelope.h"
#include "core/lifecycle.h"
#include "core/names.h"
#include "core/strings.h"

namespace vms {

int RunVerify(const GlobalOptions& global, const std::string& app, const std::string& trust_file) {
  if (absl::Status s = ValidateAppName(app); !s.ok()) return Fail(Sv(s.message()));
  if (trust_file.empty()) {
    return Fail(
        "vms verify needs what replicas and hosts trust: --trust /path/to/root.pub (or, before "
        "a root of trust, master.pub; or $VMS_TRUST)");
  }
  auto chain = LoadTrust(trust_file);
  if (!chain.ok()) return Fail(Sv(chain.status().message()));

  MasterClient master(global.master, global.credentials);
  std::vector<std::string> problems;
  if (chain->chained()) {
    std::cout << "root version " << chain->root().record.version() << ": "
              << chain->root().record.threshold() << " of " << chain->root().keys.size()
              << " keys (" << trust_file << ")\n";
    auto trust = master.Trust();
    if (!trust.ok()) return Fail(Sv(trust.status().message()));
    for (const Envelope& env : trust->chain().records()) {
      std::string about;
      if (OwnershipRecord o;
          env.payload_type() == kOwnershipType && o.ParseFromString(env.payload())) {
        if (o.app() != app) {
          (void)chain->Accept(env);  // other apps' records: taken, not shown
          continue;
        }
        about = StrCat("ownership record ", o.ownership_seq(), " of ", app, " (");
        for (int i = 0; i < o.owners_size(); ++i) {
          about += StrCat(i ? ", " : "", o.owners(i).principal());
        }
        about += StrCat("; ", o.threshold(), " to sign)");
      } else if (KeyringRecord k;
                 env.payload_type() == kKeyringType && k.ParseFromString(env.payload())) {
        about = StrCat("keyring version ", k.version(), " (", k.admin_keys_size(), " admin keys)");
      } else if (RootRecord r;
                 env.payload_type() == kRootType && r.ParseFromString(env.payload())) {
        about = StrCat("root version ", r.version());
      }
      std::string signers = chain->Signers(env, app);
      auto accepted = chain->Accept(env);
      if (!accepted.ok()) {
        problems.push_back(StrCat(about, ": ", accepted.status().message()));
        continue;
      }
      std::cout << about << ": signed by " << signers << "\n";
    }
  }
  auto versions = master.ListVersions(app);
  if (!versions.ok()) return Fail(Sv(versions.status().message()));
  auto history = master.LiveHistory(app);
  if (!history.ok()) return Fail(Sv(history.status().message()));

  std::map<std::string, std::string> roots;  // version -> root bytes
  for (const Envelope& env : versions->releases()) {
    auto r = chain->VerifyRelease(env, TrustChain::Order::kHeld);
    if (!r.ok()) {
      problems.push_back(StrCat("release: ", r.status().message()));
      continue;
    }
    if (r->app() != app) problems.push_back(StrCat("release of ", r->app(), " listed under ", app));
    if (!roots.emplace(r->version(), r->root()).second) {
      problems.push_back(StrCat("version ", r->version(), " appears twice"));
    }
    std::cout << "release " << r->version() << ": signed by " << chain->Signers(env, app) << "\n";
  }

  std::string previous;  // the world's live version
  std::vector<LiveRecord> seen;
  uint64_t expected_seq = 1;
  for (const Envelope& env : history->records()) {
    auto r = chain->VerifyLive(env, TrustChain::Order::kHeld);
    if (!r.ok()) {
      problems.push_back(StrCat("live record #", expected_seq, ": ", r.status().message()));
      ++expected_seq;
      continue;
    }
    std::string where = StrCat("live record ", r->live_seq(), " (", r->version(), ")");
    if (r->app() != app) problems.push_back(StrCat(where, " is about app ", r->app()));
    if (r->live_seq() != expected_seq) {
      problems.push_back(
          StrCat(where, ": expected live_seq ", expected_seq, " (a gap, or a record replayed)"));
    }
    auto root = roots.find(r->version());
    if (root == roots.end()) {
      problems.push_back(StrCat(where, " names a version that has no release"));
    } else if (root->second != r->root()) {
      problems.push_back(StrCat(where, " names a root that differs from the release's"));
    }
    if (r->kind() != LiveRecord::RETIRE) {
      // What this record's pointer held before it, where it first applies.
      auto before = InEffect(seen, r->sites().empty() ? "" : r->sites(0));
      auto it = before.find(r->label());
      std::string expected = it == before.end() ? "" : it->second.version();
      if (r->previous_version() != expected) {
        problems.push_back(StrCat(where, " says the previous version was \"", r->previous_version(),
                                  "\", the chain says \"", expected, "\""));
      }
      if (r->label().empty() && r->sites().empty()) previous = r->version();
    }
    std::cout << where << ": signed by " << chain->Signers(env, app) << "\n";
    seen.push_back(*r);
    expected_seq = r->live_seq() + 1;
  }

  std::cout << "checked " << app << ": " << versions->releases_size() << " releases, "
            << history->records_size() << " live records";
  if (history->records_size() > 0) std::cout << " (live_seq 1.." << expected_seq - 1 << ")";
  if (!previous.empty()) std::cout << ", live version " << previous;
  std::cout << "\n";
  if (problems.empty()) {
    std::cout << "OK: every signature verifies"
              << (chain->chained() ? ", from the root to the app's owners," : "")
              << " and the live chain is in order\n";
    return 0;
  }
  for (const std::string& p : problems) std::cerr << "vms: verify: " << p << "\n";
  std::cerr << "vms: verify FAILED: " << problems.size() << " problem(s)\n";
  return 1;
}

}  // namespace vms
