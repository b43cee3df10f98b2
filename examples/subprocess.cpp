// subprocess: runs shell commands as concurrent child processes and collects what they print and
// how they end.
//
//   subprocess [--timeout-ms 10000] [--workers N] [COMMAND...]
//
// Each COMMAND runs as `sh -c COMMAND` (a built-in set when none are given). What it shows: one
// fiber per child, written as sequential code (spawn, read its output, wait for it), while all
// children run at once; two fibers per child read its stdout and stderr, because a child that
// fills one pipe while we wait on the other would otherwise block forever. Every wait has the
// same deadline: past --timeout-ms the child is killed (SIGKILL) and reported as timed out.
//
// Prints, in command-line order, each command's exit status, time, stdout and stderr (each
// capped at 64 KiB), then a summary. Exits 0 when every command exited 0, 1 otherwise, 2 on bad
// flags.
#include "flags.hpp"

#include <weft/weft.hpp>

#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
constexpr std::size_t kMaxCapture = 64 * 1024;

struct Output {
  std::string text;
  bool truncated = false;  // more than kMaxCapture bytes came
  bool still_open = false;  // the deadline passed with the pipe still open
};

struct Outcome {
  std::string command;
  std::string spawn_error;  // non-empty when the child could not be started
  weft::io::ExitStatus status;
  bool timed_out = false;
  Output out, err;
  double seconds = 0;
};

// read_all: everything from a pipe until every writer closed it, or until `deadline` (a child's
// own children may keep the pipe open after it died). Keeps the first kMaxCapture bytes.
Output read_all(int fd, Clock::time_point deadline) {
  Output o;
  std::array<std::byte, 16 * 1024> buf;
  for (;;) {
    auto n = weft::io::read_until(fd, buf, deadline);
    if (!n) o.still_open = n.error() == std::errc::timed_out;
    if (!n || *n == 0) return o;  // end, deadline, error or cancellation: what we have is the answer
    const auto keep = std::min(*n, kMaxCapture - o.text.size());
    o.text.append(reinterpret_cast<const char*>(buf.data()), keep);
    o.truncated = o.truncated || keep < *n;
  }
}

// wait_until: waits for the child to exit, killing it at `deadline`. Process::wait() has no
// deadline form, so this polls a pidfd of our own (readable once the child has exited) with one;
// the pid cannot be reused meanwhile because nobody has reaped the child yet.
weft::Result<weft::io::ExitStatus> wait_until(weft::io::Process& p, Clock::time_point deadline, bool& timed_out) {
  weft::io::OwnedFd pidfd{static_cast<int>(::syscall(SYS_pidfd_open, p.pid(), 0))};
  if (pidfd) {
    auto ready = weft::io::poll_until(pidfd.get(), POLLIN, deadline);
    if (!ready && ready.error() == std::errc::timed_out) {
      timed_out = true;
      (void)p.kill(SIGKILL);
    }
  }
  return p.wait();
}

Outcome run(std::string command, std::chrono::milliseconds timeout) {
  Outcome r;
  r.command = std::move(command);
  const auto t0 = Clock::now();
  const auto deadline = t0 + timeout;
  weft::io::ProcessOptions options;
  options.capture_stdout = true;
  options.capture_stderr = true;
  auto child = weft::io::Process::spawn({"sh", "-c", r.command}, options);
  if (!child) {
    r.spawn_error = child.error().message();
    return r;
  }
  auto err = weft::spawn(read_all, child->stderr_pipe().fd(), deadline);  // joined below, before `child` goes
  r.out = read_all(child->stdout_pipe().fd(), deadline);
  auto status = wait_until(*child, deadline, r.timed_out);
  r.err = err.join();
  if (status) r.status = *status;
  else r.spawn_error = "wait failed: " + status.error().message();
  r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return r;
}

void print_stream(const char* name, const Output& o) {
  if (o.text.empty()) return;
  std::string_view rest = o.text;
  while (!rest.empty()) {
    const auto eol = rest.find('\n');
    std::printf("    %s| %.*s\n", name, static_cast<int>(rest.substr(0, eol).size()), rest.data());
    rest = eol == std::string_view::npos ? std::string_view{} : rest.substr(eol + 1);
  }
  if (o.truncated) std::printf("    %s| [cut at %zu KiB]\n", name, kMaxCapture / 1024);
}

bool succeeded(const Outcome& o) { return o.spawn_error.empty() && !o.timed_out && o.status.success(); }

void print(std::size_t i, const Outcome& o) {
  std::printf("[%zu] ", i + 1);
  if (!o.spawn_error.empty()) std::printf("could not run (%s)", o.spawn_error.c_str());
  else if (o.timed_out) std::printf("timed out, killed");
  else if (o.status.signal != 0) std::printf("killed by signal %d (%s)", o.status.signal, strsignal(o.status.signal));
  else std::printf("exit %d", o.status.code);
  std::printf(" in %.0f ms: %s\n", o.seconds * 1000, o.command.c_str());
  print_stream("out", o.out);
  print_stream("err", o.err);
  if (!o.timed_out && (o.out.still_open || o.err.still_open))
    std::printf("    note: its output was still open at the timeout (a process it started holds it)\n");
}

}  // namespace

int main(int argc, char** argv) {
  auto commands = weft::examples::positional(argc, argv, {"--timeout-ms", "--workers"});
  const std::chrono::milliseconds timeout(weft::examples::flag(argc, argv, "--timeout-ms", 10000));
  const auto workers = static_cast<unsigned>(weft::examples::flag(argc, argv, "--workers", 0));
  if (timeout.count() == 0) {
    std::fprintf(stderr, "subprocess: --timeout-ms must be > 0\n");
    return 2;
  }
  if (commands.empty()) {
    commands = {"echo hello from a child", "uname -s", "sleep 0.3; echo slept 300 ms",
                "ls /nonexistent-weft-dir", "echo partial; exit 3"};
  }

  weft::Runtime rt{weft::Config{.workers = workers}};
  const auto t0 = Clock::now();
  std::vector<weft::JoinHandle<Outcome>> children;
  for (auto& c : commands) children.push_back(rt.spawn(run, c, timeout));
  std::vector<Outcome> outcomes;
  for (auto& h : children) outcomes.push_back(h.join());
  const double total = std::chrono::duration<double>(Clock::now() - t0).count();

  double longest = 0;
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    print(i, outcomes[i]);
    longest = std::max(longest, outcomes[i].seconds);
  }
  const auto ok = static_cast<std::size_t>(std::ranges::count_if(outcomes, succeeded));
  std::printf("subprocess: %zu commands, %zu succeeded, %zu failed, in %.0f ms (the longest alone took %.0f ms)\n",
              outcomes.size(), ok, outcomes.size() - ok, total * 1000, longest * 1000);
  return ok == outcomes.size() ? 0 : 1;
}
