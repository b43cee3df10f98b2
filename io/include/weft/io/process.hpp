// weft/io/process.hpp: child processes for fibers: spawn with argv/env/stdio pipes, wait for exit.
//
// Process::spawn starts a program (posix_spawnp) with optional pipes to its stdin/stdout/stderr.
// wait() suspends only the calling fiber until the child exits: it polls the child's pidfd on the
// worker's ring (IORING_OP_WAITID needs a newer liburing than Debian 12's) and then reaps it with
// waitid(P_PIDFD). A Process that is destroyed without wait() kills (SIGKILL) and reaps its child,
// so no zombie is left behind.
//
// Thread-safety: one fiber waits at a time; the pipes are Pipe ends usable from other fibers.
//
//   auto p = weft::io::Process::spawn({"sh", "-c", "echo hi"}, {.capture_stdout = true}).value();
//   std::string out = p.stdout_pipe().read_to_end().value();
//   int code = p.wait().value().code;   // 0
#pragma once

#include <weft/io/pipe.hpp>
#include <weft/sched/error.hpp>

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace weft::io {

// ExitStatus: how a child ended: exited with `code`, or killed by `signal` (then code is -1).
struct ExitStatus {
  int code = -1;
  int signal = 0;
  bool success() const noexcept { return code == 0; }
};

struct ProcessOptions {
  bool pipe_stdin = false;      // the child's stdin is a pipe (stdin_pipe() writes to it)
  bool capture_stdout = false;  // the child's stdout is a pipe (stdout_pipe() reads from it)
  bool capture_stderr = false;
  // env: the child's environment as "NAME=value"; nullopt inherits ours.
  std::optional<std::vector<std::string>> env;
};

class Process {
 public:
  Process() noexcept = default;
  Process(Process&& o) noexcept;
  Process& operator=(Process&& o) noexcept;
  ~Process();  // kills and reaps a child not yet waited for

  // spawn: starts argv[0] (searched in PATH) with argv. Errors: std::errc::invalid_argument for
  // an empty argv, ENOENT/EACCES when the program cannot be run, EMFILE/EAGAIN for resources.
  static Result<Process> spawn(const std::vector<std::string>& argv, const ProcessOptions& options = {});

  // wait: suspends until the child exits; returns its status. Cancellation point
  // (errc::cancelled; the child keeps running and can be waited for again).
  Result<ExitStatus> wait();
  // kill: sends `sig` to the child (if it has not been reaped).
  Result<void> kill(int sig);

  pid_t pid() const noexcept { return pid_; }
  Pipe& stdin_pipe() noexcept { return stdin_; }
  Pipe& stdout_pipe() noexcept { return stdout_; }
  Pipe& stderr_pipe() noexcept { return stderr_; }

 private:
  void reset() noexcept;
  pid_t pid_ = -1;
  int pidfd_ = -1;
  Pipe stdin_, stdout_, stderr_;
};

}  // namespace weft::io
