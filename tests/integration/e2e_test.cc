// What ops/quickstart does, as a test: a master, three sites (one following
// another), a host mount per site, and a real application.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/testing.h"
#include "tests/testing/trees.h"

namespace vms {
namespace {

using nlohmann::json;
using testing::FuseProcess;
using testing::MasterProcess;
using testing::ReplicaProcess;
using testing::RunResult;
using testing::TempDir;
using testing::WaitFor;
using testing::WriteFile;

namespace fs = std::filesystem;

class EndToEndTest : public ::testing::Test {
 protected:
  EndToEndTest() : master_(dir_ / "master") {
    for (const char* site : {"ny", "ldn"}) {
      replicas_[site] =
          std::make_unique<ReplicaProcess>(site, master_.address(), master_.pub(), dir_ / site);
    }
    // tky reports through ldn: an admin adds it first.
    RunResult added = Vms({"sites", "add", "tky"});
    EXPECT_EQ(added.exit_code, 0) << added.err;
    replicas_["tky"] = std::make_unique<ReplicaProcess>("tky", replicas_["ldn"]->address(),
                                                        master_.pub(), dir_ / "tky");
    EXPECT_TRUE(WaitFor([&] { return json::parse(Vms({"sites", "--json"}).out).size() == 3; }));
    for (const auto& [site, replica] : replicas_) {
      std::string replicas = replica->address();
      for (const auto& [other, r] : replicas_) {
        if (other != site) replicas += "," + r->address();
      }
      mounts_[site] = std::make_unique<FuseProcess>(
          Dist(site),
          std::vector<std::string>{"--replicas", replicas, "--cache", dir_ / (site + "-cache"),
                                   "--trust", master_.pub()},
          dir_ / (site + "-fuse.log"));
    }
  }

  std::string Dist(const std::string& site) const { return dir_ / (site + "/dist"); }
  RunResult Vms(std::vector<std::string> args,
                std::chrono::seconds timeout = std::chrono::seconds(300)) {
    args.insert(args.begin(), {testing::CliBin(), "--master", master_.address()});
    return testing::Run(args, {.env = {{"HOME", dir_ / "home"}}, .timeout = timeout});
  }
  bool WaitLive(const std::string& site, const std::string& app, const std::string& version) {
    return WaitFor([&] {
      std::error_code ec;
      return fs::read_symlink(Dist(site) + "/" + app, ec).string() == app + "@" + version;
    });
  }

