// IO operations on the worker's io_uring ring: each operation's success and error paths,
// deadlines, cancellation of in-flight operations (also across workers), batching of submissions,
// a tiny completion queue under load, and TCP across fibers.
#include <weft/io/ops.hpp>
#include <weft/io/epoll_driver.hpp>
#include <weft/io/uring_driver.hpp>

#include "support/test_support.hpp"

#include <arpa/inet.h>
#include <linux/io_uring.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <optional>
#include <atomic>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace weft {
namespace {

using namespace std::chrono_literals;

std::span<const std::byte> bytes(std::string_view s) { return std::as_bytes(std::span(s.data(), s.size())); }
std::string text(std::span<const std::byte> b) { return std::string(reinterpret_cast<const char*>(b.data()), b.size()); }

struct Pipe {
  int r = -1, w = -1;
  Pipe() {
    int fds[2];
    EXPECT_EQ(::pipe2(fds, O_CLOEXEC), 0);
    r = fds[0];
    w = fds[1];
  }
  ~Pipe() {
    if (r >= 0) ::close(r);
    if (w >= 0) ::close(w);
  }
};

// A listening TCP socket on 127.0.0.1 with an ephemeral port.
struct Listener {
  int fd = -1;
  sockaddr_in addr{};
  Listener() {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    socklen_t len = sizeof addr;
    EXPECT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
    EXPECT_EQ(::listen(fd, 128), 0);
  }
  ~Listener() { ::close(fd); }
};

class IoOps : public test::WorkerCountTest {};

TEST_P(IoOps, NopAndOutsideAFiber) {
  Runtime rt{config()};
  EXPECT_TRUE(rt.block_on([] { return io::nop(); }));
  auto r = io::nop();  // main is not a fiber
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::not_in_fiber);
}

TEST_P(IoOps, PipeReadWriteAndErrors) {
  Runtime rt{config()};
  Pipe p;
  rt.block_on([&] {
    EXPECT_EQ(io::write(p.w, bytes("hello")).value(), 5u);
    std::array<std::byte, 16> buf{};
    auto n = io::read(p.r, buf);
    ASSERT_TRUE(n);
    EXPECT_EQ(text(std::span(buf).first(*n)), "hello");
    auto bad = io::read(-1, buf);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error(), std::errc::bad_file_descriptor);
    auto wrong_end = io::write(p.r, bytes("x"));
    ASSERT_FALSE(wrong_end);
    EXPECT_EQ(wrong_end.error(), std::errc::bad_file_descriptor);
  });
}

TEST_P(IoOps, FilesAtOffsetsVectorsSyncAndErrors) {
  Runtime rt{config()};
  char tmpl[] = "/tmp/weft-io-XXXXXX";
  const int tmp = ::mkstemp(tmpl);
  ASSERT_GE(tmp, 0);
  ::close(tmp);
  rt.block_on([&] {
    auto fd = io::openat(AT_FDCWD, tmpl, O_RDWR | O_CLOEXEC);
    ASSERT_TRUE(fd);
    EXPECT_EQ(io::write_at(*fd, bytes("0123456789"), 0).value(), 10u);
    EXPECT_EQ(io::write_at(*fd, bytes("AB"), 4).value(), 2u);
    std::array<std::byte, 10> buf{};
    EXPECT_EQ(io::read_at(*fd, buf, 0).value(), 10u);
    EXPECT_EQ(text(buf), "0123AB6789");
    char a[3], b[4];
    iovec iov[2] = {{a, sizeof a}, {b, sizeof b}};
    EXPECT_EQ(io::readv(*fd, iov, 1).value(), 7u);
    EXPECT_EQ(std::string(a, 3) + std::string(b, 4), "123AB67");
    char c[] = "xyz";
    iovec wv[1] = {{c, 3}};
    EXPECT_EQ(io::writev(*fd, wv, 7).value(), 3u);
    EXPECT_TRUE(io::fsync(*fd));
    EXPECT_TRUE(io::fdatasync(*fd));
    EXPECT_TRUE(io::close(*fd));
    auto again = io::close(*fd);
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error(), std::errc::bad_file_descriptor);

    auto missing = io::openat(AT_FDCWD, "/nonexistent/weft", O_RDONLY);
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error(), std::errc::no_such_file_or_directory);
    auto dir = io::openat(AT_FDCWD, "/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ASSERT_TRUE(dir);
    auto isdir = io::read(*dir, buf);
    ASSERT_FALSE(isdir);
    EXPECT_EQ(isdir.error(), std::errc::is_a_directory);
    EXPECT_TRUE(io::close(*dir));
  });
  ::unlink(tmpl);
}

