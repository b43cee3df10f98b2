// Closing fds that fibers wait on, and fd numbers reused after a close, the same on both backends
// (issue 21): every close through weft ends the operations blocked on the fd with EBADF, whoever
// closes (a fiber on any worker, a plain thread), and a new file that gets the number works.
#include <weft/io/ops.hpp>
#include <weft/io/owned_fd.hpp>
#include <weft/io/pipe.hpp>
#include <weft/io/tcp.hpp>
#include <weft/io/udp.hpp>
#include <weft/io/uring_driver.hpp>

#include "support/test_support.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <thread>

namespace weft {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

const std::error_code kEbadf(EBADF, std::system_category());

// Generous: a deadline the operation must not need (a missed wake-up fails instead of hanging).
Clock::time_point far_deadline() { return Clock::now() + 30s; }

template <class R>
std::error_code error_of(const Result<R>& r) {
  return r ? std::error_code() : r.error();
}

// Subject: one fd to block on. `block(deadline)` blocks on it until the operation ends and returns
// its error (none when it succeeded); `close()` closes it through weft. The lambdas own what they
// use (shared_ptr), so the Subject outlives the fibers running them.
struct Subject {
  std::function<std::error_code(Clock::time_point)> block;
  std::function<Result<void>()> close;
};

enum class Closer { fiber, plain_thread };

class IoClose : public test::WorkerCountTest {
 protected:
  // expect_close_wakes: for both closers and, when `has_deadline`, with and without a deadline: a
  // fiber blocked by a fresh subject (from `open`, run in a fiber) ends with EBADF when the subject
  // is closed. The closer is the test's main thread (a plain thread) or a new fiber, on whichever
  // worker runs it.
  //
  // Why the settle time is not a race: the blocked fiber says it is about to block, and the main
  // thread gives it 20 ms to get there. Should it be slower, its operation starts after the close,
  // on a closed number, and fails with EBADF all the same: nothing opens an fd until the verdict,
  // so the number cannot name a new file under it. The time only decides which path is tested
  // (on a loaded machine, rarely the second), never the verdict.
  void expect_close_wakes(const std::function<Subject()>& open, bool has_deadline = true) {
    Runtime rt{config()};
    for (const Closer who : {Closer::fiber, Closer::plain_thread}) {
      for (const bool timed : {false, true}) {
        if (timed && !has_deadline) continue;
        SCOPED_TRACE(testing::Message() << (who == Closer::fiber ? "closed by a fiber" : "closed by a plain thread")
                                        << (timed ? ", with a deadline" : ", without a deadline"));
        Subject s = rt.block_on(open);
        std::atomic<bool> blocking{false}, ended{false};
        auto blocked = rt.spawn([&] {
          blocking.store(true);
          const std::error_code e = s.block(timed ? far_deadline() : Clock::time_point::max());
          ended.store(true);
          return e;
        });
        while (!blocking.load()) std::this_thread::yield();
        std::this_thread::sleep_for(20ms);  // see above: it decides the path, not the verdict
        if (who == Closer::plain_thread) {
          EXPECT_TRUE(s.close());
        } else {
          rt.block_on([&] { EXPECT_TRUE(s.close()); });
        }
        // Bounded: a close that does not wake it fails the test instead of hanging it.
        EXPECT_TRUE(test::eventually([&] { return ended.load(); }, 30s)) << "the close did not wake it";
        if (!ended.load()) blocked.cancel();
        EXPECT_EQ(blocked.join(), kEbadf);
      }
    }
  }
};

// A raw fd (io::read/recv/poll, closed by close_raw) with its other end owned alongside.
struct RawPair {
  int fd = -1;
  io::OwnedFd other;
};

// close_raw: io::close in a fiber; on a plain thread, which has no io::close (it needs a fiber),
// OwnedFd::close, the close under every IO type.
Result<void> close_raw(int fd) { return sched::current_task() ? io::close(fd) : io::OwnedFd(fd).close(); }

std::shared_ptr<RawPair> raw_pipe() {
  int p[2];
  EXPECT_EQ(::pipe2(p, O_CLOEXEC), 0);
  return std::make_shared<RawPair>(RawPair{p[0], io::OwnedFd(p[1])});
}

std::shared_ptr<RawPair> raw_socketpair(int type) {
  int s[2];
  EXPECT_EQ(::socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, s), 0);
  return std::make_shared<RawPair>(RawPair{s[0], io::OwnedFd(s[1])});
}

// The blocked end is closed first and the other end stays open: a read cannot end with end of
// file, only with the close.
TEST_P(IoClose, CloseWakesRead) {
  expect_close_wakes([] {
    auto p = raw_pipe();
    return Subject{[p](Clock::time_point d) {
                     std::array<std::byte, 8> buf{};
                     return error_of(io::read_until(p->fd, buf, d));
                   },
                   [p] { return close_raw(p->fd); }};
  });
}

