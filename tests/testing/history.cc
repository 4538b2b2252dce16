#include "tests/testing/history.h"

#include <algorithm>
#include <set>

namespace vms::testing {

namespace {

std::string Describe(const FlipOp& op) {
  return "client " + std::to_string(op.client) + " " + (op.rollback ? "rollback " : "live ") +
         op.app + (op.rollback ? "" : " " + op.version) + " [" + std::to_string(op.invoked_ms) +
         ", " + std::to_string(op.completed_ms) + "]";
}

}  // namespace

std::vector<std::string> CheckHistory(const std::vector<FlipOp>& ops,
                                      const std::map<std::string, std::vector<LogRecord>>& log) {
  std::vector<std::string> problems;
  for (const auto& [app, records] : log) {
    for (size_t i = 0; i < records.size(); ++i) {
      if (records[i].live_seq != i + 1) {
        problems.push_back(app + ": the log has live_seq " + std::to_string(records[i].live_seq) +
                           " where " + std::to_string(i + 1) + " belongs (a gap or a repeat)");
        break;
      }
    }
  }
  auto find = [&](const std::string& app, uint64_t live_seq) -> const LogRecord* {
    auto it = log.find(app);
    if (it == log.end()) return nullptr;
    for (const LogRecord& r : it->second) {
      if (r.live_seq == live_seq) return &r;
    }
    return nullptr;
  };

  // Acknowledged flips: in the log, as answered, each record claimed once.
  std::map<std::pair<std::string, uint64_t>, const FlipOp*> claimed;
  std::map<std::string, std::vector<const FlipOp*>> acked;  // per app
  for (const FlipOp& op : ops) {
    if (op.outcome != FlipOp::Outcome::kOk) continue;
    const LogRecord* r = find(op.app, op.live_seq);
    if (r == nullptr) {
      problems.push_back("lost: " + Describe(op) + " was acknowledged as live_seq " +
                         std::to_string(op.live_seq) + ", which the log does not hold");
      continue;
    }
    if (r->rollback != op.rollback || (!op.rollback && r->version != op.version)) {
      problems.push_back("changed: " + Describe(op) + " was acknowledged as live_seq " +
                         std::to_string(op.live_seq) + ", which the log holds as " +
                         (r->rollback ? "a rollback to " : "live ") + r->version);
    }
    auto [it, fresh] = claimed.emplace(std::make_pair(op.app, op.live_seq), &op);
    if (!fresh) {
      problems.push_back("twice: " + Describe(op) + " and " + Describe(*it->second) +
                         " were both acknowledged as live_seq " + std::to_string(op.live_seq));
    }
    acked[op.app].push_back(&op);
  }

  // Every other record: a flip whose answer was unknown (not a refused one).
  for (const auto& [app, records] : log) {
    std::vector<const FlipOp*> unknown;
    for (const FlipOp& op : ops) {
      if (op.app == app && op.outcome == FlipOp::Outcome::kUnknown) unknown.push_back(&op);
    }
    std::vector<bool> used(unknown.size(), false);
    for (const LogRecord& r : records) {
      if (claimed.contains({app, r.live_seq})) continue;
      bool matched = false;
      for (size_t i = 0; i < unknown.size() && !matched; ++i) {
        const FlipOp& op = *unknown[i];
        if (used[i] || op.rollback != r.rollback || (!op.rollback && op.version != r.version)) {
          continue;
        }
        used[i] = matched = true;
      }
      if (!matched) {
        problems.push_back(app + ": live_seq " + std::to_string(r.live_seq) + " (" +
                           (r.rollback ? "a rollback to " : "live ") + r.version +
                           ") is no acknowledged flip and no flip whose answer was lost: a "
                           "refused or never-asked flip was written");
      }
    }
  }

  // Real time, per app: acknowledged before another began => earlier.
  for (auto& [app, list] : acked) {
    std::sort(list.begin(), list.end(),
              [](const FlipOp* a, const FlipOp* b) { return a->completed_ms < b->completed_ms; });
    for (const FlipOp* a : list) {
      for (const FlipOp* b : list) {
        if (a->completed_ms < b->invoked_ms && a->live_seq >= b->live_seq) {
          problems.push_back("out of order: " + Describe(*a) + " (live_seq " +
                             std::to_string(a->live_seq) + ") was acknowledged before " +
                             Describe(*b) + " began, which the log puts first (live_seq " +
                             std::to_string(b->live_seq) + ")");
        }
      }
    }
  }
  return problems;
}

}  // namespace vms::testing