TEST_P(IoOps, DeadlineExpiresAndLeavesTheFdUsable) {
  Runtime rt{config()};
  Pipe p;
  rt.block_on([&] {
    std::array<std::byte, 8> buf{};
    const auto t0 = std::chrono::steady_clock::now();
    auto r = io::read_for(p.r, buf, 20ms);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), std::errc::timed_out);
    EXPECT_GE(std::chrono::steady_clock::now() - t0, 20ms);
    // The timed-out read consumed nothing: data written now is all there.
    EXPECT_EQ(io::write(p.w, bytes("late")).value(), 4u);
    auto n = io::read_for(p.r, buf, 10s);
    ASSERT_TRUE(n);
    EXPECT_EQ(text(std::span(buf).first(*n)), "late");
    // A deadline that never comes is no deadline.
    EXPECT_EQ(io::write(p.w, bytes("z")).value(), 1u);
    EXPECT_EQ(io::read_for(p.r, buf, std::chrono::hours::max()).value(), 1u);
  });
}

TEST_P(IoOps, CancelInFlightReadsAcrossWorkers) {
  Runtime rt{config()};
  constexpr int kReaders = 32;
  std::vector<Pipe> pipes(kReaders);
  std::atomic<int> blocked{0};
  std::vector<JoinHandle<Result<std::size_t>>> hs;
  std::vector<std::array<std::byte, 8>> bufs(kReaders);
  for (int i = 0; i < kReaders; ++i) {
    hs.push_back(rt.spawn([&, i] {
      blocked.fetch_add(1);
      return io::read(pipes[i].r, bufs[i]);
    }));
  }
  ASSERT_TRUE(test::eventually([&] { return blocked.load() == kReaders; }));
  std::this_thread::sleep_for(5ms);  // let the reads reach the kernel
  for (auto& h : hs) h.cancel();
  for (auto& h : hs) {
    auto r = h.join();
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), errc::cancelled);
  }
  // The cancelled reads took nothing: every pipe still delivers what is written next.
  rt.block_on([&] {
    for (auto& p : pipes) {
      EXPECT_EQ(io::write(p.w, bytes("ok")).value(), 2u);
      std::array<std::byte, 8> buf{};
      EXPECT_EQ(io::read(p.r, buf).value(), 2u);
    }
  });
}

