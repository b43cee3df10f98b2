// io_epoll_waiters_test.cpp: the epoll backend's readiness wait lists (io/src/epoll_backend.hpp),
// white-box, on a backend owned by the test thread: an event completes exactly the waiters whose
// events it matches, in FIFO order, and re-arms the fd for the rest; a cancel unlinks one waiter
// anywhere in the list and leaves the others waiting; closing an fd evicts its waiters with EBADF;
// what epoll cannot wait for (a regular file) is refused with EPERM and never linked.
#include "epoll_backend.hpp"
#include "io_test_op.hpp"
#include "op_wait.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <memory>
#include <thread>

namespace weft::io {
namespace {

using test::TestOp;

// Waiting: a TestOp waiting for `events` on `fd` in `backend`'s list, holding the list's reference.
struct Waiting {
  TestOp t;
  EpollWaiter w;
  Waiting(EpollBackend& backend, int fd, std::uint32_t events) {
    t.op.backend = &backend;
    t.op.pending.store(1, std::memory_order_relaxed);
    w = EpollWaiter{.op = &t.op, .fd = fd, .events = events};
    rc = backend.add_waiter(w);
  }
  int rc = 0;
};

struct SocketPair {
  int fd[2] = {-1, -1};
  SocketPair() { EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fd), 0); }
  ~SocketPair() {
    for (int f : fd) ::close(f);
  }
};

class EpollWaiters : public ::testing::Test {
 protected:
  // poll_until: runs the owner's non-blocking poll until `pred` holds (bounded).
  template <class Pred>
  bool poll_until(Pred pred) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!pred() && std::chrono::steady_clock::now() < deadline) {
      backend.poll();
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    return pred();
  }
  // settle: a few polls, for asserting that something did *not* happen.
  void settle() {
    for (int i = 0; i < 5; ++i) {
      backend.poll();
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }

  EpollBackend backend;
};

TEST_F(EpollWaiters, AnEventCompletesOnlyTheWaitersItMatches) {
  SocketPair s;
  Waiting reader(backend, s.fd[0], EPOLLIN);
  Waiting writer(backend, s.fd[0], EPOLLOUT);  // a fresh socket has room: ready at once
  ASSERT_EQ(reader.rc, 0);
  ASSERT_EQ(writer.rc, 0);
  ASSERT_TRUE(poll_until([&] { return writer.t.done(); }));
  EXPECT_TRUE(writer.t.op.res & EPOLLOUT);
  settle();
  EXPECT_FALSE(reader.t.done());  // re-armed for what it still waits for
  ASSERT_EQ(::write(s.fd[1], "x", 1), 1);
  ASSERT_TRUE(poll_until([&] { return reader.t.done(); }));
  EXPECT_TRUE(reader.t.op.res & EPOLLIN);
  EXPECT_EQ(backend.stats().readiness, 2u);
}

TEST_F(EpollWaiters, OneEventCompletesEveryMatchingWaiter) {
  SocketPair s;
  auto a = std::make_unique<Waiting>(backend, s.fd[0], EPOLLIN);
  auto b = std::make_unique<Waiting>(backend, s.fd[0], EPOLLIN);
  ASSERT_EQ(::write(s.fd[1], "x", 1), 1);
  ASSERT_TRUE(poll_until([&] { return a->t.done() && b->t.done(); }));
}

TEST_F(EpollWaiters, ACancelUnlinksOneWaiterAndKeepsTheRest) {
  SocketPair s;
  Waiting first(backend, s.fd[0], EPOLLIN);
  Waiting middle(backend, s.fd[0], EPOLLIN);
  Waiting last(backend, s.fd[0], EPOLLIN);
  ASSERT_TRUE(request_cancel(middle.t.op));  // from a thread that is no fiber of it: posted
  ASSERT_TRUE(poll_until([&] { return middle.t.done(); }));
  EXPECT_EQ(middle.t.op.res, -ECANCELED);
  EXPECT_EQ(op_result(middle.t.op).error(), make_error_code(errc::cancelled));
  settle();
  EXPECT_FALSE(first.t.done());
  EXPECT_FALSE(last.t.done());
  ASSERT_EQ(::write(s.fd[1], "x", 1), 1);
  ASSERT_TRUE(poll_until([&] { return first.t.done() && last.t.done(); }));
  EXPECT_GE(first.t.op.res, 0);
  EXPECT_GE(last.t.op.res, 0);
}

TEST_F(EpollWaiters, ACancelAfterTheEventOnlyDropsItsOwnReference) {
  SocketPair s;
  Waiting w(backend, s.fd[0], EPOLLIN);
  w.t.op.pending.fetch_add(1);  // another holder keeps the op alive, as the fiber's cancel would
  ASSERT_EQ(::write(s.fd[1], "x", 1), 1);
  ASSERT_TRUE(poll_until([&] { return w.t.op.pending.load() == 1; }));  // the list let go
  ASSERT_TRUE(request_cancel(w.t.op));
  settle();
  EXPECT_GE(w.t.op.res, 0);  // the readiness result stands
  EXPECT_FALSE(w.t.done());
  release_refs(w.t.op, 1);
  EXPECT_TRUE(w.t.done());
}

TEST_F(EpollWaiters, ClosingAnFdEvictsItsWaitersWithEbadf) {
  SocketPair s;
  SocketPair other;
  Waiting a(backend, s.fd[0], EPOLLIN);
  Waiting b(backend, s.fd[0], EPOLLOUT | EPOLLIN);
  Waiting bystander(backend, other.fd[0], EPOLLIN);
  cancel_fd_everywhere(s.fd[0]);  // this thread owns the backend: carried out at once
  ASSERT_TRUE(a.t.done());
  ASSERT_TRUE(b.t.done());
  EXPECT_EQ(a.t.op.res, -EBADF);
  EXPECT_EQ(b.t.op.res, -EBADF);
  settle();
  EXPECT_FALSE(bystander.t.done());
  ASSERT_EQ(::write(other.fd[1], "x", 1), 1);
  ASSERT_TRUE(poll_until([&] { return bystander.t.done(); }));
}

TEST_F(EpollWaiters, ARegularFileIsRefusedAndNotLinked) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  Waiting w(backend, ::fileno(f), EPOLLIN);
  EXPECT_EQ(w.rc, -EPERM);
  EXPECT_FALSE(w.w.linked);
  EXPECT_EQ(w.t.op.backend_state, nullptr);  // a cancel would find nothing to unlink
  std::fclose(f);
}

}  // namespace
}  // namespace weft::io
