// The bounded owner/thief run queue: FIFO order, wrap-around, overflow refusal, take_half
// arithmetic, and a concurrent owner-vs-thieves run in which every item is taken exactly once.
#include "local_queue.hpp"

#include "support/test_support.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

namespace weft::sched {
namespace {

using Q4 = LocalQueue<std::uintptr_t, 4>;

TEST(SchedLocalQueue, FifoAndFull) {
  Q4 q;
  for (std::uintptr_t i = 1; i <= 4; ++i) EXPECT_TRUE(q.try_push(i));
  EXPECT_FALSE(q.try_push(5));
  EXPECT_EQ(q.size(), 4u);
  for (std::uintptr_t i = 1; i <= 4; ++i) EXPECT_EQ(q.pop(), i);
  EXPECT_EQ(q.pop(), 0u);
  EXPECT_TRUE(q.empty());
}

TEST(SchedLocalQueue, WrapsAroundManyTimes) {
  Q4 q;
  std::uintptr_t next_in = 1, next_out = 1;
  for (int round = 0; round < 1000; ++round) {
    while (q.try_push(next_in)) ++next_in;
    const std::size_t take = 1 + round % 4;
    for (std::size_t i = 0; i < take && !q.empty(); ++i) EXPECT_EQ(q.pop(), next_out++);
  }
  while (!q.empty()) EXPECT_EQ(q.pop(), next_out++);
  EXPECT_EQ(next_in, next_out);
}

TEST(SchedLocalQueue, TakeHalfRoundsUpAndRespectsMax) {
  LocalQueue<std::uintptr_t, 8> q;
  for (std::uintptr_t i = 1; i <= 5; ++i) ASSERT_TRUE(q.try_push(i));
  std::uintptr_t out[8] = {};
  EXPECT_EQ(q.take_half(out, 8), 3u);  // half of 5, rounded up
  EXPECT_EQ(out[0], 1u);
  EXPECT_EQ(out[2], 3u);
  EXPECT_EQ(q.take_half(out, 1), 1u);  // max caps it
  EXPECT_EQ(out[0], 4u);
  EXPECT_EQ(q.pop(), 5u);
  EXPECT_EQ(q.take_half(out, 8), 0u);
}

TEST(SchedLocalQueue, ConcurrentStealersTakeEachItemOnce) {
  constexpr std::uintptr_t kItems = weft::test::scaled(200000);
  LocalQueue<std::uintptr_t, 16> q;
  std::vector<std::atomic<int>> seen(kItems + 1);
  std::atomic<bool> done{false};
  std::atomic<std::uintptr_t> taken{0};
  auto record = [&](std::uintptr_t v) {
    ASSERT_GE(v, 1u);
    ASSERT_LE(v, kItems);
    seen[v].fetch_add(1, std::memory_order_relaxed);
    taken.fetch_add(1, std::memory_order_relaxed);
  };
  std::vector<std::thread> thieves;
  for (int t = 0; t < 3; ++t) {
    thieves.emplace_back([&] {
      std::uintptr_t buf[16];
      while (!done.load(std::memory_order_acquire) || !q.empty()) {
        const std::size_t n = q.take_half(buf, 16);
        for (std::size_t i = 0; i < n; ++i) record(buf[i]);
        if (n == 0) std::this_thread::yield();
      }
    });
  }
  for (std::uintptr_t i = 1; i <= kItems;) {
    if (q.try_push(i)) {
      ++i;
    } else if (std::uintptr_t v = q.pop()) {
      record(v);
    }
  }
  done.store(true, std::memory_order_release);
  while (std::uintptr_t v = q.pop()) record(v);
  for (auto& t : thieves) t.join();
  EXPECT_EQ(taken.load(), kItems);
  for (std::uintptr_t i = 1; i <= kItems; ++i) ASSERT_EQ(seen[i].load(), 1) << "item " << i;
}

}  // namespace
}  // namespace weft::sched
