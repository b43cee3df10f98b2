// Choosing the IO backend: Config::backend, the WEFT_BACKEND override, rt.backend(), the automatic
// fallback when io_uring is refused (and its one log line), and a clear error when a backend named
// explicitly is unavailable or unknown.
#include "support/seccomp_filter.hpp"
#include "support/test_support.hpp"

#include <weft/io/backend.hpp>
#include <weft/io/ops.hpp>
#include <weft/io/uring_driver.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>

namespace weft {
namespace {

bool io_uring_usable() {
  try {
    io::make_uring_driver(io::UringOptions{.entries = 4});
    return true;
  } catch (const std::system_error&) {
    return false;  // refused here (e.g. the suite runs under weft_seccomp_run)
  }
}

// expected_backend: what `requested` must resolve to, given this test's WEFT_BACKEND.
Backend expected_backend(Backend requested) {
  if (const char* env = std::getenv("WEFT_BACKEND"); env && *env) requested = *io::parse_backend(env);
  if (requested == Backend::automatic) return io_uring_usable() ? Backend::io_uring : Backend::epoll;
  return requested;
}

// pipe_round_trip: a write and a read through the runtime's IO, to prove the backend works.
bool pipe_round_trip(Runtime& rt) {
  return rt.block_on([] {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) return false;
    const std::byte out[3] = {std::byte{1}, std::byte{2}, std::byte{3}};
    std::byte in[3]{};
    const bool ok = io::write(p[1], out).value() == 3 && io::read(p[0], in).value() == 3 && in[2] == std::byte{3};
    ::close(p[0]);
    ::close(p[1]);
    return ok;
  });
}

TEST(RuntimeBackend, ConfigChoosesUnlessTheEnvironmentOverrides) {
  for (Backend b : {Backend::automatic, Backend::io_uring, Backend::epoll}) {
    if (expected_backend(b) == Backend::io_uring && !io_uring_usable()) {
      EXPECT_THROW(Runtime(Config{.workers = 1, .backend = b}), std::system_error);
      continue;
    }
    Runtime rt{Config{.workers = 2, .backend = b}};
    EXPECT_EQ(rt.backend(), expected_backend(b)) << io::to_string(b);
    EXPECT_TRUE(pipe_round_trip(rt)) << io::to_string(rt.backend());
  }
}

TEST(RuntimeBackend, NamesRoundTrip) {
  for (Backend b : {Backend::automatic, Backend::io_uring, Backend::epoll}) {
    EXPECT_EQ(io::parse_backend(io::to_string(b)), b);
  }
  EXPECT_EQ(io::parse_backend("uring"), Backend::io_uring);
  EXPECT_FALSE(io::parse_backend("kqueue"));
}

TEST(RuntimeBackend, UnknownEnvironmentValueIsAClearError) {
  ::setenv("WEFT_BACKEND", "kqueue", 1);
  try {
    Runtime rt{Config{.workers = 1}};
    ADD_FAILURE() << "a Runtime started with WEFT_BACKEND=kqueue";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), std::errc::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("WEFT_BACKEND=kqueue"), std::string::npos) << e.what();
  }
}

// In a child process (a fresh probe), with io_uring refused by seccomp: automatic falls back to
// epoll and says why exactly once however many runtimes start; io_uring named explicitly fails
// with the errno. The child checks itself and reports through its exit status.
void refused_io_uring_child(int err) {
  ::unsetenv("WEFT_BACKEND");
  if (test::block_io_uring(err) != 0) std::_Exit(10);
  std::fflush(stderr);
  char path[] = "/tmp/weft-backend-log.XXXXXX";
  const int log = ::mkstemp(path);
  const int saved = ::dup(2);
  ::dup2(log, 2);
  int status = 0;
  for (int i = 0; i < 3; ++i) {
    Runtime rt{Config{.workers = 2}};
    if (rt.backend() != Backend::epoll) status = 11;
    if (!pipe_round_trip(rt)) status = 12;
  }
  try {
    Runtime rt{Config{.workers = 1, .backend = Backend::io_uring}};
    status = 13;
  } catch (const std::system_error& e) {
    if (e.code().value() != err) status = 14;
  }
  std::fflush(stderr);
  ::dup2(saved, 2);
  std::ifstream in(path);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ::unlink(path);
  std::size_t lines = 0;
  for (std::size_t at = 0; (at = text.find("using the epoll backend", at)) != std::string::npos; ++at) ++lines;
  const std::string reason = err == EPERM ? "Operation not permitted" : "Function not implemented";
  if (lines != 1 || text.find("io_uring_setup: " + reason) == std::string::npos) {
    std::fprintf(stderr, "log was: %s", text.c_str());
    status = 15;
  }
  std::_Exit(status);
}

TEST(RuntimeBackend, RefusedIoUringFallsBackToEpollAndSaysSoOnce) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");  // a fresh process: the probe runs again
  EXPECT_EXIT(refused_io_uring_child(EPERM), ::testing::ExitedWithCode(0), "");
  EXPECT_EXIT(refused_io_uring_child(ENOSYS), ::testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace weft