// Each kind of blocking operation, cancelled while it waits in the kernel, returns
// errc::cancelled after its final completion.
TEST_P(IoOps, CancelEachBlockingOperation) {
  Runtime rt{config()};
  Listener l;
  Pipe empty, full;
  ::fcntl(full.w, F_SETFL, O_NONBLOCK);
  std::array<char, 4096> junk{};
  while (::write(full.w, junk.data(), junk.size()) > 0) {
  }
  ::fcntl(full.w, F_SETFL, 0);
  int sp[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
  std::atomic<int> started{0};
  auto blocked = [&](auto op) {
    return rt.spawn([&started, op]() -> std::error_code {
      started.fetch_add(1);
      auto r = op();
      return r ? std::error_code() : r.error();
    });
  };
  std::vector<JoinHandle<std::error_code>> hs;
  hs.push_back(blocked([&] { return io::accept(l.fd); }));
  hs.push_back(blocked([&] {
    std::array<std::byte, 8> b{};
    return io::recv(sp[0], b);
  }));
  hs.push_back(blocked([&] {
    std::array<std::byte, 8> b{};
    return io::read(empty.r, b);
  }));
  hs.push_back(blocked([&] { return io::poll(empty.r, POLLIN); }));
  hs.push_back(blocked([&] { return io::write(full.w, bytes("more")); }));
  hs.push_back(blocked([&] {
    std::array<std::byte, 8> b{};
    return io::read_for(empty.r, b, std::chrono::hours(1));  // with a linked timeout
  }));
  ASSERT_TRUE(test::eventually([&] { return started.load() == static_cast<int>(hs.size()); }));
  std::this_thread::sleep_for(10ms);
  for (auto& h : hs) h.cancel();
  for (auto& h : hs) EXPECT_EQ(h.join(), errc::cancelled);
  ::close(sp[0]);
  ::close(sp[1]);
}

TEST_P(IoOps, PollReportsReadiness) {
  Runtime rt{config()};
  Pipe p;
  rt.block_on([&] {
    auto t = io::poll_until(p.r, POLLIN, std::chrono::steady_clock::now() + 10ms);
    ASSERT_FALSE(t);
    EXPECT_EQ(t.error(), std::errc::timed_out);
    auto waiter = spawn([&] { return io::poll(p.r, POLLIN); });
    EXPECT_EQ(io::write(p.w, bytes("!")).value(), 1u);
    auto ev = waiter.join();
    ASSERT_TRUE(ev);
    EXPECT_TRUE(*ev & POLLIN);
  });
}

TEST_P(IoOps, TcpEchoAcrossFibers) {
  Runtime rt{config()};
  Listener l;
  const int kClients = 16;
  auto server = rt.spawn([&] {
    std::vector<JoinHandle<void>> conns;
    for (int i = 0; i < kClients; ++i) {
      sockaddr_in peer{};
      socklen_t len = sizeof peer;
      int c = io::accept(l.fd, reinterpret_cast<sockaddr*>(&peer), &len).value();
      EXPECT_EQ(peer.sin_addr.s_addr, htonl(INADDR_LOOPBACK));
      conns.push_back(spawn([c] {
        std::array<std::byte, 64> buf{};
        for (;;) {
          auto n = io::recv(c, buf);
          if (!n || *n == 0) break;
          EXPECT_EQ(io::send(c, std::span(buf).first(*n)).value(), *n);
        }
        (void)io::close(c);
      }));
    }
    for (auto& h : conns) h.join();
  });
  std::vector<JoinHandle<std::string>> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(rt.spawn([&, i] {
      int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      io::connect(s, reinterpret_cast<const sockaddr*>(&l.addr), sizeof l.addr).value();
      std::string msg = "ping-" + std::to_string(i);
      EXPECT_EQ(io::send(s, bytes(msg)).value(), msg.size());
      std::array<std::byte, 64> buf{};
      std::string got;
      while (got.size() < msg.size()) got += text(std::span(buf).first(io::recv(s, buf).value()));
      (void)io::close(s);
      return got;
    }));
  }
  for (int i = 0; i < kClients; ++i) EXPECT_EQ(clients[i].join(), "ping-" + std::to_string(i));
  server.join();
}

TEST_P(IoOps, ConnectRefusedAndAcceptDeadline) {
  Runtime rt{config()};
  rt.block_on([] {
    sockaddr_in addr{};
    int probe = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(probe, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    ::getsockname(probe, reinterpret_cast<sockaddr*>(&addr), &len);
    ::close(probe);  // nobody listens on that port now
    int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    auto r = io::connect(s, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), std::errc::connection_refused);
    ::close(s);
  });
  Listener l;
  rt.block_on([&] {
    auto a = io::accept_until(l.fd, std::chrono::steady_clock::now() + 15ms);
    ASSERT_FALSE(a);
    EXPECT_EQ(a.error(), std::errc::timed_out);
  });
}

