// Fiber stacks: deep recursion within the configured size works, a stack overflow is reported
// with the fiber's name and id (death test), stacks are reused, and many parked fibers do not run
// into vm.max_map_count.
#include "support/test_support.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <vector>

namespace weft {
namespace {

using namespace std::chrono_literals;

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