  TempDir dir_;
  MasterProcess master_;
  std::map<std::string, std::unique_ptr<ReplicaProcess>> replicas_;
  std::map<std::string, std::unique_ptr<FuseProcess>> mounts_;
};

TEST_F(EndToEndTest, ThreeSitesPushFlipRollback) {
  for (const char* v : {"1.0", "1.1"}) {
    WriteFile(dir_ / ("dev/hello/" + std::string(v) + "/bin/hello"),
              "#!/bin/sh\necho hello " + std::string(v) + "\n", 0755);
  }
  RunResult push = Vms({"push", "hello", "1.0", dir_ / "dev/hello/1.0"});
  ASSERT_EQ(push.exit_code, 0) << push.err;
  EXPECT_NE(push.err.find("complete at all 3 sites"), std::string::npos) << push.err;
  ASSERT_EQ(Vms({"push", "hello", "1.1", dir_ / "dev/hello/1.1"}).exit_code, 0);
  RunResult live = Vms({"live", "hello", "1.0", "--wait"});
  ASSERT_EQ(live.exit_code, 0) << live.err;
  for (const char* site : {"ny", "ldn", "tky"}) {
    EXPECT_NE(live.out.find(std::string(site) + ": applied in"), std::string::npos) << live.out;
  }
  for (const char* site : {"ny", "ldn", "tky"}) {
    ASSERT_TRUE(WaitLive(site, "hello", "1.0")) << site;
    EXPECT_EQ(testing::Run({Dist(site) + "/hello/bin/hello"}).out, "hello 1.0\n") << site;
  }
  ASSERT_EQ(Vms({"live", "hello", "1.1", "--wait"}).exit_code, 0);
  for (const char* site : {"ny", "ldn", "tky"}) {
    ASSERT_TRUE(WaitLive(site, "hello", "1.1")) << site;
    EXPECT_EQ(testing::Run({Dist(site) + "/hello/bin/hello"}).out, "hello 1.1\n") << site;
  }
  ASSERT_EQ(Vms({"rollback", "hello", "--wait"}).exit_code, 0);
  ASSERT_TRUE(WaitLive("tky", "hello", "1.0"));
  EXPECT_EQ(testing::Run({Dist("tky") + "/hello/bin/hello"}).out, "hello 1.0\n");
}

// A Python installation to publish, from `python` (a path or a name in
// PATH). A system Python (prefix /usr: far too much to publish whole) has
// its interpreter and standard library copied under `scratch` into a prefix
// of their own: Python finds its prefix by looking for lib/pythonX.Y/os.py
// above its executable, so the copy runs as an installation of its own, from
// any place. A self-contained one (pyenv and the like) is taken as it is.
// "" when there is no such Python.
std::string PythonToPublish(const std::string& python, const std::string& scratch) {
  RunResult r = testing::Run({"/bin/sh", "-c",
                              python + " -c 'import sys, sysconfig; print(sys.prefix); "
                                       "print(sys.executable); "
                                       "print(sysconfig.get_paths()[\"stdlib\"])'"});
  if (r.exit_code != 0) return "";
  std::vector<std::string> lines;
  for (size_t at = 0, nl; (nl = r.out.find('\n', at)) != std::string::npos; at = nl + 1) {
    lines.push_back(r.out.substr(at, nl - at));
  }
  if (lines.size() != 3) return "";
  const std::string& prefix = lines[0];
  if (prefix != "/usr" && prefix != "/usr/local") {
    return fs::exists(prefix + "/bin/python3") ? fs::canonical(prefix).string() : "";
  }
  const fs::path stdlib = lines[2];
  fs::create_directories(scratch + "/bin");
  fs::create_directories(scratch + "/lib");
  fs::copy_file(fs::canonical(lines[1]), scratch + "/bin/python3");
  fs::copy(stdlib, scratch + "/lib/" + stdlib.filename().string(),
           fs::copy_options::recursive | fs::copy_options::copy_symlinks);
  return scratch;
}

TEST_F(EndToEndTest, PublishesARealPythonAndRunsItFromAnotherSite) {
  // The system's (ops/install-deps installs it; 60 MB), else whichever
  // python3 comes first in PATH.
  std::string prefix = PythonToPublish("/usr/bin/python3", dir_ / "python");
  if (prefix.empty()) prefix = PythonToPublish("python3", dir_ / "python");
  ASSERT_FALSE(prefix.empty()) << "no python3 on this machine: ops/install-deps installs one";
  RunResult push = Vms({"push", "python", "1", prefix, "--no-stat-cache"});
  ASSERT_EQ(push.exit_code, 0) << push.err;
  ASSERT_EQ(Vms({"live", "python", "1", "--wait"}).exit_code, 0);
  ASSERT_TRUE(WaitLive("ldn", "python", "1"));

  // Run through a site other than the first, after a flip. A pyenv-style
  // interpreter has a RUNPATH to where it was built; LD_LIBRARY_PATH, which
  // comes first, makes it load its libpython from /dist too.
  std::string dist_python = Dist("ldn") + "/python";
  RunResult run = testing::Run(
      {dist_python + "/bin/python3", "-c",
       "import json, ssl, sqlite3, sys, _ssl, _sqlite3\n"
       "where = lambda m: getattr(m, '__file__', sys.prefix)  # built in: part of python3\n"
       "maps = [l.split()[-1] for l in open('/proc/self/maps') if 'libpython' in l]\n"
       "print(json.dumps([sys.prefix, ssl.OPENSSL_VERSION != '', sqlite3.sqlite_version != '',\n"
       "                  where(_ssl), where(_sqlite3), sorted(set(maps))]))"},
      {.env = {{"LD_LIBRARY_PATH", dist_python + "/lib"}}});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  json out = json::parse(run.out);
  EXPECT_TRUE(out[0].get<std::string>().starts_with(dist_python))
      << "the interpreter runs from /dist: " << out[0];
  EXPECT_TRUE(out[1]);
  EXPECT_TRUE(out[2]);
  EXPECT_TRUE(out[3].get<std::string>().starts_with(dist_python)) << out[3];
  EXPECT_TRUE(out[4].get<std::string>().starts_with(dist_python)) << out[4];
  for (const auto& lib : out[5]) {  // none when libpython is linked in statically
    EXPECT_TRUE(lib.get<std::string>().starts_with(dist_python)) << lib;
  }

  // A second version (the same tree, hard-linked, plus one module), flipped.
  std::string v2 = dir_ / "python-v2";
  RunResult copy = testing::Run({"/bin/cp", "-al", prefix, v2});
  if (copy.exit_code != 0) copy = testing::Run({"/bin/cp", "-a", prefix, v2});
  ASSERT_EQ(copy.exit_code, 0) << copy.err;
  RunResult site_dir = testing::Run(
      {prefix + "/bin/python3", "-c", "import sysconfig; print(sysconfig.get_paths()['stdlib'])"});
  std::string stdlib = site_dir.out.substr(0, site_dir.out.find('\n'));
  ASSERT_TRUE(stdlib.starts_with(prefix)) << stdlib;
  WriteFile(v2 + stdlib.substr(prefix.size()) + "/vms_e2e_marker.py", "VERSION = 2\n");
  RunResult push2 = Vms({"push", "python", "2", v2});
  ASSERT_EQ(push2.exit_code, 0) << push2.err;
  ASSERT_EQ(Vms({"live", "python", "2", "--wait"}).exit_code, 0);
  ASSERT_TRUE(WaitLive("tky", "python", "2"));
  RunResult new_one = testing::Run({Dist("tky") + "/python/bin/python3", "-c",
                                    "import vms_e2e_marker; print(vms_e2e_marker.VERSION)"});
  EXPECT_EQ(new_one.out, "2\n") << new_one.err;
  RunResult old_one =
      testing::Run({Dist("tky") + "/python@1/bin/python3", "-c", "import vms_e2e_marker"});
  EXPECT_NE(old_one.exit_code, 0) << "version 1 is still there, unchanged";

  // Byte for byte, through a host mount.
  EXPECT_EQ(testing::DiffTrees(prefix, Dist("ny") + "/python@1"), "");
}

}  // namespace
}  // namespace vms