TEST_P(IoOps, SubmissionsAreBatchedPerTick) {
  Runtime rt{Config{.workers = 1}};
  (void)GetParam();
  if (rt.backend() != Backend::io_uring) GTEST_SKIP() << "batching into io_uring_enter is the io_uring backend's";
  const int kFibers = 64, kRounds = 50;
  auto [enters, sqes] = rt.block_on([&] {
    const io::UringStats before = io::current_uring_stats();
    std::vector<JoinHandle<void>> hs;
    for (int f = 0; f < kFibers; ++f) {
      hs.push_back(spawn([&] {
        for (int i = 0; i < kRounds; ++i) io::nop().value();
      }));
    }
    for (auto& h : hs) h.join();
    const io::UringStats after = io::current_uring_stats();
    return std::pair{after.enters - before.enters, after.sqes_submitted - before.sqes_submitted};
  });
  EXPECT_GE(sqes, static_cast<std::uint64_t>(kFibers * kRounds));
  // 64 fibers issuing together: far fewer io_uring_enter calls than operations.
  EXPECT_LT(enters * 8, sqes) << enters << " enters for " << sqes << " SQEs";
}

// A worker that wakes from its park with completions runs the woken fibers at once: it does not
// enter the ring again first (nothing was queued since, and everything completed was just reaped).
// A ping-pong round between two fibers over a socketpair (send, recv on each side) is then two
// waves, one io_uring_enter each, even while another operation stays in flight.
TEST_P(IoOps, AWorkerBackFromItsParkDoesNotEnterTheRingAgainBeforeRunning) {
  Runtime rt{Config{.workers = 1}};
  (void)GetParam();
  if (rt.backend() != Backend::io_uring) GTEST_SKIP() << "counts io_uring_enter calls";
  const int kRounds = 500;
  const std::uint64_t enters = rt.block_on([&] {
    int ab[2], idle[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ab), 0);
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, idle), 0);
    auto in_flight = spawn([&] {  // keeps an operation outstanding on the ring throughout
      std::byte b[1];
      EXPECT_EQ(io::recv(idle[0], b).value(), 0u);
    });
    this_fiber::yield();  // let it submit its recv
    const io::UringStats before = io::current_uring_stats();
    auto peer = spawn([&] {
      std::byte b[8];
      for (int i = 0; i < kRounds; ++i) {
        EXPECT_EQ(io::recv(ab[1], b).value(), 8u);
        EXPECT_EQ(io::send(ab[1], b).value(), 8u);
      }
    });
    std::byte msg[8]{};
    for (int i = 0; i < kRounds; ++i) {
      EXPECT_EQ(io::send(ab[0], msg).value(), 8u);
      EXPECT_EQ(io::recv(ab[0], msg).value(), 8u);
    }
    peer.join();
    const std::uint64_t n = io::current_uring_stats().enters - before.enters;
    ::shutdown(idle[1], SHUT_WR);
    in_flight.join();
    for (int fd : {ab[0], ab[1], idle[0], idle[1]}) ::close(fd);
    return n;
  });
  // Two per round (a poll right after each park made it four); a few more for the start and end.
  EXPECT_LE(enters, 2u * kRounds + 8) << enters << " io_uring_enter calls for " << kRounds << " rounds";
}

// On epoll, what epoll cannot wait for runs on the blocking pool: files open, stat and sync there,
// while the fiber's worker stays free.
TEST_P(IoOps, EpollRunsFileSystemCallsOnTheBlockingPool) {
  Runtime rt{Config{.workers = 1}};  // one worker: its counters see every operation
  (void)GetParam();
  if (rt.backend() != Backend::epoll) GTEST_SKIP() << "the epoll backend's";
  rt.block_on([] {
    const io::EpollStats before = io::current_epoll_stats();
    char path[] = "/tmp/weft-epoll-pool.XXXXXX";
    const int made = ::mkstemp(path);
    ASSERT_GE(made, 0);
    ::close(made);
    const int fd = io::openat(AT_FDCWD, path, O_RDWR | O_CLOEXEC).value();
    struct statx st {};
    EXPECT_TRUE(io::statx(fd, "", AT_EMPTY_PATH, STATX_SIZE, &st));
    EXPECT_TRUE(io::fsync(fd));
    EXPECT_TRUE(io::close(fd));
    EXPECT_TRUE(io::unlinkat(AT_FDCWD, path));
    EXPECT_EQ(io::current_epoll_stats().pool_ops - before.pool_ops, 4u);  // openat, statx, fsync, unlinkat
  });
}

