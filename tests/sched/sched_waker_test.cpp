// Waker / park / park_until: the permit semantics on plain threads and on fibers, waking across
// threads and workers, and timed parks that expire.
#include <weft/sched/waker.hpp>

#include "support/test_support.hpp"

#include <array>
#include <atomic>
#include <chrono>
#include <thread>

namespace weft {
namespace {

using namespace std::chrono_literals;
using sched::park;
using sched::park_until;
using sched::Waker;

TEST(SchedWaker, WakeBeforeParkIsNotLostOnThread) {
  Waker w = Waker::current();
  w.wake();
  park();  // returns at once: the permit is there
  SUCCEED();
}

TEST(SchedWaker, ThreadParkUntilTimesOut) {
  const auto deadline = std::chrono::steady_clock::now() + 20ms;
  EXPECT_FALSE(park_until(deadline));
  EXPECT_GE(std::chrono::steady_clock::now(), deadline);
}

TEST(SchedWaker, ThreadWokenFromAnotherThread) {
  std::atomic<bool> flag{false};
  Waker w = Waker::current();
  std::thread t([&flag, w = w.clone()] {
    std::this_thread::sleep_for(5ms);
    flag.store(true);
    w.wake();
  });
  while (!flag.load()) park();
  t.join();
}

TEST(SchedWaker, WakerOutlivesItsThread) {
  Waker w;
  std::thread([&w] { w = Waker::current(); }).join();
  w.wake();  // the thread is gone; its parker is kept alive by the handle
  w.reset();
  EXPECT_FALSE(w);
}

class SchedWakerFiber : public test::WorkerCountTest {};

TEST_P(SchedWakerFiber, FiberWokenByPlainThread) {
  Runtime rt{config()};
  std::atomic<bool> flag{false};
  std::atomic<Waker*> slot{nullptr};
  auto h = rt.spawn([&] {
    Waker me = Waker::current();
    slot.store(&me);
    while (!flag.load()) park();
    slot.store(nullptr);
    return this_fiber::id();
  });
  ASSERT_TRUE(test::eventually([&] { return slot.load() != nullptr; }));
  Waker w = slot.load()->clone();  // the fiber cannot leave while flag==false, so *slot is alive
  flag.store(true);
  w.wake();
  EXPECT_NE(h.join(), 0u);
}

TEST_P(SchedWakerFiber, FiberParkUntilTimesOutAndWakeWins) {
  Runtime rt{config()};
  rt.block_on([] {
    EXPECT_FALSE(park_until(std::chrono::steady_clock::now() + 5ms));
    Waker me = Waker::current();
    me.wake();
    EXPECT_TRUE(park_until(std::chrono::steady_clock::now() + 10s));  // the permit wins at once
  });
}

TEST_P(SchedWakerFiber, FibersPingPongThroughWakers) {
  Runtime rt{config()};
  constexpr int kRounds = static_cast<int>(test::scaled(20000));
  std::atomic<int> turn{0};
  std::array<Waker, 2> wakers;  // outlive both fibers
  std::atomic<int> ready{0};
  auto player = [&](int me) {
    wakers[me] = Waker::current();
    ready.fetch_add(1);
    while (ready.load() < 2) this_fiber::yield();
    for (int i = 0; i < kRounds; ++i) {
      while (turn.load() != me) park();
      turn.store(1 - me);
      wakers[1 - me].wake();
    }
  };
  auto a = rt.spawn(player, 0);
  auto b = rt.spawn(player, 1);
  a.join();
  b.join();
  SUCCEED();
}

INSTANTIATE_WORKER_COUNTS(SchedWakerFiber);

}  // namespace
}  // namespace weft
