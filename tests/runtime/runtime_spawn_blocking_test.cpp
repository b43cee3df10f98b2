// spawn_blocking: blocking work runs on the pool while the fibers keep running, returns its value
// or rethrows, runs inline on a plain thread, and its token follows the calling task's cancellation.
#include "support/test_support.hpp"

#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace weft {
namespace {

using namespace std::chrono_literals;

class RuntimeSpawnBlocking : public test::WorkerCountTest {
 protected:
  Config config() const { return Config{.workers = GetParam(), .blocking_threads = 4}; }
};

// Four blocking jobs each wait (in their pool thread) until a fiber has ticked 20 more times and
// all four are inside at once. If spawn_blocking blocked a worker instead of only the calling fiber,
// the ticker could not tick on the one-worker runtime and the jobs would report failure.
TEST_P(RuntimeSpawnBlocking, FibersKeepRunningWhileFourJobsBlock) {
  Runtime rt{config()};
  std::atomic<int> ticks{0}, inside{0}, done{0};
  auto ticker = rt.spawn([&] {
    const auto bound = std::chrono::steady_clock::now() + 30s;
    while (done.load() < 4 && std::chrono::steady_clock::now() < bound) {
      ticks.fetch_add(1);
      (void)sleep_for(1ms);
    }
  });
  std::vector<JoinHandle<bool>> callers;
  for (int i = 0; i < 4; ++i) {
    callers.push_back(rt.spawn([&] {
      const bool ok = spawn_blocking([&] {
        inside.fetch_add(1);
        const int start = ticks.load();
        const bool ticked = test::eventually([&] { return ticks.load() >= start + 20; });
        const bool together = test::eventually([&] { return inside.load() == 4; });
        return ticked && together;
      });
      done.fetch_add(1);
      return ok;
    }));
  }
  for (auto& c : callers) EXPECT_TRUE(c.join());
  ticker.join();
}

TEST_P(RuntimeSpawnBlocking, ReturnsValuesAndMoveOnlyResults) {
  Runtime rt{config()};
  auto v = rt.block_on([] {
    const auto caller = std::this_thread::get_id();
    auto p = spawn_blocking([&] {
      // It really ran on another thread.
      return std::make_unique<bool>(std::this_thread::get_id() != caller);
    });
    int x = spawn_blocking([] { return 41; }) + 1;
    spawn_blocking([] {});
    return *p && x == 42;
  });
  EXPECT_TRUE(v);
}

TEST_P(RuntimeSpawnBlocking, ExceptionsPropagateToTheCaller) {
  Runtime rt{config()};
  auto what = rt.block_on([]() -> std::string {
    try {
      spawn_blocking([]() -> int { throw std::runtime_error("disk on fire"); });
      return "no exception";
    } catch (const std::runtime_error& e) {
      return e.what();
    }
  });
  EXPECT_EQ(what, "disk on fire");
}

TEST_P(RuntimeSpawnBlocking, TokenIsCancelledWithTheCallingTaskWhichStillWaits) {
  Runtime rt{config()};
  std::atomic<bool> running{false}, returned{false};
  auto h = rt.spawn([&] {
    const bool saw = spawn_blocking([&](CancellationToken stop) {
      running.store(true);
      const bool seen = test::eventually([&] { return stop.cancelled(); });
      std::this_thread::sleep_for(5ms);  // still busy after the cancel: the fiber must wait
      returned.store(true);
      return seen;
    });
    return saw && returned.load();
  });
  ASSERT_TRUE(test::eventually([&] { return running.load(); }));
  h.cancel();
  EXPECT_TRUE(h.join());
}

TEST_P(RuntimeSpawnBlocking, TokenFollowsTheSpawnTokenOfTheCaller) {
  Runtime rt{config()};
  CancellationSource stop;
  std::atomic<bool> running{false};
  auto h = rt.spawn(SpawnOptions{.token = stop.token()}, [&] {
    return spawn_blocking([&](CancellationToken t) {
      running.store(true);
      return test::eventually([&] { return t.cancelled(); });
    });
  });
  ASSERT_TRUE(test::eventually([&] { return running.load(); }));
  stop.cancel();
  EXPECT_TRUE(h.join());
}

TEST_P(RuntimeSpawnBlocking, CancelledCallerDoesNotStartTheWork) {
  Runtime rt{config()};
  std::atomic<bool> ran{false}, started{false};
  auto h = rt.spawn([&] {
    started.store(true);
    while (!this_fiber::cancellation_requested()) this_fiber::yield();
    try {
      spawn_blocking([&] { ran.store(true); });
      return std::error_code{};
    } catch (const std::system_error& e) {
      return e.code();
    }
  });
  ASSERT_TRUE(test::eventually([&] { return started.load(); }));
  h.cancel();
  EXPECT_EQ(h.join(), make_error_code(errc::cancelled));
  EXPECT_FALSE(ran.load());
}

TEST_P(RuntimeSpawnBlocking, ManyCallersShareTheSmallPool) {
  Runtime rt{Config{.workers = GetParam(), .blocking_threads = 2}};
  const int n = static_cast<int>(test::scaled(400));
  std::atomic<int> sum{0};
  std::vector<JoinHandle<void>> hs;
  for (int i = 0; i < n; ++i) {
    hs.push_back(rt.spawn([&, i] { sum.fetch_add(spawn_blocking([i] { return i; })); }));
  }
  for (auto& h : hs) h.join();
  EXPECT_EQ(sum.load(), n * (n - 1) / 2);
}

INSTANTIATE_WORKER_COUNTS(RuntimeSpawnBlocking);

TEST(RuntimeSpawnBlockingPlainThread, RunsInlineFromMain) {
  const auto me = std::this_thread::get_id();
  EXPECT_EQ(spawn_blocking([] { return std::this_thread::get_id(); }), me);
  EXPECT_THROW(spawn_blocking([] { throw std::logic_error("x"); }), std::logic_error);
  const bool possible = spawn_blocking([](CancellationToken t) { return t.can_be_cancelled(); });
  EXPECT_FALSE(possible);
}

TEST(RuntimeSpawnBlockingConfig, PoolSizeComesFromConfig) {
  Runtime rt{Config{.workers = 1, .blocking_threads = 3}};
  EXPECT_EQ(rt.scheduler().blocking_pool().threads(), 3u);
  Runtime by_default{Config{.workers = 2}};
  EXPECT_EQ(by_default.scheduler().blocking_pool().threads(), 8u);
  EXPECT_THROW(Runtime(Config{.workers = 1, .blocking_threads = 100000}), std::system_error);
}

}  // namespace
}  // namespace weft
