#include "core/process.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "core/file_util.h"
#include "core/strings.h"

namespace vms {

absl::StatusOr<int> RunQuietly(const std::vector<std::string>& argv) {
  if (argv.empty()) return absl::InvalidArgumentError("no program to run");
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0) return ErrnoError(errno, StrCat("cannot start ", argv[0]));
  if (pid == 0) {
    int null = open("/dev/null", O_WRONLY);
    if (null >= 0) {
      dup2(null, 1);
      dup2(null, 2);
    }
    execvp(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return ErrnoError(errno, StrCat("cannot wait for ", argv[0]));
  }
  if (WIFEXITED(status)) {
    if (WEXITSTATUS(status) == 127) {
      return absl::UnavailableError(StrCat("cannot run ", argv[0], " (is it installed?)"));
    }
    return WEXITSTATUS(status);
  }
  return 128 + WTERMSIG(status);
}

}  // namespace vms
