#include "core/lifecycle.h"

#include <algorithm>

#include "core/names.h"
#include "core/strings.h"

namespace vms {

absl::Status ValidateLabel(std::string_view label) {
  auto bad = [&] {
    return absl::InvalidArgumentError(
        StrCat("invalid label ", Quote(label),
               ": a label is 1-32 characters of a-z, 0-9, '_', '-', starting with a letter "
               "(e.g. beta, lts)"));
  };
  if (label.empty() || label.size() > 32 || label[0] < 'a' || label[0] > 'z') return bad();
  for (char c : label) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) return bad();
  }
  return absl::OkStatus();
}

absl::Status ValidateScope(const std::vector<std::string>& sites) {
  if (sites.size() > kMaxScopeSites) {
    return absl::InvalidArgumentError(
        StrCat("a flip names at most ", kMaxScopeSites, " sites, not ", sites.size()));
  }
  for (size_t i = 0; i < sites.size(); ++i) {
    if (absl::Status s = ValidateSiteName(sites[i]); !s.ok()) return s;
    if (i > 0 && sites[i - 1] >= sites[i]) {
      return absl::InvalidArgumentError("a flip's sites must be sorted and named once each");
    }
  }
  return absl::OkStatus();
}

bool AppliesTo(const LiveRecord& record, std::string_view site) {
  if (record.kind() == LiveRecord::RETIRE) return false;
  if (record.sites().empty()) return true;
  if (site.empty()) return false;
  return std::binary_search(record.sites().begin(), record.sites().end(), site);
}

std::string PointerName(std::string_view app, std::string_view label) {
  return label.empty() ? std::string(app) : StrCat(app, "@", label);
}

std::map<std::string, LiveRecord> InEffect(const std::vector<LiveRecord>& records,
                                           std::string_view site) {
  std::map<std::string, LiveRecord> out;
  for (const LiveRecord& r : records) {
    if (!AppliesTo(r, site)) continue;
    auto [it, added] = out.try_emplace(r.label(), r);
    if (!added && r.live_seq() > it->second.live_seq()) it->second = r;
  }
  return out;
}

uint64_t WorldLiveSeq(const AppState& state) {
  if (state.world_live_seq() != 0) return state.world_live_seq();
  return state.live_version().empty() ? 0 : state.live_seq();
}

std::string ScopeText(const LiveRecord& record) {
  if (record.sites().empty()) return "the world";
  return Join(std::vector<std::string>(record.sites().begin(), record.sites().end()));
}

void AddReleaseToState(const Release& release, AppState* state) {
  state->set_app(release.app());
  state->set_version_count(state->version_count() + 1);
  if (release.created_unix_ms() >= state->latest_created_unix_ms()) {
    state->set_latest_version(release.version());
    state->set_latest_created_unix_ms(release.created_unix_ms());
  }
}

void AddLiveToState(const LiveRecord& live, AppState* state) {
  state->set_app(live.app());
  state->set_world_live_seq(WorldLiveSeq(*state));
  state->set_live_seq(std::max(state->live_seq(), live.live_seq()));
  if (live.kind() == LiveRecord::RETIRE) {
    auto* ahead = state->mutable_retired_ahead();
    ahead->erase(std::remove(ahead->begin(), ahead->end(), live.version()), ahead->end());
    const auto& retired = state->retired();
    if (std::find(retired.begin(), retired.end(), live.version()) == retired.end()) {
      state->add_retired(live.version());
      state->add_retired_live_seq(live.live_seq());
    }
    return;
  }
  auto* pointers = state->mutable_pointers();
  auto drop = [&](auto&& pred) {
    pointers->erase(std::remove_if(pointers->begin(), pointers->end(), pred), pointers->end());
  };
  auto add = [&](const std::string& site) {
    AppState::Pointer* p = pointers->Add();
    p->set_label(live.label());
    p->set_site(site);
    p->set_version(live.version());
    p->set_live_seq(live.live_seq());
    p->set_since_unix_ms(live.issued_unix_ms());
  };
  if (live.sites().empty()) {
    // The world's record of a label supersedes every scoped one of it.
    drop([&](const AppState::Pointer& p) { return p.label() == live.label(); });
    if (live.label().empty()) {
      state->set_world_live_seq(live.live_seq());
      state->set_live_version(live.version());
      state->set_live_since_unix_ms(live.issued_unix_ms());
    } else {
      add("");
    }
    return;
  }
  for (const std::string& site : live.sites()) {
    drop([&](const AppState::Pointer& p) { return p.label() == live.label() && p.site() == site; });
    add(site);
  }
}

bool IsRetired(const AppState& state, std::string_view version) {
  auto named = [&](const auto& list) {
    return std::find(list.begin(), list.end(), version) != list.end();
  };
  return named(state.retired()) || named(state.retired_ahead());
}

absl::Status RetirementMatches(const LiveRecord& retire, std::string_view app,
                               std::string_view version, std::string_view root) {
  if (retire.kind() != LiveRecord::RETIRE) {
    return absl::InvalidArgumentError(
        StrCat("live record ", retire.live_seq(), " of ", retire.app(), " is not a retirement"));
  }
  if (retire.app() != app || retire.version() != version) {
    return absl::InvalidArgumentError(StrCat("the retirement of ", retire.app(), " ",
                                             retire.version(), " is not one of ", app, " ",
                                             version));
  }
  if (retire.root() != root) {
    return absl::InvalidArgumentError(
        StrCat("the retirement of ", app, " ", version, " names another root than its release"));
  }
  return absl::OkStatus();
}

}  // namespace vms
