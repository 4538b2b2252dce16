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

}  // namespace vms