INSTANTIATE_WORKER_COUNTS(IoOps);

// A ring with a 4-entry SQ, an 8-entry CQ and at most 3 SQEs in flight, under 10,000 concurrent
// operations from as many fibers (nops, linked pairs, reads whose deadline passes, some while
// still waiting for room, and tasks cancelled while they wait), on one worker and on two: every
// operation gets its own result, none is lost, and the queue for room was used.
TEST(IoRing, TinyQueuesAndInFlightCapLoseNoCompletion) {
  for (unsigned workers : {1u, 2u}) {
    sched::Scheduler::Options o;
    o.workers = workers;
    o.driver_factory = [](unsigned) {
      return io::make_uring_driver(io::UringOptions{.entries = 4, .cq_entries = 8, .max_in_flight = 3});
    };
    std::optional<sched::Scheduler> holder;
    try {
      holder.emplace(o);
    } catch (const std::system_error& e) {
      GTEST_SKIP() << "no io_uring here: " << e.what();
    }
    sched::Scheduler& s = *holder;
    Pipe idle;  // never written: reads on it end by their deadline or a cancel
    const int n = static_cast<int>(test::scaled(10000));
    std::atomic<int> ok{0};
    std::atomic<std::uint64_t> waited{0};
    std::vector<JoinHandle<void>> hs;
    for (int i = 0; i < n; ++i) {
      hs.push_back(detail::spawn_on(s, {}, [&, i] {
        std::byte b[1];
        bool good = false;
        switch (i % 50) {
          case 3: {  // a linked pair of nops (2 SQEs)
            auto [r1, r2] = io::link(io::op_nop(), io::op_nop());
            good = r1 && r2;
            break;
          }
          case 5:  // a deadline that passes, maybe before the read reaches the kernel
            good = io::read_for(idle.r, b, std::chrono::milliseconds(1)).error() == std::errc::timed_out;
            break;
          case 7: {  // cancelled while in flight or waiting for room
            auto r = io::read(idle.r, b);
            good = !r && r.error() == errc::cancelled;
            break;
          }
          default:
            good = io::nop().has_value();
        }
        if (good) ok.fetch_add(1);
        const auto st = io::current_uring_stats();
        std::uint64_t w = waited.load();
        while (st.waited_for_room > w && !waited.compare_exchange_weak(w, st.waited_for_room)) {
        }
      }));
    }
    for (int i = 7; i < n; i += 50) hs[i].cancel();
    int not_started = 0;  // cancelled before they ran: join() says so
    for (auto& h : hs) {
      try {
        h.join();
      } catch (const std::system_error& e) {
        EXPECT_EQ(e.code(), errc::cancelled);
        ++not_started;
      }
    }
    EXPECT_EQ(ok.load() + not_started, n) << workers << " workers";
    EXPECT_GT(waited.load(), 0u) << "the in-flight cap never made an operation wait";
  }
}

