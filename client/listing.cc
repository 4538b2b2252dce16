// vms list, vms versions: what the master holds.
#include <iostream>

#include "client/commands.h"
#include "client/master_client.h"
#include "client/progress.h"
#include "client/table.h"
#include "core/envelope.h"
#include "core/hash.h"
#include "core/lifecycle.h"
#include "core/strings.h"
#include "nlohmann/json.hpp"

namespace vms {

int Fail(std::string_view message) {
  std::cerr << "vms: " << message << "\n";
  return 1;
}

int RunList(const GlobalOptions& global, bool json) {
  MasterClient master(global.master, global.credentials);
  auto apps = master.ListApps();
  if (!apps.ok()) return Fail(Sv(apps.status().message()));
  if (json) {
    nlohmann::json out = nlohmann::json::array();
    for (const AppState& a : apps->apps()) {
      out.push_back({{"app", a.app()},
                     {"versions", a.version_count()},
                     {"retired", a.retired_size()},
                     {"latest", a.latest_version()},
                     {"latest_created", IsoTime(a.latest_created_unix_ms())},
                     {"live", a.live_version()},
                     {"live_seq", a.live_seq()},
                     {"live_since", a.live_seq() ? IsoTime(a.live_since_unix_ms()) : ""}});
    }
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  if (apps->apps().empty()) {
    std::cout << "no apps yet: `vms push APP VERSION DIR` publishes the first\n";
    return 0;
  }
  Table table({"APP", "LIVE", "SINCE", "VERSIONS", "LATEST", "PUSHED"});
  for (const AppState& a : apps->apps()) {
    bool live = !a.live_version().empty();
    std::string count = std::to_string(a.version_count());
    if (a.retired_size() > 0) count += StrCat(" (", a.retired_size(), " retired)");
    table.Add({a.app(), live ? a.live_version() : "-",
               live ? LocalTime(a.live_since_unix_ms()) : "-", count, a.latest_version(),
               LocalTime(a.latest_created_unix_ms())});
  }
  table.Print(std::cout);
  return 0;
}

int RunVersions(const GlobalOptions& global, const std::string& app, bool json) {
  MasterClient master(global.master, global.credentials);
  auto versions = master.ListVersions(app);
  if (!versions.ok()) return Fail(Sv(versions.status().message()));
  // The live version comes from the app's state.
  AppState state = master.App(app).value_or(AppState());
  const std::string live = state.live_version();
  std::vector<Release> releases;
  for (const Envelope& env : versions->releases()) {
    auto r = ParseRelease(env);
    if (!r.ok()) return Fail(StrCat("master sent a bad release: ", r.status().message()));
    releases.push_back(std::move(*r));
  }
  if (json) {
    nlohmann::json out = nlohmann::json::array();
    for (const Release& r : releases) {
      auto root = Hash::FromBytes(r.root());
      out.push_back({{"app", r.app()},
                     {"version", r.version()},
                     {"root", root.ok() ? root->Hex() : ""},
                     {"files", r.file_count()},
                     {"bytes", r.byte_count()},
                     {"created", IsoTime(r.created_unix_ms())},
                     {"publisher", r.publisher()},
                     {"message", r.message()},
                     {"live", r.version() == live},
                     {"retired", IsRetired(state, r.version())}});
    }
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  Table table({"", "VERSION", "SIZE", "FILES", "CREATED", "PUBLISHER", "MESSAGE"});
  for (const Release& r : releases) {
    // Retired: gone from every store; the record stays, for the history.
    const char* mark = r.version() == live ? "*" : IsRetired(state, r.version()) ? "retired" : "";
    table.Add({mark, r.version(), HumanBytes(r.byte_count()), std::to_string(r.file_count()),
               LocalTime(r.created_unix_ms()), r.publisher(), r.message()});
  }
  table.Print(std::cout);
  return 0;
}

}  // namespace vms
