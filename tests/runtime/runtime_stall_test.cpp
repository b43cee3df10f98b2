// Stalls: a fiber that spins without suspending is reported once (by name) by the stall monitor,
// fibers that suspend are never reported, fibers queued behind a spinning one are stolen and run by
// another worker, and a deadline shutdown names a spinner that never parked.
#include "support/test_support.hpp"

#include <atomic>
#include <chrono>
#include <numeric>
#include <string>
#include <vector>

namespace weft {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::uint64_t total_stalls(Runtime& rt) {
  std::uint64_t n = 0;
  for (const auto& s : rt.stats()) n += s.stalls;
  return n;
}

// spin_for: burns CPU without any suspension point.
void spin_for(Clock::duration d) {
  const auto end = Clock::now() + d;
  while (Clock::now() < end) {
  }
}

TEST(RuntimeStall, SpinningFiberIsReportedOnceWithItsName) {
  Runtime rt{Config{.workers = 2, .stall_threshold = 20ms}};
  testing::internal::CaptureStderr();
  const bool seen = rt.block_on([&] {
    return rt.spawn(SpawnOptions{.name = "spinner"}, [&] {
      // No suspension point until the monitor reported us (bounded), then as long again: one report.
      const auto bound = Clock::now() + 20s;
      while (total_stalls(rt) == 0 && Clock::now() < bound) {
      }
      const bool reported = total_stalls(rt) > 0;
      spin_for(150ms);
      return reported;
    }).join();
  });
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_TRUE(seen);
  EXPECT_EQ(total_stalls(rt), 1u);
  EXPECT_NE(err.find("'spinner'"), std::string::npos) << err;
  EXPECT_NE(err.find("without suspending"), std::string::npos) << err;
}

TEST(RuntimeStall, FibersThatSuspendAreNeverReported) {
  // A generous threshold: a worker thread the OS deschedules mid-fiber looks stuck too, and the
  // test machine is shared.
  Runtime rt{Config{.workers = 2, .stall_threshold = 200ms}};
  rt.block_on([] {
    const auto end = Clock::now() + 300ms;
    while (Clock::now() < end) this_fiber::yield();  // busy, but suspending all the time
    (void)sleep_for(300ms);                            // parked: its worker is idle, not stuck
  });
  std::this_thread::sleep_for(300ms);  // idle workers
  EXPECT_EQ(total_stalls(rt), 0u);
}

TEST(RuntimeStall, ZeroThresholdDisablesTheMonitor) {
  Runtime rt{Config{.workers = 1, .stall_threshold = 0ms}};
  rt.block_on([] { spin_for(100ms); });
  EXPECT_EQ(total_stalls(rt), 0u);
  EXPECT_THROW(Runtime(Config{.workers = 1, .stall_threshold = -1ms}), std::system_error);
}

// Fibers queued behind a fiber that never suspends run anyway: the other worker steals them.
TEST(RuntimeStall, QueuedFibersAreStolenFromAStuckWorker) {
  Runtime rt{Config{.workers = 2, .stall_threshold = 0ms}};
  const int n = 50;
  std::atomic<int> ran{0};
  const bool all_ran = rt.block_on([&] {
    std::vector<JoinHandle<void>> hs;
    for (int i = 0; i < n; ++i) hs.push_back(spawn([&] { ran.fetch_add(1); }));  // on this worker's queue
    const auto bound = Clock::now() + 20s;
    while (ran.load() < n && Clock::now() < bound) {
    }  // holds this worker without suspending
    const bool ok = ran.load() == n;
    for (auto& h : hs) h.join();
    return ok;
  });
  EXPECT_TRUE(all_ran);
}

TEST(RuntimeStall, DeadlineShutdownNamesARunningFiberThatNeverParked) {
  Runtime rt{Config{.workers = 2, .stall_threshold = 0ms}};
  std::atomic<bool> started{false}, release{false};
  auto h = rt.spawn([&] {
    started.store(true);
    const auto bound = Clock::now() + 30s;
    while (!release.load() && Clock::now() < bound) {
    }
  });
  const FiberId id = h.id();
  h.detach();
  ASSERT_TRUE(test::eventually([&] { return started.load(); }));
  const ShutdownReport report = rt.shutdown_for(30ms);
  EXPECT_EQ(report.unfinished, 1u);
  ASSERT_EQ(report.tasks.size(), 1u);
  EXPECT_EQ(report.tasks[0].id, id);
  EXPECT_EQ(report.tasks[0].name, "");
  release.store(true);
  EXPECT_TRUE(rt.shutdown_for(20s).complete());
}

}  // namespace
}  // namespace weft