TEST_P(IoClose, CloseWakesRecv) {
  expect_close_wakes([] {
    auto s = raw_socketpair(SOCK_STREAM);
    return Subject{[s](Clock::time_point d) {
                     std::array<std::byte, 8> buf{};
                     return error_of(io::recv_until(s->fd, buf, d));
                   },
                   [s] { return close_raw(s->fd); }};
  });
}

TEST_P(IoClose, CloseWakesPoll) {
  expect_close_wakes([] {
    auto s = raw_socketpair(SOCK_STREAM);
    return Subject{[s](Clock::time_point d) { return error_of(io::poll_until(s->fd, POLLIN, d)); },
                   [s] { return close_raw(s->fd); }};
  });
}

TEST_P(IoClose, CloseWakesAccept) {
  expect_close_wakes([] {
    auto l = std::make_shared<io::TcpListener>(io::TcpListener::bind("127.0.0.1", 0).value());
    return Subject{[l](Clock::time_point d) { return error_of(l->accept_until(d)); }, [l] { return l->close(); }};
  });
}

// Pipe::read has no deadline form.
TEST_P(IoClose, CloseWakesPipeRead) {
  expect_close_wakes(
      [] {
        auto pair = std::make_shared<std::pair<io::Pipe, io::Pipe>>(io::Pipe::create().value());
        return Subject{[pair](Clock::time_point) {
                         std::array<std::byte, 8> buf{};
                         return error_of(pair->first.read(buf));
                       },
                       [pair] { return pair->first.close(); }};
      },
      /*has_deadline=*/false);
}

TEST_P(IoClose, CloseWakesUdpRecv) {
  expect_close_wakes([] {
    auto u = std::make_shared<io::UdpSocket>(io::UdpSocket::bind("127.0.0.1", 0).value());
    return Subject{[u](Clock::time_point d) {
                     std::array<std::byte, 8> buf{};
                     return error_of(u->recv_from_until(buf, d));
                   },
                   [u] { return u->close(); }};
  });
}

// A TcpStream's close shuts it down too: the blocked reader still gets EBADF, not end of stream.
TEST_P(IoClose, CloseWakesTcpStreamRead) {
  expect_close_wakes([] {
    struct Conn {
      io::TcpListener l;
      io::TcpStream c, peer;
    };
    auto l = io::TcpListener::bind("127.0.0.1", 0).value();
    auto c = io::TcpStream::connect("127.0.0.1", l.local_address().value().port()).value();
    auto peer = l.accept().value();
    auto conn = std::make_shared<Conn>(Conn{std::move(l), std::move(c), std::move(peer)});
    return Subject{[conn](Clock::time_point d) {
                     std::array<std::byte, 8> buf{};
                     return error_of(conn->c.read_until(buf, d));
                   },
                   [conn] { return conn->c.close(); }};
  });
}

// An io_uring op still waiting for room under the ring's in-flight cap never reached the kernel,
// so the close's ASYNC_CANCEL cannot find it: the ring completes it itself, with EBADF, while the
// op holding the room still waits.
TEST(IoCloseRing, CloseEndsAnOpWaitingForRoom) {
  sched::Scheduler::Options o;
  o.workers = 1;
  o.driver_factory = [](unsigned) { return io::make_uring_driver(io::UringOptions{.max_in_flight = 1}); };
  std::optional<sched::Scheduler> s;
  try {
    s.emplace(o);
  } catch (const std::system_error& e) {
    GTEST_SKIP() << "no io_uring here: " << e.what();
  }
  std::array<RawPair, 2> pipes{std::move(*raw_pipe()), std::move(*raw_pipe())};
  std::array<std::atomic<bool>, 2> blocking{}, ended{};
  auto read_pipe = [&](std::size_t i) {
    return detail::spawn_on(*s, {}, [&, i] {
      std::array<std::byte, 8> buf{};
      blocking[i].store(true);
      auto r = io::read(pipes[i].fd, buf);  // no deadline: only a close ends it
      ended[i].store(true);
      return error_of(r);
    });
  };
  auto holder = read_pipe(0);  // in flight: holds the ring's one place
  while (!blocking[0].load()) std::this_thread::yield();
  auto waiter = read_pipe(1);  // waits for room (that it did is checked below)
  while (!blocking[1].load()) std::this_thread::yield();
  std::this_thread::sleep_for(20ms);  // as in expect_close_wakes: decides the path, not the verdict
  EXPECT_TRUE(close_raw(pipes[1].fd));
  EXPECT_TRUE(test::eventually([&] { return ended[1].load(); }, 30s)) << "the close did not end it";
  EXPECT_FALSE(ended[0].load());
  const auto waited = detail::spawn_on(*s, {}, [] { return io::current_uring_stats().waited_for_room; }).join();
  EXPECT_TRUE(close_raw(pipes[0].fd));
  EXPECT_EQ(holder.join(), kEbadf);
  if (!ended[1].load()) waiter.cancel();
  EXPECT_EQ(waiter.join(), kEbadf);
  EXPECT_GE(waited, 1u);
}

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
