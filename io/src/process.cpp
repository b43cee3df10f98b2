#include <weft/io/ops.hpp>
#include <weft/io/process.hpp>

#include "errno_result.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

extern char** environ;

namespace weft::io {
namespace {


int pidfd_open(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

// reap: waitid on the pidfd without blocking; nullopt while the child runs.
Result<std::optional<ExitStatus>> reap(int pidfd) {
  siginfo_t info{};
  if (::waitid(P_PIDFD, static_cast<id_t>(pidfd), &info, WEXITED | WNOHANG) != 0) return fail(errno_error());
  if (info.si_pid == 0) return std::optional<ExitStatus>{};
  ExitStatus st;
  if (info.si_code == CLD_EXITED) {
    st.code = info.si_status;
  } else {
    st.signal = info.si_status;
  }
  return std::optional<ExitStatus>{st};
}

}  // namespace

Process::Process(Process&& o) noexcept
    : pid_(std::exchange(o.pid_, -1)),
      pidfd_(std::exchange(o.pidfd_, -1)),
      stdin_(std::move(o.stdin_)),
      stdout_(std::move(o.stdout_)),
      stderr_(std::move(o.stderr_)) {}

Process& Process::operator=(Process&& o) noexcept {
  if (this != &o) {
    reset();
    pid_ = std::exchange(o.pid_, -1);
    pidfd_ = std::exchange(o.pidfd_, -1);
    stdin_ = std::move(o.stdin_);
    stdout_ = std::move(o.stdout_);
    stderr_ = std::move(o.stderr_);
  }
  return *this;
}

Process::~Process() { reset(); }

void Process::reset() noexcept {
  if (pidfd_ >= 0) {
    // Not waited for: kill and reap so no zombie is left (blocking, but SIGKILL is immediate).
    ::kill(pid_, SIGKILL);
    siginfo_t info{};
    ::waitid(P_PIDFD, static_cast<id_t>(pidfd_), &info, WEXITED);
    ::close(pidfd_);
  }
  pidfd_ = -1;
  pid_ = -1;
}

Result<Process> Process::spawn(const std::vector<std::string>& argv, const ProcessOptions& options) {
  if (argv.empty()) return fail(std::errc::invalid_argument);
  Process p;
  Pipe child_in, child_out, child_err;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  struct Cleanup {
    posix_spawn_file_actions_t* a;
    ~Cleanup() { posix_spawn_file_actions_destroy(a); }
  } cleanup{&actions};
  auto plumb = [&](bool wanted, int target, bool child_reads, Pipe& ours, Pipe& theirs) -> Result<void> {
    if (!wanted) return {};
    auto pair = Pipe::create();
    if (!pair) return fail(pair.error());
    auto& [r, w] = *pair;
    ours = child_reads ? std::move(w) : std::move(r);
    theirs = child_reads ? std::move(r) : std::move(w);
    posix_spawn_file_actions_adddup2(&actions, theirs.fd(), target);  // dup2 clears O_CLOEXEC
    return {};
  };
  if (auto r = plumb(options.pipe_stdin, STDIN_FILENO, true, p.stdin_, child_in); !r) return fail(r.error());
  if (auto r = plumb(options.capture_stdout, STDOUT_FILENO, false, p.stdout_, child_out); !r) return fail(r.error());
  if (auto r = plumb(options.capture_stderr, STDERR_FILENO, false, p.stderr_, child_err); !r) return fail(r.error());

  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<char*> envp;
  if (options.env) {
    for (const auto& e : *options.env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
  }
  pid_t pid = -1;
  const int rc = ::posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), options.env ? envp.data() : environ);
  if (rc != 0) return fail(errno_error(rc));
  p.pid_ = pid;
  p.pidfd_ = pidfd_open(pid);
  if (p.pidfd_ < 0) {
    const auto ec = errno_error();
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    p.pid_ = -1;
    return fail(ec);
  }
  ::fcntl(p.pidfd_, F_SETFD, FD_CLOEXEC);
  return p;
}

Result<ExitStatus> Process::wait() {
  if (pidfd_ < 0) return fail(std::errc::no_child_process);
  for (;;) {
    auto done = reap(pidfd_);
    if (!done) return fail(done.error());
    if (*done) {
      ::close(std::exchange(pidfd_, -1));
      return **done;
    }
    // The pidfd becomes readable when the child exits.
    if (auto r = io::poll(pidfd_, POLLIN); !r) return fail(r.error());
  }
}

Result<void> Process::kill(int sig) {
  if (pidfd_ < 0) return fail(std::errc::no_child_process);
  if (::syscall(SYS_pidfd_send_signal, pidfd_, sig, nullptr, 0) != 0) return fail(errno_error());
  return {};
}

}  // namespace weft::io
