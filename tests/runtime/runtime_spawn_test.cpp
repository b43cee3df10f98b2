// Spawning and joining: from main and from fibers, results and exceptions through join(),
// nested spawn trees, joining from plain threads, names and ids, cancellation before start, and
// misuse reported as errors.
#include "support/test_support.hpp"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <numeric>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace weft {
namespace {

using namespace std::chrono_literals;

class RuntimeSpawn : public test::WorkerCountTest {};

TEST_P(RuntimeSpawn, MillionTasksFromMainAllJoined) {
  Runtime rt{config()};
#if defined(WEFT_TSAN)
  // TSan clears a large ThreadState for every fiber it is told about (__tsan_create_fiber: most
  // of the run in perf), about 2 ms each here, and a TSan fiber cannot be reused for the next task
  // (its shadow call stack is never unwound). 5,000 tasks still race spawns against joins.
  const std::size_t n = 5'000;
#else
  const std::size_t n = test::scaled(1'000'000);
#endif
  std::atomic<std::uint64_t> sum{0};
  std::vector<JoinHandle<void>> handles;
  handles.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    handles.push_back(rt.spawn([&sum, i] { sum.fetch_add(i, std::memory_order_relaxed); }));
  }
  for (auto& h : handles) h.join();
  EXPECT_EQ(sum.load(), static_cast<std::uint64_t>(n) * (n - 1) / 2);
}

TEST_P(RuntimeSpawn, ReturnsValuesAndMovesArguments) {
  Runtime rt{config()};
  auto h = rt.spawn([](std::string s, int k) { return s + std::to_string(k); }, std::string("x"), 7);
  EXPECT_EQ(h.join(), "x7");
  auto p = rt.spawn([](std::unique_ptr<int> v) { return *v + 1; }, std::make_unique<int>(41));
  EXPECT_EQ(p.join(), 42);
}

TEST_P(RuntimeSpawn, ExceptionPropagatesThroughJoin) {
  Runtime rt{config()};
  auto h = rt.spawn([]() -> int { throw std::runtime_error("boom"); });
  EXPECT_THROW(
      {
        try {
          (void)h.join();
        } catch (const std::runtime_error& e) {
          EXPECT_STREQ(e.what(), "boom");
          throw;
        }
      },
      std::runtime_error);
  EXPECT_FALSE(h);  // join empties the handle
  EXPECT_THROW((void)h.join(), std::logic_error);
}

std::uint64_t tree(int depth) {
  if (depth == 0) return 1;
  auto left = spawn(tree, depth - 1);
  auto right = spawn(tree, depth - 1);
  return left.join() + right.join() + 1;
}

TEST_P(RuntimeSpawn, NestedSpawnTree) {
  Runtime rt{config()};
  const int depth = test::scaled(1000) >= 1000 ? 14 : 10;
  EXPECT_EQ(rt.block_on([depth] { return tree(depth); }), (std::uint64_t{1} << (depth + 1)) - 1);
}

TEST_P(RuntimeSpawn, JoinFromFiberAndFromPlainThreads) {
  Runtime rt{config()};
  auto slow = rt.spawn([] {
    (void)sleep_for(20ms);
    return 5;
  });
  // a fiber joins a task spawned from main
  auto joiner = rt.spawn([h = std::move(slow)]() mutable { return h.join() * 2; });
  int from_thread = 0;
  std::thread t([&] { from_thread = joiner.join(); });
  t.join();
  EXPECT_EQ(from_thread, 10);
}

TEST_P(RuntimeSpawn, ManyFibersJoinManyTasks) {
  Runtime rt{config()};
  const int n = static_cast<int>(test::scaled(2000));
  auto total = rt.block_on([n] {
    std::vector<JoinHandle<int>> inner;
    for (int i = 0; i < n; ++i) {
      inner.push_back(spawn([i] {
        this_fiber::yield();
        return i;
      }));
    }
    std::vector<JoinHandle<int>> outer;
    for (auto& h : inner) outer.push_back(spawn([h = std::move(h)]() mutable { return h.join(); }));
    long sum = 0;
    for (auto& h : outer) sum += h.join();
    return sum;
  });
  EXPECT_EQ(total, static_cast<long>(n) * (n - 1) / 2);
}

