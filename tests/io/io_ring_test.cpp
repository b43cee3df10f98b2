// The io_uring ring as a worker's driver: wake-ups between rings (IORING_OP_MSG_RING, or the
// eventfd when that is off) are never lost, between two ring-owning threads and between workers.
// These tests build rings directly, so they run the same under WEFT_BACKEND=epoll; where io_uring
// is unavailable (the seccomp run) they skip.
#include <weft/io/uring_driver.hpp>

#include "support/test_support.hpp"

#include <linux/io_uring.h>

#include <atomic>
#include <chrono>
#include <latch>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

namespace weft {
namespace {

std::unique_ptr<sched::Driver> try_make_ring(const io::UringOptions& o) {
  try {
    return io::make_uring_driver(o);
  } catch (const std::system_error&) {
    return nullptr;
  }
}

struct WakeCounts {
  io::UringStats a, b;
};

// ping_pong: thread A (this one) and thread B each own a ring and take turns: each bumps `turn`
// and unparks the other, then parks until its turn comes back. A lost wake-up leaves one of them
// parked forever (no deadline), which the test's timeout reports.
std::optional<WakeCounts> ping_pong(const io::UringOptions& o, int rounds) {
  auto a = try_make_ring(o);
  if (!a) return std::nullopt;
  std::unique_ptr<sched::Driver> b;
  std::latch b_ready(1);
  std::atomic<int> turn{0};  // even: A's move, odd: B's move
  std::thread tb([&] {
    b = try_make_ring(o);
    b_ready.count_down();
    if (!b) return;
    for (int i = 0; i < rounds; ++i) {
      // acquire/release on `turn` pairs the two threads' moves; park() may return early.
      while (turn.load(std::memory_order_acquire) != 2 * i + 1) b->park(std::chrono::steady_clock::time_point::max());
      turn.store(2 * i + 2, std::memory_order_release);
      a->unpark();
    }
  });
  b_ready.wait();
  if (!b) {
    tb.join();
    return std::nullopt;
  }
  for (int i = 0; i < rounds; ++i) {
    turn.store(2 * i + 1, std::memory_order_release);
    b->unpark();
    while (turn.load(std::memory_order_acquire) != 2 * i + 2) a->park(std::chrono::steady_clock::time_point::max());
  }
  tb.join();
  return WakeCounts{io::uring_stats(*a), io::uring_stats(*b)};
}

// 10,000 round trips between two rings with MSG_RING wake-ups on, on the default flag set
// (DEFER_TASKRUN where the kernel has it: the target is woken from its io_uring_enter wait) and on
// COOP_TASKRUN; each wake-up went by MSG_RING.
TEST(IoRingWake, MsgRingWakeUpsAreNeverLost) {
  const int rounds = static_cast<int>(test::scaled(10000));
  for (unsigned flags : {io::UringOptions::kAutoFlags, unsigned{IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN}}) {
    auto counts = ping_pong(io::UringOptions{.flags = flags}, rounds);
    if (!counts) GTEST_SKIP() << "no io_uring here";
    if (!counts->a.msg_ring_wakeups) GTEST_SKIP() << "IORING_OP_MSG_RING unavailable here";
    if (flags == io::UringOptions::kAutoFlags && (counts->a.setup_flags & IORING_SETUP_DEFER_TASKRUN) == 0) {
      ADD_FAILURE() << "expected a DEFER_TASKRUN ring on this kernel";  // then the flags test says why
    }
    EXPECT_EQ(counts->a.msg_ring_wakes, static_cast<std::uint64_t>(rounds));
    EXPECT_EQ(counts->b.msg_ring_wakes, static_cast<std::uint64_t>(rounds));
  }
}

// The same with MSG_RING off: every wake-up is an eventfd write.
TEST(IoRingWake, EventfdWakeUpsAreNeverLost) {
  const int rounds = static_cast<int>(test::scaled(10000));
  auto counts = ping_pong(io::UringOptions{.msg_ring_wakeups = false}, rounds);
  if (!counts) GTEST_SKIP() << "no io_uring here";
  EXPECT_FALSE(counts->a.msg_ring_wakeups);
  EXPECT_EQ(counts->a.msg_ring_wakes + counts->b.msg_ring_wakes, 0u);
}

// Four pairs of fibers on two workers ping-pong 10,000 tokens in all over rendezvous channels,
// with MSG_RING on and off: the workers park and wake each other all along, and none is stranded.
TEST(IoRingWake, WorkersWakeEachOther) {
  for (bool msg_ring : {true, false}) {
    sched::Scheduler::Options o;
    o.workers = 2;
    o.driver_factory = [msg_ring](unsigned) {
      return io::make_uring_driver(io::UringOptions{.msg_ring_wakeups = msg_ring});
    };
    std::optional<sched::Scheduler> s;
    try {
      s.emplace(o);
    } catch (const std::system_error& e) {
      GTEST_SKIP() << "no io_uring here: " << e.what();
    }
    constexpr int kPairs = 4;
    const int rounds = static_cast<int>(test::scaled(10000)) / kPairs;
    std::vector<JoinHandle<int>> hs;
    for (int p = 0; p < kPairs; ++p) {
      auto [ping_tx, ping_rx] = make_channel<int>(0);
      auto [pong_tx, pong_rx] = make_channel<int>(0);
      hs.push_back(detail::spawn_on(*s, {}, [rounds, rx = std::move(ping_rx), tx = std::move(pong_tx)] {
        for (int i = 0; i < rounds; ++i) tx.send(rx.recv().value() + 1).value();
        return 0;
      }));
      hs.push_back(detail::spawn_on(*s, {}, [rounds, tx = std::move(ping_tx), rx = std::move(pong_rx)] {
        int token = 0;
        for (int i = 0; i < rounds; ++i) {
          tx.send(token).value();
          token = rx.recv().value();
        }
        return token;
      }));
    }
    int total = 0;
    for (auto& h : hs) total += h.join();
    EXPECT_EQ(total, kPairs * rounds);
  }
}

}  // namespace
}  // namespace weft
