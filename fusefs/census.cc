#include "fusefs/census.h"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <vector>

#include "core/limits.h"
#include "core/names.h"
#include "core/strings.h"

namespace vms {

namespace {

constexpr int64_t kWeekMs = 7 * 86'400'000LL;

std::string ReadLink(const std::string& path) {
  char buf[4096];
  ssize_t n = readlink(path.c_str(), buf, sizeof buf);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

// The names in a directory (none if it cannot be read: a process gone).
std::vector<std::string> List(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] != '.') out.emplace_back(e->d_name);
  }
  closedir(d);
  return out;
}

}  // namespace

HostCensus::HostCensus(std::string mountpoint, Clock* clock, std::string proc)
    : mountpoint_(std::move(mountpoint)), clock_(clock), proc_(std::move(proc)) {}

std::pair<std::string, std::string> HostCensus::VersionOf(const std::string& mountpoint,
                                                          const std::string& path) {
  if (!path.starts_with(mountpoint + "/")) return {};
  std::string rest = path.substr(mountpoint.size() + 1);
  std::string first = rest.substr(0, rest.find('/'));
  auto at = first.find('@');
  if (at == std::string::npos) return {};
  std::string app = first.substr(0, at), version = first.substr(at + 1);
  // " (deleted)" and such never name a version: the names are checked.
  if (!ValidateAppName(app).ok() || !ValidateVersionName(version).ok()) return {};
  return {app, version};
}

void HostCensus::Touched(const std::string& app, const std::string& version) {
  const int64_t now = clock_->WallMs();
  std::function<void()> tell;
  {
    MutexLock lock(&mu_);
    auto it = last_use_.find({app, version});
    if (it == last_use_.end() && last_use_.size() >= kMaxUsageVersions) return;
    // A use the last report may not show (new, or idle for a while): worth
    // reporting now rather than at the next interval, or a `vms retire` in
    // between would take the version from a program that just started.
    if (it == last_use_.end() || now - it->second >= kReportAgainAfterMs) tell = on_new_use_;
    last_use_[{app, version}] = now;
  }
  if (tell) tell();
}

void HostCensus::SetOnNewUse(std::function<void()> fn) {
  MutexLock lock(&mu_);
  on_new_use_ = std::move(fn);
}

std::vector<VersionUsage> HostCensus::Scan() {
  struct Seen {
    std::set<std::string> pids;
    uint32_t files = 0;
  };
  std::map<std::pair<std::string, std::string>, Seen> seen;
  auto note = [&](const std::string& pid, const std::string& path) {
    auto key = VersionOf(mountpoint_, path);
    if (key.first.empty()) return;
    Seen& s = seen[key];
    s.pids.insert(pid);
    ++s.files;
  };
  for (const std::string& pid : List(proc_)) {
    if (!std::all_of(pid.begin(), pid.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      continue;
    }
    const std::string base = proc_ + "/" + pid;
    note(pid, ReadLink(base + "/exe"));
    note(pid, ReadLink(base + "/cwd"));
    for (const std::string& fd : List(base + "/fd")) note(pid, ReadLink(base + "/fd/" + fd));
    // Mapped files (shared libraries, an executable run by an interpreter),
    // each once per process.
    std::ifstream maps(base + "/maps");
    std::set<std::string> mapped;
    for (std::string line; std::getline(maps, line);) {
      auto slash = line.find('/');
      if (slash == std::string::npos) continue;
      std::string path = line.substr(slash);
      if (path.starts_with(mountpoint_ + "/") && mapped.insert(path).second) note(pid, path);
    }
  }
  const int64_t now = clock_->WallMs();
  MutexLock lock(&mu_);
  for (const auto& [key, s] : seen) last_use_[key] = now;
  std::vector<VersionUsage> out;
  for (auto it = last_use_.begin(); it != last_use_.end();) {
    if (now - it->second > kWeekMs) {
      it = last_use_.erase(it);
      continue;
    }
    VersionUsage& v = out.emplace_back();
    v.set_app(it->first.first);
    v.set_version(it->first.second);
    v.set_last_use_unix_ms(it->second);
    if (auto s = seen.find(it->first); s != seen.end()) {
      v.set_processes(static_cast<uint32_t>(s->second.pids.size()));
      v.set_open_files(s->second.files);
    }
    ++it;
  }
  std::sort(out.begin(), out.end(), [](const VersionUsage& a, const VersionUsage& b) {
    return a.last_use_unix_ms() > b.last_use_unix_ms();
  });
  if (out.size() > kMaxUsageVersions) out.resize(kMaxUsageVersions);
  return out;
}

}  // namespace vms