TEST_P(RuntimeSpawn, NamesAndIds) {
  Runtime rt{config()};
  auto h = rt.spawn(SpawnOptions{.name = "worker-bee"}, [] {
    return std::pair{std::string(this_fiber::name()), this_fiber::id()};
  });
  const FiberId id = h.id();
  auto [name, seen] = h.join();
  EXPECT_EQ(name, "worker-bee");
  EXPECT_EQ(seen, id);
  EXPECT_NE(id, 0u);
  EXPECT_EQ(this_fiber::id(), 0u);
  EXPECT_FALSE(this_fiber::in_fiber());
  EXPECT_TRUE(rt.block_on([] { return this_fiber::in_fiber() && this_fiber::worker_index().has_value(); }));
}

TEST_P(RuntimeSpawn, CancelBeforeStartNeverRuns) {
  Runtime rt{config()};
  std::atomic<bool> gate{false};
  std::atomic<int> ran{0};
  // Occupy every worker so the cancelled task cannot start before cancel() lands.
  std::vector<JoinHandle<void>> blockers;
  for (unsigned i = 0; i < rt.workers(); ++i) {
    blockers.push_back(rt.spawn([&] {
      while (!gate.load()) std::this_thread::yield();
    }));
  }
  ASSERT_TRUE(test::eventually([&] {
    std::uint64_t started = 0;
    for (auto& s : rt.stats()) started += s.tasks_started;
    return started == rt.workers();
  }));
  auto victim = rt.spawn([&] { ran.fetch_add(1); });
  victim.cancel();
  gate.store(true);
  for (auto& b : blockers) b.join();
  try {
    victim.join();
    FAIL() << "a task cancelled before it started must not complete normally";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), errc::cancelled);
  }
  EXPECT_EQ(ran.load(), 0);
}

TEST_P(RuntimeSpawn, CancelReachesASleepingTask) {
  Runtime rt{config()};
  auto h = rt.spawn([] { return sleep_for(std::chrono::hours(24)); });
  ASSERT_TRUE(test::eventually([&] {
    std::uint64_t parked = 0;
    for (auto& s : rt.stats()) parked += s.tasks_started;
    return parked == 1;
  }));
  h.cancel();
  auto r = h.join();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::cancelled);
}

TEST_P(RuntimeSpawn, JoiningFiberCancelledWhileWaiting) {
  Runtime rt{config()};
  std::atomic<bool> release{false};
  std::atomic<bool> joining{false};
  auto target = rt.spawn([&] {
    while (!release.load()) {
      if (!sleep_for(1ms)) return -1;  // cancelled (at shutdown, if the test fails early)
    }
    return 3;
  });
  auto joiner = rt.spawn([&, t = std::move(target)]() mutable {
    joining.store(true);
    try {
      (void)t.join();
      return std::string("joined");
    } catch (const std::system_error& e) {
      // the handle is still valid: the target keeps running
      return std::string(e.code() == errc::cancelled && t ? "cancelled" : "wrong error");
    }
  });
  ASSERT_TRUE(test::eventually([&] { return joining.load(); }));
  joiner.cancel();
  EXPECT_EQ(joiner.join(), "cancelled");
  release.store(true);
}

TEST_P(RuntimeSpawn, DetachedTasksFinish) {
  std::atomic<int> done{0};
  const int n = 1000;
  {
    Runtime rt{config()};
    for (int i = 0; i < n; ++i) rt.spawn([&] { done.fetch_add(1); }).detach();
    ASSERT_TRUE(test::eventually([&] { return done.load() == n; }));
  }
  EXPECT_EQ(done.load(), n);
}

TEST_P(RuntimeSpawn, ABurstOfSpawnsFromAFiberOverflowsItsQueueAndEveryTaskRuns) {
  // 1,000 spawns without suspending: more than a worker's run-queue ring holds (256), so the rest
  // wait in its overflow. Every task runs, and on one worker in spawn order: the overflow keeps
  // arrival order (sched/src/run_queue.hpp), where the old design moved the oldest half out.
  Runtime rt{config()};
  const int n = 1000;
  std::mutex mu;
  std::vector<int> order;
  order.reserve(n);
  rt.block_on([&] {
    std::vector<JoinHandle<void>> hs;
    hs.reserve(n);
    for (int i = 0; i < n; ++i) {
      hs.push_back(spawn([&, i] {
        std::lock_guard lock(mu);
        order.push_back(i);
      }));
    }
    for (auto& h : hs) h.join();
  });
  ASSERT_EQ(order.size(), static_cast<std::size_t>(n));
  if (rt.workers() == 1 && !test::shuffled()) {
    EXPECT_TRUE(std::is_sorted(order.begin(), order.end()));
  }
}

