// io_uring_deferred_test.cpp: io_uring's queue for room under the in-flight cap
// (io/src/uring_backend.hpp), white-box, on a ring owned by the test thread: units over the cap
// wait in arrival order and enter the ring as completions free room; a chain or a timed op waits
// and enters whole; a cancel takes a waiting unit out (it never reaches the kernel); closing an fd
// completes the waiting units that name it with EBADF and leaves the others waiting.
#include "io_test_op.hpp"
#include "op_wait.hpp"
#include "uring_backend.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <memory>
#include <optional>
#include <system_error>
#include <thread>
#include <vector>

namespace weft::io {
namespace {

using test::TestOp;

class UringDeferred : public ::testing::Test {
 protected:
  void SetUp() override {
    try {
      ring.emplace(UringOptions{.entries = 8, .cq_entries = 16, .max_in_flight = 2});
    } catch (const std::system_error& e) {
      GTEST_SKIP() << "no io_uring here: " << e.what();
    }
  }
  template <class Pred>
  bool poll_until(Pred pred) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!pred() && std::chrono::steady_clock::now() < deadline) {
      ring->poll();
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    return pred();
  }
  void settle() {
    for (int i = 0; i < 5; ++i) {
      ring->poll();
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }

  std::optional<UringBackend> ring;
};

// Sub: a submission whose ops live in one array (a Submission spans them), each wired to a TestOp
// for completion.
struct Sub {
  Sub(std::vector<OpDesc> d, LinkMode mode = LinkMode::soft, Clock::time_point deadline = kNoDeadline)
      : descs(std::move(d)), ops(descs.size()), hooks(descs.size()) {
    for (std::size_t i = 0; i < descs.size(); ++i) {
      hooks[i] = std::make_unique<TestOp>();
      ops[i].select = &hooks[i]->hook;  // completes the TestOp's select, watched through ops[i]
    }
    sub = Submission{.descs = descs, .ops = std::span(ops.data(), ops.size()), .mode = mode, .deadline = deadline};
  }
  bool done(std::size_t i = 0) const { return ops[i].done.load(std::memory_order_acquire); }
  bool all_done() const {
    for (std::size_t i = 0; i < ops.size(); ++i) {
      if (!done(i)) return false;
    }
    return true;
  }
  std::vector<OpDesc> descs;
  std::vector<IoOp> ops;
  std::vector<std::unique_ptr<TestOp>> hooks;
  Submission sub;
  UringUnit unit;
};

struct Pipe {
  int fd[2] = {-1, -1};
  Pipe() { EXPECT_EQ(::pipe2(fd, O_CLOEXEC), 0); }
  ~Pipe() {
    for (int f : fd) ::close(f);
  }
};

TEST_F(UringDeferred, UnitsOverTheCapWaitAndEnterInArrivalOrder) {
  std::vector<std::unique_ptr<Sub>> subs;
  std::vector<bool> queued;
  for (int i = 0; i < 6; ++i) {
    subs.push_back(std::make_unique<Sub>(std::vector<OpDesc>{OpDesc()}));
    queued.push_back(ring->submit(subs.back()->sub, subs.back()->unit));
  }
  EXPECT_EQ(queued, (std::vector<bool>{false, false, true, true, true, true}));
  EXPECT_EQ(ring->stats().waited_for_room, 4u);
  // Each poll completes what is in flight and admits the queue's head while it fits: the done
  // ops are always a prefix of the arrival order.
  for (int step = 0; step < 200; ++step) {
    ring->poll();
    bool gap = false;
    for (auto& s : subs) {
      if (!s->done()) gap = true;
      else ASSERT_FALSE(gap) << "a unit entered the ring before one that arrived earlier";
    }
    if (!gap) break;
  }
  for (auto& s : subs) EXPECT_TRUE(s->done());
}

TEST_F(UringDeferred, AChainWaitsAndEntersWhole) {
  Pipe p;
  std::array<std::byte, 1> b{};
  Sub blocker({desc_read(p.fd[0], b)});  // in flight until written
  ASSERT_FALSE(ring->submit(blocker.sub, blocker.unit));
  Sub chain({OpDesc(), OpDesc()}, LinkMode::hard);  // 2 SQEs: 3 would pass the cap of 2
  ASSERT_TRUE(ring->submit(chain.sub, chain.unit));
  settle();
  EXPECT_FALSE(chain.done(0));
  EXPECT_FALSE(chain.done(1));
  ASSERT_EQ(::write(p.fd[1], "x", 1), 1);
  ASSERT_TRUE(poll_until([&] { return blocker.done() && chain.all_done(); }));
  EXPECT_EQ(chain.ops[0].res, 0);
  EXPECT_EQ(chain.ops[1].res, 0);
}

TEST_F(UringDeferred, ACancelTakesAWaitingUnitOut) {
  Pipe p;
  std::array<std::byte, 1> b{};
  Sub blocker({desc_read(p.fd[0], b)});
  Sub blocker2({desc_read(p.fd[0], b)});
  ASSERT_FALSE(ring->submit(blocker.sub, blocker.unit));
  ASSERT_FALSE(ring->submit(blocker2.sub, blocker2.unit));
  // A timed op waiting for room: its own and its linked timeout's references are both counted.
  Sub timed({OpDesc()}, LinkMode::soft, Clock::now() + std::chrono::hours(1));
  Sub after({OpDesc()});
  ASSERT_TRUE(ring->submit(timed.sub, timed.unit));
  ASSERT_TRUE(ring->submit(after.sub, after.unit));
  EXPECT_EQ(timed.ops[0].pending.load(), 2);
  ASSERT_TRUE(request_cancel(timed.ops[0]));  // posted: this thread runs no fiber of the ring
  ASSERT_TRUE(poll_until([&] { return timed.done(); }));
  EXPECT_EQ(timed.ops[0].res, -ECANCELED);
  EXPECT_EQ(op_result(timed.ops[0]).error(), make_error_code(errc::cancelled));
  settle();
  EXPECT_FALSE(after.done());  // still waiting behind the two reads
  ASSERT_EQ(::write(p.fd[1], "xy", 2), 2);
  ASSERT_TRUE(poll_until([&] { return blocker.done() && blocker2.done() && after.done(); }));
  EXPECT_EQ(after.ops[0].res, 0);
}

TEST_F(UringDeferred, ClosingAnFdCompletesTheWaitingUnitsThatNameIt) {
  Pipe held, closed;
  std::array<std::byte, 1> b{};
  Sub blocker({desc_read(held.fd[0], b)});
  Sub blocker2({desc_read(held.fd[0], b)});
  ASSERT_FALSE(ring->submit(blocker.sub, blocker.unit));
  ASSERT_FALSE(ring->submit(blocker2.sub, blocker2.unit));
  Sub named({desc_read(closed.fd[0], b)});
  Sub other({OpDesc()});
  ASSERT_TRUE(ring->submit(named.sub, named.unit));
  ASSERT_TRUE(ring->submit(other.sub, other.unit));
  cancel_fd_everywhere(closed.fd[0]);  // this thread owns the ring: carried out at once
  ASSERT_TRUE(named.done());
  EXPECT_EQ(named.ops[0].res, -EBADF);
  settle();
  EXPECT_FALSE(other.done());
  // Closing the fd the in-flight reads wait on ends them in the kernel (ASYNC_CANCEL by fd), which
  // frees the room the other unit waits for.
  cancel_fd_everywhere(held.fd[0]);
  ASSERT_TRUE(poll_until([&] { return blocker.done() && blocker2.done() && other.done(); }));
  EXPECT_EQ(op_result(blocker.ops[0]).error(), std::error_code(EBADF, std::system_category()));
  EXPECT_EQ(other.ops[0].res, 0);
}

}  // namespace
}  // namespace weft::io
