// Sleeping: accuracy within generous bounds, ordering of many sleepers, saturation of huge
// durations, sleeps on plain threads, and cancellation of a sleep.
#include "support/test_support.hpp"

#include <algorithm>
#include <chrono>
#include <mutex>
#include <vector>

namespace weft {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

class RuntimeSleep : public test::WorkerCountTest {};

TEST_P(RuntimeSleep, SleepForIsNeverShortAndRoughlyAccurate) {
  Runtime rt{config()};
  auto elapsed = rt.block_on([] {
    const auto t0 = Clock::now();
    EXPECT_TRUE(sleep_for(30ms));
    return Clock::now() - t0;
  });
  EXPECT_GE(elapsed, 30ms);
  EXPECT_LT(elapsed, 2s);  // generous: the machine is shared
}

TEST_P(RuntimeSleep, ManySleepersWakeInDeadlineOrder) {
  // Timers that expire in the same tick (a worker descheduled for 15 ms on a loaded machine) are
  // woken in deadline order, and the default run order keeps it; the shuffle mode does not.
  WEFT_SKIP_IF_SHUFFLED("timers due in one tick run in the shuffled order");
  Runtime rt{Config{.workers = 1}};  // one worker: wake order is observable
  (void)GetParam();
  std::mutex mu;
  std::vector<int> order;
  std::vector<JoinHandle<void>> hs;
  // Deadlines from one base, not relative sleeps from each fiber's own start: on a loaded machine
  // (a sanitizer build, CI) the fibers start milliseconds apart, and relative sleeps 15 ms apart
  // then race each other. The base leaves half a second for all five to start.
  const auto base = std::chrono::steady_clock::now() + 500ms;
  for (int i : {5, 1, 4, 2, 3}) {
    hs.push_back(rt.spawn([&, i] {
      (void)sleep_until(base + i * 15ms);
      std::lock_guard lock(mu);
      order.push_back(i);
    }));
  }
  for (auto& h : hs) h.join();
  EXPECT_TRUE(std::is_sorted(order.begin(), order.end()));
  EXPECT_EQ(order.size(), 5u);
}

TEST_P(RuntimeSleep, ThousandsOfConcurrentSleepers) {
  Runtime rt{config()};
  const int n = static_cast<int>(test::scaled(10000));
  std::atomic<int> woke{0};
  std::vector<JoinHandle<void>> hs;
  for (int i = 0; i < n; ++i) {
    hs.push_back(rt.spawn([&, i] {
      (void)sleep_for(std::chrono::milliseconds(i % 50));
      woke.fetch_add(1);
    }));
  }
  for (auto& h : hs) h.join();
  EXPECT_EQ(woke.load(), n);
}

TEST_P(RuntimeSleep, ZeroAndNegativeSleepsReturnAtOnce) {
  Runtime rt{config()};
  rt.block_on([] {
    EXPECT_TRUE(sleep_for(0ms));
    EXPECT_TRUE(sleep_for(-5s));
    EXPECT_TRUE(sleep_until(Clock::now() - 1h));
  });
}

TEST_P(RuntimeSleep, HugeDurationsSaturateAndStayCancellable) {
  Runtime rt{config()};
  EXPECT_EQ(sched::deadline_after(std::chrono::hours::max()), Clock::time_point::max());
  EXPECT_EQ(sched::deadline_after(std::chrono::duration<double>(1e300)), Clock::time_point::max());
  EXPECT_EQ(sched::deadline_after(Clock::duration::max()), Clock::time_point::max());
  auto h = rt.spawn([] { return sleep_for(std::chrono::years(10000)); });
  std::this_thread::sleep_for(10ms);
  h.cancel();
  auto r = h.join();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::cancelled);
}

TEST_P(RuntimeSleep, SleepOnAPlainThreadSleepsTheThread) {
  const auto t0 = Clock::now();
  EXPECT_TRUE(sleep_for(10ms));
  EXPECT_GE(Clock::now() - t0, 10ms);
}

INSTANTIATE_WORKER_COUNTS(RuntimeSleep);

}  // namespace
}  // namespace weft