TEST_P(RuntimeSpawn, StealingHappens) {
  Runtime rt{config()};
  if (rt.workers() < 2) GTEST_SKIP() << "stealing needs two workers";
  std::atomic<int> on_other_worker{0};
  rt.block_on([&] {
    const unsigned home = *this_fiber::worker_index();
    std::vector<JoinHandle<void>> hs;
    for (int i = 0; i < 200; ++i) {
      hs.push_back(spawn([&, home] {
        if (this_fiber::worker_index() != home) on_other_worker.fetch_add(1);
      }));
    }
    // Keep this worker busy without suspending, so only thieves can run the children.
    const auto until = std::chrono::steady_clock::now() + 2s;
    while (on_other_worker.load() == 0 && std::chrono::steady_clock::now() < until) {
    }
    for (auto& h : hs) h.join();
  });
  EXPECT_GT(on_other_worker.load(), 0);
  std::uint64_t stolen = 0;
  for (auto& s : rt.stats()) stolen += s.tasks_stolen;
  EXPECT_GT(stolen, 0u);
}

TEST_P(RuntimeSpawn, YieldLetsOthersRun) {
  Runtime rt{config()};
  std::atomic<int> counter{0};
  rt.block_on([&] {
    auto other = spawn([&] { counter.fetch_add(1); });
    while (counter.load() == 0) this_fiber::yield();  // would spin forever on 1 worker without yield
    other.join();
  });
  EXPECT_EQ(counter.load(), 1);
}

INSTANTIATE_WORKER_COUNTS(RuntimeSpawn);

// peers_ready / yield_to_peers on one worker, where nothing can steal the spawned child before
// the checks.
TEST(RuntimePeersReady, OnlyAnotherFiberReadyOnThisWorkerCounts) {
  EXPECT_FALSE(this_fiber::peers_ready());  // a plain thread has no worker
  EXPECT_FALSE(this_fiber::yield_to_peers());
  Runtime rt{Config{.workers = 1}};
  rt.block_on([] {
    EXPECT_FALSE(this_fiber::peers_ready());
    EXPECT_FALSE(this_fiber::yield_to_peers());  // nobody to yield to: returns at once
    bool ran = false;
    auto child = spawn([&] { ran = true; });
    EXPECT_TRUE(this_fiber::peers_ready());  // queued here, not run yet
    EXPECT_TRUE(this_fiber::yield_to_peers());
    EXPECT_TRUE(ran);
    child.join();
    EXPECT_FALSE(this_fiber::peers_ready());
  });
}

TEST(RuntimeMisuse, SpawnOutsideAFiberIsALogicError) {
  EXPECT_THROW((void)spawn([] {}), std::logic_error);
}

TEST(RuntimeMisuse, BadConfigIsInvalidArgument) {
  try {
    Runtime rt{Config{.workers = 1, .stack_size = 1024}};
    FAIL() << "a 1 KiB stack must be refused";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), std::errc::invalid_argument);
  }
  EXPECT_THROW(Runtime(Config{.workers = 100000}), std::system_error);
}

TEST(RuntimeMisuse, TaskJoiningItselfIsALogicError) {
  Runtime rt{Config{.workers = 1}};
  std::atomic<JoinHandle<void>*> self{nullptr};
  std::atomic<bool> go{false};
  std::string what;
  JoinHandle<void> h = rt.spawn([&] {
    while (!go.load()) this_fiber::yield();
    try {
      self.load()->join();
    } catch (const std::logic_error& e) {
      what = e.what();
    }
  });
  self.store(&h);
  go.store(true);
  ASSERT_TRUE(test::eventually([&] { return h.is_finished(); }));
  EXPECT_NE(what.find("cannot join itself"), std::string::npos);
}

TEST(RuntimeMisuse, ResultValueThrowsSystemError) {
  Result<int> r = fail(errc::cancelled);
  EXPECT_THROW((void)r.value(), std::system_error);
  EXPECT_EQ(r.error().message(), "operation cancelled");
  EXPECT_STREQ(r.error().category().name(), "weft");
}

TEST(RuntimeRun, RunsOnADefaultRuntime) {
  EXPECT_EQ(run([] { return spawn([] { return 6; }).join() * 7; }), 42);
}

}  // namespace
}  // namespace weft