// Completions that do not fit the CQ wait in the kernel's overflow list, and the ring counts that
// (UringStats::cq_overflows, Metrics::cq_overflows); the default CQ holds a burst of thousands of
// completions at once, so in normal operation nothing waits there. The burst: reads on an idle
// pipe whose linked timeouts share one deadline, two completions each, arriving together.
// A kernel without these flags skips.
TEST(IoRing, CqOverflowIsCountedAndTheDefaultCqHoldsABurst) {
  for (const unsigned cq_entries : {8u, 0u}) {
    sched::Scheduler::Options o;
    o.workers = 1;
    o.driver_factory = [cq_entries](unsigned) {
      // A CQ may not be smaller than the SQ: the small one gets a 4-entry SQ. Without
      // DEFER_TASKRUN, whose waits hand over a few completions at a time, the kernel posts a
      // burst all at once, which is what a CQ must be sized for.
      return io::make_uring_driver(io::UringOptions{.entries = cq_entries ? 4u : 256u,
                                                    .cq_entries = cq_entries,
                                                    .flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN});
    };
    std::optional<sched::Scheduler> holder;
    try {
      holder.emplace(o);
    } catch (const std::system_error& e) {
      GTEST_SKIP() << "no io_uring here: " << e.what();
    }
    sched::Scheduler& s = *holder;
    Pipe idle;
    constexpr int kReads = 2000;  // 4,000 completions: a quarter of the default CQ
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(300);
    std::atomic<int> timed_out{0};
    std::vector<JoinHandle<void>> hs;
    for (int i = 0; i < kReads; ++i) {
      hs.push_back(detail::spawn_on(s, {}, [&] {
        std::byte b[1];
        if (io::read_until(idle.r, b, deadline).error() == std::errc::timed_out) ++timed_out;
      }));
    }
    for (auto& h : hs) h.join();
    EXPECT_EQ(timed_out.load(), kReads);
    const std::uint64_t overflows = s.stats().at(0).io.cq_overflows;
    if (cq_entries == 8) {
      EXPECT_GT(overflows, 0u) << "an 8-entry CQ took a burst of 4,000 completions without overflowing?";
    } else {
      EXPECT_EQ(overflows, 0u) << "the default CQ overflowed under 4,000 completions";
    }
  }
}

}  // namespace
}  // namespace weft

namespace weft {
namespace {

// eventfd as a signal between a plain thread and a fiber, with the deadline and error paths.
TEST(IoEventfd, NotifyFromAThreadWakesAFiber) {
  for (unsigned workers : {1u, 2u}) {
    Runtime rt{Config{.workers = workers}};
    const int efd = ::eventfd(0, EFD_CLOEXEC);
    ASSERT_GE(efd, 0);
    auto waiter = rt.spawn([efd] { return io::eventfd_wait(efd).value(); });
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    ASSERT_EQ(::eventfd_write(efd, 3), 0);
    EXPECT_EQ(waiter.join(), 3u);
    rt.block_on([efd] {
      EXPECT_TRUE(io::eventfd_notify(efd, 2));
      EXPECT_TRUE(io::eventfd_notify(efd));
      EXPECT_EQ(io::eventfd_wait(efd).value(), 3u);  // the whole count at once
      auto r = io::eventfd_wait_until(efd, std::chrono::steady_clock::now() + std::chrono::milliseconds(10));
      EXPECT_EQ(r.error(), std::errc::timed_out);
      EXPECT_EQ(io::eventfd_notify(efd, 0).error(), std::errc::invalid_argument);
      int p[2];
      ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
      ASSERT_EQ(::write(p[1], "ab", 2), 2);
      EXPECT_EQ(io::eventfd_wait(p[0]).error(), std::errc::invalid_argument);  // not an eventfd
      ::close(p[0]);
      ::close(p[1]);
    });
    ::close(efd);
  }
}

}  // namespace
}  // namespace weft

namespace weft {
namespace {

// UringOptions::flags: an exact flag set is used as given, and one the kernel refuses is EINVAL.
TEST(IoRing, ExactSetupFlags) {
  auto make = [](unsigned flags) {
    sched::Scheduler::Options o;
    o.workers = 1;
    o.driver_factory = [flags](unsigned) { return io::make_uring_driver(io::UringOptions{.flags = flags}); };
    return o;
  };
  try {
    sched::Scheduler s(make(0));
    EXPECT_TRUE(detail::spawn_on(s, {}, [] { return io::nop().has_value(); }).join());
  } catch (const std::system_error& e) {
    GTEST_SKIP() << "no io_uring here: " << e.what();
  }
  try {
    sched::Scheduler s(make(1u << 31));  // no such IORING_SETUP_* flag
    ADD_FAILURE() << "a ring with an unknown setup flag started";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), std::errc::invalid_argument);
  }
}

}  // namespace
}  // namespace weft
