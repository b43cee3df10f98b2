// Fiber stacks: deep recursion within the configured size works, a stack overflow is reported
// with the fiber's name and id (death test), stacks are reused, and many parked fibers do not run
// into vm.max_map_count.
#include "support/test_support.hpp"

#include <unistd.h>

#include <atomic>
#include <system_error>
#include <cstdio>
#include <cstring>
#include <vector>

namespace weft {
namespace {

using namespace std::chrono_literals;

class RuntimeStackPerTask : public test::WorkerCountTest {};

// Recurses with a 1 KiB frame the optimiser cannot drop.
__attribute__((noinline)) int burn(int depth) {
  volatile char frame[1024];
  std::memset(const_cast<char*>(frame), depth, sizeof frame);
  if (depth == 0) return frame[0];
  return burn(depth - 1) + frame[depth % sizeof frame];
}

TEST(RuntimeStack, DeepRecursionWithinTheStackSize) {
  Runtime rt{Config{.workers = 1, .stack_size = 1024 * 1024}};
  EXPECT_NO_THROW(rt.block_on([] { return burn(512); }));  // ~512 KiB of a 1 MiB stack
}

TEST(RuntimeStackDeathTest, OverflowIsReportedWithTheFibersName) {
#if defined(WEFT_TSAN)
  GTEST_SKIP() << "TSan intercepts SIGSEGV before weft's handler";
#endif
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  auto overflow = [] {
    Runtime rt{Config{.workers = 1, .stack_size = 64 * 1024}};
    (void)rt.spawn(SpawnOptions{.name = "deep-diver"}, [] { return burn(1 << 20); }).join();
  };
  EXPECT_DEATH(overflow(), "weft: stack overflow in fiber [0-9]+ 'deep-diver'");
}

// SpawnOptions::stack_size: one task gets the deep stack it needs while the others keep the
// default; the same class is reused; a fiber spawned from a fiber can ask too.
TEST_P(RuntimeStackPerTask, ATaskCanAskForABiggerStack) {
  Runtime rt{Config{.workers = GetParam(), .stack_size = 64 * 1024}};
  for (int round = 0; round < 3; ++round) {
    auto deep = rt.spawn(SpawnOptions{.stack_size = 8 * 1024 * 1024}, [] { return burn(2048); });  // ~2 MiB
    EXPECT_NO_THROW(deep.join());
  }
  EXPECT_NO_THROW(rt.block_on([] {
    return weft::spawn(SpawnOptions{.name = "nested", .stack_size = 1024 * 1024}, [] { return burn(512); }).join();
  }));
  EXPECT_NO_THROW(rt.block_on([] { return burn(16); }));  // the default class still works
  std::uint64_t mapped = 0;
  for (auto& st : rt.stats()) mapped += st.stacks_mapped;
  EXPECT_LE(mapped, 4u * 32u * GetParam());  // a slab per class and worker at most, not per task
}

TEST_P(RuntimeStackPerTask, TheSmallestStackRunsAndParks) {
  Runtime rt{Config{.workers = GetParam()}};
  std::vector<JoinHandle<int>> hs;
  for (int i = 0; i < 100; ++i) {
    hs.push_back(rt.spawn(SpawnOptions{.stack_size = 16 * 1024}, [i] {
      (void)sleep_for(1ms);
      return burn(4) + i - burn(4);
    }));
  }
  for (int i = 0; i < 100; ++i) EXPECT_EQ(hs[i].join(), i);
}

TEST_P(RuntimeStackPerTask, SizesOutsideTheLimitsAreRejected) {
  Runtime rt{Config{.workers = GetParam()}};
  for (std::size_t bad : {std::size_t{1}, std::size_t{16 * 1024 - 1}, (std::size_t{1} << 30) + 1, ~std::size_t{0}}) {
    std::atomic<bool> ran{false};
    try {
      auto h = rt.spawn(SpawnOptions{.stack_size = bad}, [&] { ran.store(true); });
      ADD_FAILURE() << "stack_size " << bad << " was accepted";
    } catch (const std::system_error& e) {
      EXPECT_EQ(e.code(), std::errc::invalid_argument) << bad;
    }
    // From a fiber too; the task never runs and nothing leaks (ASan).
    auto code = rt.block_on([&] {
      try {
        weft::spawn(SpawnOptions{.stack_size = bad}, [&] { ran.store(true); }).detach();
      } catch (const std::system_error& e) {
        return e.code();
      }
      return std::error_code{};
    });
    EXPECT_EQ(code, std::errc::invalid_argument) << bad;
    EXPECT_FALSE(ran.load());
  }
}

INSTANTIATE_WORKER_COUNTS(RuntimeStackPerTask);

TEST(RuntimeStackDeathTest, OverflowOfAPerTaskStackIsReported) {
#if defined(WEFT_TSAN)
  GTEST_SKIP() << "TSan intercepts SIGSEGV before weft's handler";
#endif
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  auto overflow = [] {
    Runtime rt{Config{.workers = 1}};
    (void)rt.spawn(SpawnOptions{.name = "small", .stack_size = 32 * 1024}, [] { return burn(64); }).join();
  };
  EXPECT_DEATH(overflow(), "weft: stack overflow in fiber [0-9]+ 'small' \\(stack size [0-9]+ bytes");
}

TEST(RuntimeStack, StacksAreReusedByShortTasks) {
  WEFT_SKIP_IF_SHUFFLED("its count assumes FIFO order: block_on's task runs after the 10,000 spawned before it");
  Runtime rt{Config{.workers = 1}};
  for (int i = 0; i < 10000; ++i) rt.spawn([] {}).detach();
  rt.block_on([] {});
  std::uint64_t mapped = 0, started = 0;
  for (auto& s : rt.stats()) {
    mapped += s.stacks_mapped;
    started += s.tasks_started;
  }
  EXPECT_GE(started, 10001u);
  EXPECT_LE(mapped, 4u);  // a slab or a few, not one mapping per task
}

TEST(RuntimeStack, ManyParkedFibersStayUnderTheMapCount) {
  const int n = static_cast<int>(test::scaled(100000));
  Runtime rt{Config{.workers = 2}};
  std::atomic<int> parked{0};
  std::vector<JoinHandle<void>> hs;
  hs.reserve(n);
  for (int i = 0; i < n; ++i) {
    hs.push_back(rt.spawn([&] {
      parked.fetch_add(1);
      (void)sleep_for(std::chrono::hours(1));
    }));
  }
  ASSERT_TRUE(test::eventually([&] { return parked.load() == n; }, 120s));
  for (auto& h : hs) h.cancel();
  for (auto& h : hs) h.join();
}

// The stacks of a burst of parked fibers go back to the kernel once the workers are idle, all of
// them, not one batch: each fiber commits 64 KiB of its stack, so 20,000 hold 1.25 GiB while they
// wait; after they end the idle workers must give nearly all of it back (bounded wait, counted
// in bytes, not timed).
TEST(RuntimeStack, ABurstsStackMemoryGoesBackOnceIdle) {
#if defined(WEFT_ASAN) || defined(WEFT_TSAN)
  GTEST_SKIP() << "the sanitizers' shadow memory and fake stacks make RSS say nothing about weft's stacks";
#endif
  const int n = 20000;
  constexpr std::size_t kTouched = 64 * 1024;
  Runtime rt{Config{.workers = 2}};
  const std::uint64_t before = test::rss_bytes();
  if (before == 0) GTEST_SKIP() << "no /proc/self/statm";
  Event release;
  std::atomic<int> parked{0};
  std::vector<JoinHandle<void>> hs;
  hs.reserve(n);
  for (int i = 0; i < n; ++i) {
    hs.push_back(rt.spawn([&] {
      char stack_pages[kTouched];
      std::memset(stack_pages, 1, kTouched);
      asm volatile("" : : "r"(stack_pages) : "memory");  // the stores must happen
      parked.fetch_add(1);
      release.wait().value();
    }));
  }
  ASSERT_TRUE(test::eventually([&] { return parked.load() == n; }, 120s));
  const std::uint64_t burst = test::rss_bytes() - before;
  ASSERT_GT(burst, n * kTouched / 2) << "the fibers' stacks were not committed as expected";
  release.set();
  for (auto& h : hs) h.join();
  // The pools may keep 64 warm stacks per worker; everything else goes back.
  const std::uint64_t kept = 2 * 64 * (kTouched + 64 * 1024);
  EXPECT_TRUE(test::eventually([&] { return test::rss_bytes() < before + kept + burst / 10; }, 60s))
      << "resident " << test::rss_bytes() / (1 << 20) << " MiB, before the burst " << before / (1 << 20) << " MiB, burst "
      << burst / (1 << 20) << " MiB";
}

}  // namespace
}  // namespace weft
