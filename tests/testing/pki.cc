#include "tests/testing/pki.h"

#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <mutex>
#include <stdexcept>

#include "tests/testing/testing.h"
#include "tools/pki/pki.h"

namespace vms::testing {

namespace fs = std::filesystem;

namespace {
std::mutex mu;
std::string* pki_dir = new std::string;  // for the exit handler
}  // namespace

TestPki::TestPki() {
  std::string tmpl = (fs::temp_directory_path() / "vms-test-pki-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  fs::permissions(dir_, fs::perms(0755));  // tests may run a command as another user
  if (absl::Status s = pki::InitCa(dir_); !s.ok())
    throw std::runtime_error(std::string(s.message()));
}

TestPki& TestPki::Get() {
  // Never destroyed (daemons may still read it while the process exits);
  // the directory goes at exit.
  static TestPki* pki = [] {
    auto* p = new TestPki();
    *pki_dir = p->dir();
    atexit([] {
      std::error_code ec;
      fs::remove_all(*pki_dir, ec);
    });
    return p;
  }();
  return *pki;
}

CertFiles TestPki::Files(const std::string& kind, const std::string& name) {
  std::lock_guard<std::mutex> lock(mu);
  CertFiles files{ca(), dir_ + "/" + kind + "-" + name + ".crt",
                  dir_ + "/" + kind + "-" + name + ".key"};
  if (!fs::exists(files.cert)) {
    auto issued = pki::Issue(dir_, kind, name);
    if (!issued.ok()) throw std::runtime_error(std::string(issued.status().message()));
    // Readable by a test's other user (keys are 0600 by default).
    fs::permissions(files.key, fs::perms(0644));
  }
  return files;
}

std::vector<std::string> TestPki::Flags(const std::string& kind, const std::string& name) {
  CertFiles f = Files(kind, name);
  return {"--tls-ca", f.ca, "--tls-cert", f.cert, "--tls-key", f.key};
}

std::string TestPki::UserDir(const std::string& name) {
  CertFiles f = Files("user", name);
  std::string dir = dir_ + "/tls-user-" + name;
  std::lock_guard<std::mutex> lock(mu);
  if (!fs::exists(dir + "/cert.key")) {
    fs::create_directories(dir + ".tmp");
    fs::copy_file(f.ca, dir + ".tmp/ca.crt", fs::copy_options::overwrite_existing);
    fs::copy_file(f.cert, dir + ".tmp/cert.crt", fs::copy_options::overwrite_existing);
    fs::copy_file(f.key, dir + ".tmp/cert.key", fs::copy_options::overwrite_existing);
    fs::rename(dir + ".tmp", dir);
  }
  return dir;
}

std::vector<std::string> WithTestIdentity(const std::vector<std::string>& argv) {
  if (argv.empty()) return argv;
  for (const std::string& a : argv) {
    if (a == "--insecure" || (a.starts_with("--tls-") && a != "--tls-revoked")) return argv;
  }
  std::vector<std::string> out = argv;
  auto append = [&](const std::vector<std::string>& more) {
    out.insert(out.end(), more.begin(), more.end());
  };
  if (argv[0] == MasterBin()) {
    append(TestPki::Get().Flags("master", "main"));
    if (std::find(argv.begin(), argv.end(), "--admins") == argv.end()) {
      append({"--admins", "admin"});
    }
  } else if (argv[0] == ReplicaBin()) {
    auto site = std::find(argv.begin(), argv.end(), "--site");
    if (site != argv.end() && site + 1 != argv.end()) {
      try {
        append(TestPki::Get().Flags("site", site[1]));
      } catch (const std::exception&) {
        // A name no certificate can carry: the test is about that name.
      }
    }
  } else if (argv[0] == FuseBin()) {
    append(TestPki::Get().Flags("host", "test"));
  }
  return out;
}

}  // namespace vms::testing
