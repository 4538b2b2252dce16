// A daemon's --config file (TOML/INI, keys as the long flags), as vms-fuse,
// vms-replica and vms-master read it at start: parsed into their common
// flags and a few of every kind; a bad file is an error, never a crash.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "net/daemon.h"
#include "tests/fuzz/fuzz_files.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vms;
  const std::string path = fuzz::InputFile("config.toml", data, size);
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
