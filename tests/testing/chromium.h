// A real browser for page tests: Debian's headless Chromium, driven over the
// DevTools protocol on a pipe (--remote-debugging-pipe: commands on its fd
// 3, answers on its fd 4, each a JSON text ended by a NUL byte), so no port
// is opened and nothing but this process can drive it.
#ifndef VMS_TESTS_TESTING_CHROMIUM_H_
#define VMS_TESTS_TESTING_CHROMIUM_H_

#include <chrono>
#include <memory>
#include <string>

#include "nlohmann/json.hpp"
#include "tests/testing/testing.h"

namespace vms::testing {

class Chromium {
 public:
  // Starts the browser (its profile and log in `dir`) and opens `url` in a
  // tab. Throws std::runtime_error saying what failed (no chromium, it
  // exited, it did not answer) with the end of its log.
  Chromium(const std::string& dir, const std::string& url);
  ~Chromium();  // closes the browser, kills what is left of it
  Chromium(const Chromium&) = delete;
  Chromium& operator=(const Chromium&) = delete;

  // Evaluates `expression` in the page; its value as JSON (null when it
  // threw, with the exception in *error if given).
  nlohmann::json Evaluate(const std::string& expression, std::string* error = nullptr);
  // A PNG of the page as it is now, written to `path`.
  void Screenshot(const std::string& path);
  std::string log() const;

 private:
  // Sends one command (to the page's session unless `browser`) and waits
  // for its answer; throws on a protocol error or after `timeout`.
  nlohmann::json Call(const std::string& method, nlohmann::json params, bool browser = false,
                      std::chrono::seconds timeout = std::chrono::seconds(60));

  std::string dir_, log_path_;
  std::unique_ptr<Process> process_;
  int to_browser_ = -1, from_browser_ = -1;
  std::string pending_;  // bytes read past the last message
  int next_id_ = 1;
  std::string session_;
};

// Where tests leave what a person may want to look at afterwards
// (screenshots): $VMS_TEST_ARTIFACTS, else test-artifacts/ under the working
// directory (ctest's: the build's tests/ directory). Created.
std::string ArtifactDir();

}  // namespace vms::testing

#endif  // VMS_TESTS_TESTING_CHROMIUM_H_
