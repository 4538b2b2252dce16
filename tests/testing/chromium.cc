#include "tests/testing/chromium.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <poll.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace vms::testing {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

constexpr char kChromium[] = "/usr/bin/chromium";

std::string Base64Decode(const std::string& in) {
  std::string out(in.size() / 4 * 3 + 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  if (n < 0) throw std::runtime_error("screenshot: not base64");
  size_t pad = 0;
  for (size_t i = in.size(); i > 0 && in[i - 1] == '='; --i) ++pad;
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

}  // namespace

std::string ArtifactDir() {
  const char* env = std::getenv("VMS_TEST_ARTIFACTS");
  std::string dir = env != nullptr && *env != '\0' ? env : fs::current_path() / "test-artifacts";
  fs::create_directories(dir);
  return dir;
}

Chromium::Chromium(const std::string& dir, const std::string& url)
    : dir_(dir), log_path_(dir + "/chromium.log") {
  if (access(kChromium, X_OK) != 0) {
    throw std::runtime_error(std::string(kChromium) +
                             " is not installed: ops/install-deps installs it (package chromium)");
  }
  int to[2], from[2];
  if (pipe2(to, O_CLOEXEC) != 0 || pipe2(from, O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe2 failed");
  }
  const int child_in = to[0], child_out = from[1];
  process_ = std::make_unique<Process>(
      std::vector<std::string>{
          kChromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
          "--no-default-browser-check", "--disable-extensions", "--remote-debugging-pipe",
          "--window-size=1400,1000", "--user-data-dir=" + dir + "/profile", "about:blank"},
      log_path_, [child_in, child_out] {
        // Out of the way of 3 and 4 first: dup2 onto itself would keep CLOEXEC.
        int in = fcntl(child_in, F_DUPFD_CLOEXEC, 10);
        int out = fcntl(child_out, F_DUPFD_CLOEXEC, 10);
        dup2(in, 3);
        dup2(out, 4);
      });
  close(to[0]);
  close(from[1]);
  to_browser_ = to[1];
  from_browser_ = from[0];
  json target = Call("Target.createTarget", {{"url", url}}, true);
  json attached =
      Call("Target.attachToTarget", {{"targetId", target["targetId"]}, {"flatten", true}}, true);
  session_ = attached["sessionId"].get<std::string>();
}

Chromium::~Chromium() {
  if (to_browser_ >= 0 && process_ && process_->running()) {
    try {
      Call("Browser.close", json::object(), true, std::chrono::seconds(10));
    } catch (const std::exception&) {
    }
    process_->Wait(std::chrono::seconds(10));
  }
  process_.reset();  // SIGKILL if still running
  // Its renderers and helpers, should any outlive it.
  KillProcessesMentioning(dir_ + "/profile");
  if (to_browser_ >= 0) close(to_browser_);
  if (from_browser_ >= 0) close(from_browser_);
}

std::string Chromium::log() const {
  std::ifstream in(log_path_);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return text.size() > 4000 ? text.substr(text.size() - 4000) : text;
}

json Chromium::Call(const std::string& method, json params, bool browser,
                    std::chrono::seconds timeout) {
  const int id = next_id_++;
  json msg = {{"id", id}, {"method", method}, {"params", std::move(params)}};
  if (!browser) msg["sessionId"] = session_;
  std::string text = msg.dump();
  text.push_back('\0');
  for (size_t done = 0; done < text.size();) {
    ssize_t n = write(to_browser_, text.data() + done, text.size() - done);
    if (n <= 0) {
      throw std::runtime_error("chromium is gone (writing " + method + "); its log:\n" + log());
    }
    done += static_cast<size_t>(n);
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout * TimeScale();
  for (;;) {
    for (size_t nul; (nul = pending_.find('\0')) != std::string::npos;) {
      json answer = json::parse(pending_.substr(0, nul), nullptr, false);
      pending_.erase(0, nul + 1);
      if (!answer.is_object() || !answer.contains("id") || answer["id"] != id) continue;
      if (answer.contains("error")) {
        throw std::runtime_error(method + ": " + answer["error"].dump());
      }
      return answer["result"];
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      throw std::runtime_error("chromium did not answer " + method + " in time; its log:\n" +
                               log());
    }
    pollfd p{from_browser_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), 1000))) <= 0) continue;
    char buf[65536];
    ssize_t n = read(from_browser_, buf, sizeof buf);
    if (n <= 0) {
      throw std::runtime_error("chromium exited (waiting for " + method + "); its log:\n" + log());
    }
    pending_.append(buf, static_cast<size_t>(n));
  }
}

json Chromium::Evaluate(const std::string& expression, std::string* error) {
  json r = Call("Runtime.evaluate", {{"expression", expression}, {"returnByValue", true}});
  if (r.contains("exceptionDetails")) {
    if (error != nullptr) *error = r["exceptionDetails"].dump();
    return nullptr;
  }
  return r["result"].value("value", json());
}

void Chromium::Screenshot(const std::string& path) {
  json r = Call("Page.captureScreenshot", {{"format", "png"}});
  std::ofstream(path, std::ios::binary) << Base64Decode(r["data"].get<std::string>());
}

}  // namespace vms::testing
