// Shutdown: parked and queued tasks are cancelled, detached tasks either finish or are cancelled,
// spawns after shutdown never run, and every stack is freed (ASan's leak check covers the tasks).
#include "support/test_support.hpp"

#include <atomic>
#include <chrono>
#include <vector>

namespace weft {
namespace {

using namespace std::chrono_literals;

class RuntimeShutdown : public test::WorkerCountTest {};

TEST_P(RuntimeShutdown, CancelsParkedFibers) {
  const int n = static_cast<int>(test::scaled(5000));
  std::atomic<int> cancelled{0};
  std::atomic<int> started{0};
  {
    Runtime rt{config()};
    for (int i = 0; i < n; ++i) {
      rt.spawn([&] {
        started.fetch_add(1);
        auto r = sleep_for(std::chrono::hours(1));
        if (!r && r.error() == errc::cancelled) cancelled.fetch_add(1);
      }).detach();
    }
    ASSERT_TRUE(test::eventually([&] { return started.load() == n; }));
  }  // ~Runtime cancels them all and waits
  EXPECT_EQ(cancelled.load(), n);
}

TEST_P(RuntimeShutdown, DetachedTasksFinishOrAreCancelled) {
  const int n = static_cast<int>(test::scaled(20000));
  std::atomic<int> finished{0};
  std::atomic<int> cancelled{0};
  JoinHandle<int> kept;
  {
    Runtime rt{config()};
    for (int i = 0; i < n; ++i) {
      rt.spawn([&] {
        if (sleep_for(std::chrono::microseconds(100))) {
          finished.fetch_add(1);
        } else {
          cancelled.fetch_add(1);
        }
      }).detach();
    }
    kept = rt.spawn([] { return 1; });
  }
  // Every task that started either finished or saw the cancellation; none is lost or left running.
  EXPECT_LE(finished.load() + cancelled.load(), n);
  EXPECT_TRUE(kept.is_finished());
  try {
    EXPECT_EQ(kept.join(), 1);
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), errc::cancelled);  // shut down before it ran: also a valid outcome
  }
}

TEST_P(RuntimeShutdown, SpawnAfterShutdownNeverRuns) {
  Runtime rt{config()};
  rt.shutdown();
  std::atomic<bool> ran{false};
  auto h = rt.spawn([&] { ran.store(true); });
  EXPECT_TRUE(h.is_finished());
  EXPECT_THROW(h.join(), std::system_error);
  EXPECT_FALSE(ran.load());
  rt.shutdown();  // idempotent
}

TEST_P(RuntimeShutdown, FibersSpawningDuringShutdownTerminate) {
  std::atomic<int> spawned{0};
  {
    Runtime rt{config()};
    rt.spawn([&] {
      // Keeps spawning until cancelled: shutdown must still terminate.
      while (!this_fiber::cancellation_requested()) {
        spawn([&] { spawned.fetch_add(1); }).detach();
        this_fiber::yield();
      }
    }).detach();
    ASSERT_TRUE(test::eventually([&] { return spawned.load() > 100; }));
  }
  SUCCEED();
}

TEST_P(RuntimeShutdown, JoinHandleOutlivesRuntime) {
  JoinHandle<int> h;
  {
    Runtime rt{config()};
    h = rt.spawn([] { return 9; });
    ASSERT_TRUE(test::eventually([&] { return h.is_finished(); }));
  }
  EXPECT_EQ(h.join(), 9);
}

TEST_P(RuntimeShutdown, DeadlineShutdownCompletesWhenTasksCooperate) {
  Runtime rt{config()};
  std::atomic<int> started{0};
  for (int i = 0; i < 100; ++i) {
    rt.spawn([&] {
      started.fetch_add(1);
      (void)sleep_for(std::chrono::hours(1));
    }).detach();
  }
  ASSERT_TRUE(test::eventually([&] { return started.load() == 100; }));
  const ShutdownReport report = rt.shutdown_for(20s);
  EXPECT_TRUE(report.complete());
  EXPECT_EQ(report.unfinished, 0u);
  EXPECT_TRUE(report.tasks.empty());
  EXPECT_TRUE(rt.shutdown_for(0s).complete());  // done: nothing left to report
}

// A task that ignores cancellation (a CPU loop with a bounded lifetime) outlives the deadline: the
// report names it, spawns are refused meanwhile, and a later shutdown waits for it to end.
TEST_P(RuntimeShutdown, DeadlineShutdownReportsAStubbornTask) {
  Runtime rt{config()};
  std::atomic<bool> release{false}, parked_once{false}, ended{false};
  auto h = rt.spawn(SpawnOptions{.name = "stubborn"}, [&] {
    (void)sleep_for(1ms);
    parked_once.store(true);
    const auto bound = std::chrono::steady_clock::now() + 30s;
    while (!release.load() && std::chrono::steady_clock::now() < bound) this_fiber::yield();
    ended.store(true);
  });
  const FiberId id = h.id();
  h.detach();
  ASSERT_TRUE(test::eventually([&] { return parked_once.load(); }));

  const ShutdownReport report = rt.shutdown_for(30ms);
  EXPECT_FALSE(report.complete());
  EXPECT_EQ(report.unfinished, 1u);
  ASSERT_EQ(report.tasks.size(), 1u);
  EXPECT_EQ(report.tasks[0].id, id);
  EXPECT_EQ(report.tasks[0].name, "stubborn");
  EXPECT_FALSE(ended.load());

  std::atomic<bool> ran{false};
  auto late = rt.spawn([&] { ran.store(true); });  // shutting down: refused
  EXPECT_THROW(late.join(), std::system_error);
  EXPECT_FALSE(ran.load());

  release.store(true);
  const ShutdownReport second = rt.shutdown_for(20s);
  EXPECT_TRUE(second.complete());
  EXPECT_TRUE(ended.load());
}

INSTANTIATE_WORKER_COUNTS(RuntimeShutdown);

TEST(RuntimeShutdownMisuse, ShutdownFromOwnFiberIsALogicError) {
  Runtime rt{Config{.workers = 1}};
  auto what = rt.block_on([&] {
    try {
      rt.shutdown();
    } catch (const std::logic_error& e) {
      return std::string(e.what());
    }
    return std::string();
  });
  EXPECT_NE(what.find("own fibers"), std::string::npos);
}

}  // namespace
}  // namespace weft
