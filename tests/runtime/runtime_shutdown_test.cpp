// Shutdown: parked and queued tasks are cancelled, detached tasks either finish or are cancelled,
// spawns after shutdown never run, and every stack is freed (ASan's leak check covers the tasks).
#include "support/test_support.hpp"

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <system_error>
#include <vector>

namespace weft {
namespace {

using namespace std::chrono_literals;

class RuntimeShutdown : public test::WorkerCountTest {};

// ignores_cancellation: a task body that parks once (so the shutdown's cancel pass knows it), sets
// `parked`, then yields without a cancellation point until `release` (bounded: 30 s), and sets
// `ended`.
auto ignores_cancellation(std::atomic<bool>& parked, std::atomic<bool>& release, std::atomic<bool>& ended) {
  return [&parked, &release, &ended] {
    (void)sleep_for(1ms);
    parked.store(true);
    const auto bound = std::chrono::steady_clock::now() + 30s;
    while (!release.load() && std::chrono::steady_clock::now() < bound) this_fiber::yield();
    ended.store(true);
  };
}

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
  auto h = rt.spawn(SpawnOptions{.name = "stubborn"}, ignores_cancellation(parked_once, release, ended));
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

// Newest first, across workers too: a chain of tasks each spawned by the one before (on whatever
// worker it runs) is reported, in the order they are cancelled, child before parent. FiberIds come
// in per-thread blocks, so on 2+ workers they do not give that order by themselves.
TEST_P(RuntimeShutdown, CancelsAChainOfSpawnsChildBeforeParent) {
  constexpr int kDepth = 8;
  Runtime rt{config()};
  std::atomic<bool> release{false};
  std::atomic<int> parked{0};
  std::vector<FiberId> ids(kDepth);
  std::function<void(int)> body = [&](int depth) {
    ids[depth] = this_fiber::id();
    if (depth + 1 < kDepth) weft::spawn([&body, depth] { body(depth + 1); }).detach();
    (void)sleep_for(1ms);  // parks once: registered for the shutdown's cancel pass
    parked.fetch_add(1);
    const auto bound = std::chrono::steady_clock::now() + 30s;
    while (!release.load() && std::chrono::steady_clock::now() < bound) this_fiber::yield();
  };
  rt.spawn([&] { body(0); }).detach();
  ASSERT_TRUE(test::eventually([&] { return parked.load() == kDepth; }));

  const ShutdownReport report = rt.shutdown_for(0s);
  std::vector<FiberId> listed;
  for (const auto& t : report.tasks) listed.push_back(t.id);
  EXPECT_EQ(listed, std::vector<FiberId>(ids.rbegin(), ids.rend()));
  release.store(true);
  EXPECT_TRUE(rt.shutdown_for(20s).complete());
}

// The destructor waits Config::shutdown_timeout, hands what is left to on_shutdown_report, then
// goes on waiting (here the report itself releases the stubborn task).
TEST_P(RuntimeShutdown, DestructorReportsWhatOutlivesTheTimeoutThenWaits) {
  std::atomic<bool> release{false}, parked{false}, ended{false};
  std::vector<ShutdownReport> reports;
  FiberId id = 0;
  {
    Config cfg = config();
    cfg.shutdown_timeout = 0ms;
    cfg.on_shutdown_report = [&](const ShutdownReport& r) {
      reports.push_back(r);
      release.store(true);
    };
    Runtime rt{cfg};
    auto h = rt.spawn(SpawnOptions{.name = "stubborn"}, ignores_cancellation(parked, release, ended));
    id = h.id();
    h.detach();
    ASSERT_TRUE(test::eventually([&] { return parked.load(); }));
  }
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0].unfinished, 1u);
  ASSERT_EQ(reports[0].tasks.size(), 1u);
  EXPECT_EQ(reports[0].tasks[0].id, id);
  EXPECT_EQ(reports[0].tasks[0].name, "stubborn");
  EXPECT_TRUE(ended.load());
}

// A shutdown that completes in time reports nothing.
TEST_P(RuntimeShutdown, DestructorReportsNothingWhenEveryTaskEndsInTime) {
  int reports = 0;
  {
    Config cfg = config();
    cfg.on_shutdown_report = [&](const ShutdownReport&) { ++reports; };
    Runtime rt{cfg};
    std::atomic<bool> parked{false};
    rt.spawn([&] {
      parked.store(true);
      (void)sleep_for(std::chrono::hours(1));
    }).detach();
    ASSERT_TRUE(test::eventually([&] { return parked.load(); }));
  }
  EXPECT_EQ(reports, 0);
}

INSTANTIATE_WORKER_COUNTS(RuntimeShutdown);

// On one worker the cancelled tasks clean up in reverse spawn order: their wake-ups are queued
// newest first and the run queue keeps that order.
TEST(RuntimeShutdownOrder, OneWorkerCleansUpNewestFirst) {
  WEFT_SKIP_IF_SHUFFLED("the shuffle mode departs from the run order on purpose");
  constexpr int kTasks = 50;
  std::mutex mu;
  std::vector<int> cleaned;
  {
    Runtime rt{Config{.workers = 1}};
    for (int i = 0; i < kTasks; ++i) {
      rt.spawn([&, i] {
        (void)sleep_for(std::chrono::hours(1));
        std::lock_guard lock(mu);
        cleaned.push_back(i);
      }).detach();
    }
    // One worker runs spawns from main in order, each until it parks: once this one ran, every
    // task above is parked.
    rt.spawn([] {}).join();
  }
  std::vector<int> expected(kTasks);
  for (int i = 0; i < kTasks; ++i) expected[i] = kTasks - 1 - i;
  EXPECT_EQ(cleaned, expected);
}

TEST(RuntimeShutdownReport, DescribesTheTasksLeft) {
  EXPECT_EQ(describe(ShutdownReport{}), "the shutdown completed");
  ShutdownReport r{.unfinished = 3, .tasks = {{41, "conn"}, {7, ""}}};
  EXPECT_EQ(describe(r), "3 tasks did not finish: #41 \"conn\", #7 (and 1 more)");
  EXPECT_EQ(describe(ShutdownReport{.unfinished = 1, .tasks = {{9, "x"}}}), "1 task did not finish: #9 \"x\"");
  EXPECT_EQ(describe(ShutdownReport{.unfinished = 2, .tasks = {}}), "2 tasks did not finish (2 not listed)");
}

TEST(RuntimeShutdownReport, NegativeTimeoutIsRejected) {
  try {
    Runtime rt{Config{.workers = 1, .shutdown_timeout = -1ms}};
    FAIL() << "a negative shutdown_timeout was accepted";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), std::errc::invalid_argument);
  }
}

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
