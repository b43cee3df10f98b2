// io_op_protocol_test.cpp: the op reference protocol (io/src/io_op.hpp) and the request posting it
// relies on (io/src/io_backend.hpp), white-box, without a runtime: references released in any order
// and from several threads complete the op exactly once, after every releaser's writes; a cancel is
// only taken while a reference is held; a cancel or close request from a thread that does not own
// the backend is carried out by the owner; op_result tells a deadline, a cancel and a close apart.
#include "io_backend.hpp"
#include "io_test_op.hpp"
#include "op_wait.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <thread>
#include <vector>

namespace weft::io {
namespace {

using test::TestOp;

const char kFakeKind = 0;

// FakeBackend: an IoBackend whose owner (the constructing thread) records what it was asked to do.
class FakeBackend final : public IoBackend {
 public:
  FakeBackend() : IoBackend(&kFakeKind) {}
  void park(std::chrono::steady_clock::time_point) override {}
  void unpark() noexcept override { unparks.fetch_add(1, std::memory_order_relaxed); }
  // serve: the owner carries out the requests posted to it.
  bool serve() { return drain_posted(); }
  void hold(std::int64_t n) { add_in_flight(n); }

  std::vector<IoOp*> cancelled;
  std::vector<int> closed;
  std::atomic<int> last_closed{-1};  // for a closer on another thread
  std::atomic<int> unparks{0};

 protected:
  void cancel_local(IoOp& op) override {
    cancelled.push_back(&op);
    release_refs(op, 1);  // the request's reference, as a backend whose op completed already
  }
  void close_local(int fd) override {
    closed.push_back(fd);
    last_closed.store(fd);
  }
};

TEST(IoOpProtocol, TheLastReferenceCompletesTheOpOnce) {
  TestOp t;
  t.op.pending.store(3, std::memory_order_relaxed);
  release_refs(t.op, 1);
  EXPECT_FALSE(t.done());
  release_refs(t.op, 1);
  EXPECT_FALSE(t.done());
  EXPECT_FALSE(t.claimed());
  release_refs(t.op, 1);
  EXPECT_TRUE(t.done());
  EXPECT_TRUE(t.claimed());
}

TEST(IoOpProtocol, ReleasesFromManyThreadsPublishEveryWrite) {
  // Each releaser writes before dropping its reference; whoever sees `done` sees all the writes.
  constexpr int kThreads = 4;
  for (int round = 0; round < 200; ++round) {
    TestOp t;
    std::atomic<int> written[kThreads] = {};
    t.op.pending.store(kThreads, std::memory_order_relaxed);
    std::vector<std::thread> threads;
    for (int i = 0; i < kThreads; ++i) {
      threads.emplace_back([&, i] {
        written[i].store(1, std::memory_order_relaxed);
        if (i == 0) t.op.res = 42;  // the completion's result, written by one holder
        release_refs(t.op, 1);
      });
    }
    while (!t.done()) std::this_thread::yield();
    EXPECT_EQ(t.op.res, 42);
    for (auto& w : written) EXPECT_EQ(w.load(std::memory_order_relaxed), 1);
    for (auto& th : threads) th.join();
    EXPECT_TRUE(t.claimed());
  }
}

TEST(IoOpProtocol, ACancelIsOnlyTakenWhileAReferenceIsHeld) {
  FakeBackend backend;
  TestOp t;
  t.op.backend = &backend;
  // Completed: no reference left, so a request would outlive the op.
  EXPECT_FALSE(request_cancel(t.op));
  EXPECT_FALSE(t.op.cancel_sent);
  EXPECT_FALSE(backend.serve());

  TestOp u;
  u.op.backend = &backend;
  u.op.pending.store(1, std::memory_order_relaxed);  // in flight
  EXPECT_TRUE(request_cancel(u.op));
  EXPECT_TRUE(u.op.cancel_sent);
  EXPECT_EQ(u.op.pending.load(), 2);  // the request holds its own reference
  EXPECT_TRUE(backend.cancelled.empty());  // not this backend's fiber: posted to the owner
  EXPECT_GE(backend.unparks.load(), 1);
  EXPECT_TRUE(backend.serve());
  ASSERT_EQ(backend.cancelled.size(), 1u);
  EXPECT_EQ(backend.cancelled[0], &u.op);
  EXPECT_FALSE(u.done());  // the op's own reference is still out
  u.op.res = -ECANCELED;
  release_refs(u.op, 1);
  EXPECT_TRUE(u.done());
  EXPECT_EQ(op_result(u.op).error(), make_error_code(errc::cancelled));
}

TEST(IoOpProtocol, ResultsTellDeadlineCancelAndCloseApart) {
  struct Outcome {
    int res;
    bool timed_out, cancel_sent;
  };
  auto result = [](Outcome o, bool by_chain = false) {
    IoOp op;
    op.res = o.res;
    op.timed_out = o.timed_out;
    op.cancel_sent = o.cancel_sent;
    return op_result(op, by_chain);
  };
  EXPECT_EQ(result({7, true, true}).value(), 7);  // raced with a completion: the value wins
  EXPECT_EQ(result({-ECANCELED, true, false}).error(), std::make_error_code(std::errc::timed_out));
  EXPECT_EQ(result({-ECANCELED, false, true}).error(), make_error_code(errc::cancelled));
  EXPECT_EQ(result({-ECANCELED, false, false}, /*by_chain=*/true).error(), make_error_code(errc::cancelled));
  // Cancelled by nobody who waits on it: a close ended it.
  EXPECT_EQ(result({-ECANCELED, false, false}).error(), std::error_code(EBADF, std::system_category()));
  EXPECT_EQ(result({-EPIPE, false, false}).error(), std::error_code(EPIPE, std::system_category()));
}

TEST(IoOpProtocol, ACloseReachesOnlyBackendsHoldingOps) {
  FakeBackend here;  // owned by this thread: carried out at once
  cancel_fd_everywhere(5);
  EXPECT_TRUE(here.closed.empty());  // holds nothing
  here.hold(1);
  cancel_fd_everywhere(5);
  EXPECT_EQ(here.closed, std::vector<int>{5});
  here.hold(-1);
}

TEST(IoOpProtocol, TheCloserWaitsForEveryOwner) {
  // A backend owned by another thread: the closer posts the request and returns only after that
  // owner carried it out, so close(2) never runs before the owner's part.
  std::atomic<FakeBackend*> remote{nullptr};
  std::atomic<bool> stop{false};
  std::thread owner([&] {
    FakeBackend b;
    b.hold(1);
    remote.store(&b);
    while (!stop.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));  // the closer must wait for this
      b.serve();
    }
    b.hold(-1);
  });
  while (!remote.load()) std::this_thread::yield();
  cancel_fd_everywhere(9);
  EXPECT_EQ(remote.load()->last_closed.load(), 9);  // done before cancel_fd_everywhere returned
  stop.store(true);
  owner.join();
}

}  // namespace
}  // namespace weft::io
