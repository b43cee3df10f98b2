// Fiber stacks: deep recursion within the configured size works, a stack overflow is reported
// with the fiber's name and id (death test), stacks are reused, and many parked fibers do not run
// into vm.max_map_count.
#include "support/test_support.hpp"

#include <atomic>
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

}  // namespace
}  // namespace weft
