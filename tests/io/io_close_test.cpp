// Fd numbers reused after a close, the same on both backends (issue 21): a new file that gets the
// number of one closed while a wait on it had just ended works.
#include <weft/io/ops.hpp>

#include "support/test_support.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>

namespace weft {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Generous: a deadline the operation must not need (a missed wake-up fails instead of hanging).
Clock::time_point far_deadline() { return Clock::now() + 30s; }

template <class R>
std::error_code error_of(const Result<R>& r) {
  return r ? std::error_code() : r.error();
}

class IoClose : public test::WorkerCountTest {};

// Fd numbers reused after a close (epoll kept per-number state that outlived the file). Each
// round: a receive that times out or is cancelled leaves its fd's registration behind; the pair
// is closed (by that fiber, in a cancelled task or not, on whichever worker it ended on); a new
// pair gets the same numbers, and a receive on it must get the data sent to it.
TEST_P(IoClose, ReusedFdNumbersGetTheirWakeUps) {
  Runtime rt{config()};
  rt.block_on([] {
    const std::size_t rounds = test::scaled(200);
    std::size_t reused = 0;
    for (std::size_t i = 0; i < rounds; ++i) {
      int a[2];
      ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, a), 0);
      const bool cancel = i % 2 == 0;
      std::atomic<bool> receiving{false};
      auto idle = spawn([&] {
        std::array<std::byte, 1> b{};
        receiving.store(true);
        // Ends by itself (deadline) or by the cancel: never by data.
        auto r = io::recv_until(a[0], b, cancel ? far_deadline() : Clock::now() + 20ms);
        EXPECT_TRUE(io::close(a[0]));
        EXPECT_TRUE(io::close(a[1]));
        return error_of(r);
      });
      while (!receiving.load()) this_fiber::yield();
      if (cancel) {
        // Most often the receive waits by now; if not, it starts cancelled, and the round only
        // tests less (the verdict below does not depend on it).
        (void)sleep_for(5ms);
        idle.cancel();
      }
      const std::error_code ended = idle.join();
      EXPECT_EQ(ended, cancel ? make_error_code(errc::cancelled) : std::make_error_code(std::errc::timed_out)) << i;

      int b[2];
      ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, b), 0);
      if (b[0] == a[0] || b[1] == a[0]) ++reused;
      std::atomic<bool> waiting{false};
      auto reader = spawn([&] {
        std::array<std::byte, 4> buf{};
        waiting.store(true);
        return io::recv_until(b[0], buf, far_deadline());
      });
      while (!waiting.load()) this_fiber::yield();
      (void)sleep_for(1ms);  // most often it waits by now (else the data is there at once)
      ASSERT_EQ(::send(b[1], "ping", 4, MSG_NOSIGNAL), 4);
      auto got = reader.join();
      EXPECT_TRUE(io::close(b[0]));
      EXPECT_TRUE(io::close(b[1]));
      ASSERT_TRUE(got) << "round " << i << ": " << got.error().message();  // stops at the first miss
      ASSERT_EQ(*got, 4u) << "round " << i;
    }
    EXPECT_GT(reused, rounds / 2) << "the new pairs should get the numbers just closed";
  });
}

INSTANTIATE_WORKER_COUNTS(IoClose);

}  // namespace
}  // namespace weft
