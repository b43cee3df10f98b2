// Pipe and Process: pipes between fibers, EPIPE instead of a fatal SIGPIPE, child processes with
// captured output, exit codes and signals, environment, concurrent children, kill, errors.
#include <weft/io/pipe.hpp>
#include <weft/io/process.hpp>

#include "support/test_support.hpp"

#include <signal.h>

#include <string>
#include <vector>

namespace weft {
namespace {

using io::Pipe;
using io::Process;

std::span<const std::byte> bytes(std::string_view s) { return std::as_bytes(std::span(s.data(), s.size())); }

class IoProcess : public test::WorkerCountTest {};

TEST_P(IoProcess, PipeBetweenFibersAndEpipe) {
  Runtime rt{config()};
  rt.block_on([] {
    auto [r, w] = Pipe::create().value();
    auto reader = spawn([r = std::move(r)]() mutable { return r.read_to_end().value(); });
    w.write_all(bytes("through the pipe")).value();
    w.close().value();
    EXPECT_EQ(reader.join(), "through the pipe");

    auto [r2, w2] = Pipe::create().value();
    r2.close().value();
    auto broken = w2.write(bytes("x"));  // no reader: EPIPE, and the process lives on
    ASSERT_FALSE(broken);
    EXPECT_EQ(broken.error(), std::errc::broken_pipe);
  });
}

TEST_P(IoProcess, CapturesOutputAndExitCodes) {
  Runtime rt{config()};
  rt.block_on([] {
    auto p = Process::spawn({"sh", "-c", "echo out; echo err >&2; exit 3"},
                            {.capture_stdout = true, .capture_stderr = true, .env = std::nullopt})
                 .value();
    auto err = spawn([&p] { return p.stderr_pipe().read_to_end().value(); });
    EXPECT_EQ(p.stdout_pipe().read_to_end().value(), "out\n");
    EXPECT_EQ(err.join(), "err\n");
    auto st = p.wait().value();
    EXPECT_EQ(st.code, 3);
    EXPECT_FALSE(st.success());
    auto again = p.wait();
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error(), std::errc::no_child_process);
  });
}

TEST_P(IoProcess, StdinEnvAndSignals) {
  Runtime rt{config()};
  rt.block_on([] {
    auto cat = Process::spawn({"cat"}, {.pipe_stdin = true, .capture_stdout = true, .env = std::nullopt}).value();
    cat.stdin_pipe().write_all(bytes("echo me")).value();
    cat.stdin_pipe().close().value();
    EXPECT_EQ(cat.stdout_pipe().read_to_end().value(), "echo me");
    EXPECT_TRUE(cat.wait().value().success());

    auto env = Process::spawn({"sh", "-c", "printf %s \"$WEFT_TEST\""},
                              {.capture_stdout = true, .env = std::vector<std::string>{"WEFT_TEST=42"}})
                   .value();
    EXPECT_EQ(env.stdout_pipe().read_to_end().value(), "42");
    EXPECT_TRUE(env.wait().value().success());

    auto sleeper = Process::spawn({"sleep", "60"}).value();
    sleeper.kill(SIGTERM).value();
    auto st = sleeper.wait().value();
    EXPECT_EQ(st.signal, SIGTERM);
    EXPECT_EQ(st.code, -1);
  });
}

TEST_P(IoProcess, ManyChildrenConcurrently) {
  Runtime rt{config()};
  const int n = 16;
  std::vector<JoinHandle<int>> hs;
  for (int i = 0; i < n; ++i) {
    hs.push_back(rt.spawn([i] {
      auto p = Process::spawn({"sh", "-c", "exit " + std::to_string(i)}).value();
      return p.wait().value().code;
    }));
  }
  for (int i = 0; i < n; ++i) EXPECT_EQ(hs[i].join(), i);
}

TEST_P(IoProcess, ErrorsAndCancelledWait) {
  Runtime rt{config()};
  rt.block_on([] {
    auto missing = Process::spawn({"/nonexistent/weft-program"});
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error(), std::errc::no_such_file_or_directory);
    auto empty = Process::spawn({});
    ASSERT_FALSE(empty);
    EXPECT_EQ(empty.error(), std::errc::invalid_argument);
  });
  auto p = std::make_shared<Process>(Process::spawn({"sleep", "60"}).value());
  auto waiter = rt.spawn([p] { return p->wait(); });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  waiter.cancel();
  auto r = waiter.join();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::cancelled);
  // The child still runs; ~Process kills and reaps it.
}

INSTANTIATE_WORKER_COUNTS(IoProcess);

}  // namespace
}  // namespace weft
