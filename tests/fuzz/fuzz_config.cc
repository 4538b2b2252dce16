// A daemon's --config file (TOML/INI, keys as the long flags), as vms-fuse,
// vms-replica and vms-master read it at start: parsed into their common
// flags and a few of every kind; a bad file is an error, never a crash.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "core/check.h"
#include "net/daemon.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vms;
  static const std::string path = [] {
    char dir[] = "/tmp/vms-fuzz-config-XXXXXX";
    VMS_CHECK(mkdtemp(dir) != nullptr, "mkdtemp");
    static std::string made = dir;
    std::atexit([] { std::filesystem::remove_all(made); });
    return std::string(dir) + "/config.toml";
  }();
  FILE* f = std::fopen(path.c_str(), "wb");
  VMS_CHECK(f != nullptr, "open the config file");
  VMS_CHECK(std::fwrite(data, 1, size, f) == size, "write the config file");
  std::fclose(f);
  CLI::App app("fuzz");
  LogOptions log;
  TlsFiles tls;
  std::string metrics, site;
  std::vector<std::string> replicas;
  int port = 0;
  double ratio = 0;
  bool flag = false;
  AddDaemonFlags(&app, "vms-fuzz", &log, &tls, &metrics);
  app.add_option("--site", site);
  app.add_option("--replicas", replicas)->delimiter(',');
  app.add_option("--port", port)->check(CLI::Range(0, 65535));
  app.add_option("--ratio", ratio);
  app.add_flag("--flag", flag);
  std::vector<std::string> args = {"vms-fuzz", "--config", path};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::Error&) {
  }
  return 0;
}
