// A Jepsen-style checker of what clients saw against what the log holds
// (issue 36): clients record every flip they asked for, when they asked,
// when the answer came and what it was (ok, failed, unknown); afterwards
// CheckHistory() says whether the log is one a correct master group could
// have written:
//  - every acknowledged flip is in the log, once, as answered (its live_seq
//    names a record of that version);
//  - no refused flip is: every record in the log is an acknowledged flip or
//    one whose answer was unknown;
//  - each app's live_seqs are gapless from 1;
//  - real time: a flip acknowledged before another began comes first.
// Its own tests (tests/tools/history_test.cc) plant each kind of fault.
#ifndef VMS_TESTS_TESTING_HISTORY_H_
#define VMS_TESTS_TESTING_HISTORY_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace vms::testing {

struct FlipOp {
  enum class Outcome { kOk, kFailed, kUnknown };
  int client = 0;
  std::string app;
  bool rollback = false;  // else a live flip to `version`
  std::string version;    // live: the target; rollback: "" (any)
  int64_t invoked_ms = 0, completed_ms = 0;
  Outcome outcome = Outcome::kUnknown;
  uint64_t live_seq = 0;  // kOk: the record the answer named
};

struct LogRecord {
  uint64_t live_seq = 0;
  std::string version;
  bool rollback = false;
};

// Every violation found, one line each (empty: the history is sound).
// `log`: app -> its live records in live_seq order, as the group holds them.
std::vector<std::string> CheckHistory(const std::vector<FlipOp>& ops,
                                      const std::map<std::string, std::vector<LogRecord>>& log);

}  // namespace vms::testing

#endif  // VMS_TESTS_TESTING_HISTORY_H_
