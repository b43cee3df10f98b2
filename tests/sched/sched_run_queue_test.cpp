// The worker's run queue (sched/src/run_queue.hpp), white-box: arrival order kept through the
// overflow whatever the number of runnable items, the stated bound on how many runs may precede an
// item (LIFO hand-offs included), thieves taking from the front, and the LIFO slot taken exactly
// once when its owner and a thief race for it.
#include "run_queue.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

namespace weft::sched {
namespace {

using Item = std::uintptr_t;
using Q8 = RunQueue<Item, 8>;

TEST(SchedRunQueue, OverflowKeepsArrivalOrder) {
  Q8 q;
  for (Item i = 1; i <= 1000; ++i) q.push_back(i);
  EXPECT_EQ(q.size(), 1000u);
  for (Item i = 1; i <= 1000; ++i) ASSERT_EQ(q.pop(), i);
  EXPECT_EQ(q.pop(), 0u);
}

// Pushes and pops interleaved, so items keep entering while the overflow drains into the ring:
// a later arrival never passes an earlier one.
TEST(SchedRunQueue, InterleavedPushesNeverOvertake) {
  Q8 q;
  Item next_in = 1, next_out = 1;
  for (int round = 0; round < 2000; ++round) {
    const int pushes = 1 + round % 13;
    for (int i = 0; i < pushes; ++i) q.push_back(next_in++);
    const int pops = 1 + round % 11;
    for (int i = 0; i < pops && next_out < next_in; ++i) ASSERT_EQ(q.pop(), next_out++);
  }
  while (next_out < next_in) ASSERT_EQ(q.pop(), next_out++);
  EXPECT_TRUE(q.empty());
}

// The bound of run_queue.hpp: an item pushed behind N others runs after at most
// N + kLifoBudget * (N / (kLifoWindow - kLifoBudget) + 2) other runs, even when every run hands off through the
// LIFO slot (the worst case: a ping-pong pair on a busy worker).
TEST(SchedRunQueue, LifoHandOffsStayWithinTheStatedBound) {
  using Q = RunQueue<Item, 256>;
  for (const std::size_t n : {0u, 1u, 60u, 61u, 255u, 256u, 1000u, 5000u}) {
    Q q;
    for (Item i = 1; i <= n; ++i) q.push_back(i);
    constexpr Item kWatched = 1'000'000;
    q.push_back(kWatched);
    // Every run wakes a fresh item into the LIFO slot (its displaced one goes to the back).
    Item next_lifo = 2'000'000;
    std::size_t runs_before = 0;
    for (;;) {
      const Item v = q.pop();
      ASSERT_NE(v, 0u);
      if (v == kWatched) break;
      ++runs_before;
      if (Item displaced = q.push_lifo(next_lifo++)) q.push_back(displaced);
      ASSERT_LT(runs_before, 10 * n + 100) << "the watched item never ran";
    }
    const std::size_t bound = n + Q::kLifoBudget * (n / (Q::kLifoWindow - Q::kLifoBudget) + 2);
    EXPECT_LE(runs_before, bound) << "N = " << n;
  }
}

// With nothing else queued the LIFO slot is always taken first: a ping-pong pair never detours.
TEST(SchedRunQueue, LifoRunsFirstWhenNobodyWaits) {
  Q8 q;
  for (Item i = 1; i <= 100; ++i) {
    EXPECT_EQ(q.push_lifo(i), 0u);
    EXPECT_EQ(q.pop(), i);
  }
  // A second wake-up displaces the first, which the caller queues at the back.
  EXPECT_EQ(q.push_lifo(7), 0u);
  EXPECT_EQ(q.push_lifo(8), 7u);
  EXPECT_EQ(q.pop(), 8u);
}

TEST(SchedRunQueue, ThievesTakeTheOldestFromRingThenOverflow) {
  Q8 q;
  for (Item i = 1; i <= 20; ++i) q.push_back(i);  // 8 in the ring, 12 in the overflow
  Item out[16] = {};
  ASSERT_EQ(q.steal_half(out, 16), 4u);  // half of the ring
  for (Item i = 0; i < 4; ++i) EXPECT_EQ(out[i], i + 1);
  ASSERT_EQ(q.steal_half(out, 16), 2u);
  EXPECT_EQ(out[0], 5u);
  ASSERT_EQ(q.steal_half(out, 16), 1u);
  ASSERT_EQ(q.steal_half(out, 16), 1u);  // the ring is empty now: the owner has not refilled it
  ASSERT_EQ(q.steal_half(out, 16), 6u);  // so the overflow's oldest half goes
  EXPECT_EQ(out[0], 9u);
  EXPECT_EQ(out[5], 14u);
  for (Item i = 15; i <= 20; ++i) EXPECT_EQ(q.pop(), i);  // the rest, still in order
  EXPECT_TRUE(q.empty());
}

TEST(SchedRunQueue, StealLifoTakesTheSlot) {
  Q8 q;
  EXPECT_EQ(q.steal_lifo(), 0u);
  EXPECT_EQ(q.push_lifo(5), 0u);
  EXPECT_EQ(q.size(), 1u);
  EXPECT_EQ(q.steal_lifo(), 5u);
  EXPECT_EQ(q.pop(), 0u);
}

// The owner hands off through the LIFO slot and pops while a thief keeps stealing the slot and
// half the queue: every item is taken exactly once.
TEST(SchedRunQueue, OwnerAndThiefTakeEveryItemOnce) {
  constexpr Item kItems = 200'000;
  RunQueue<Item, 16> q;
  std::vector<std::atomic<int>> taken(kItems + 1);
  std::atomic<bool> done{false};
  std::thread thief([&] {
    Item out[16];
    while (!done.load(std::memory_order_acquire)) {
      if (Item v = q.steal_lifo()) taken[v].fetch_add(1, std::memory_order_relaxed);
      const std::size_t n = q.steal_half(out, 16);
      for (std::size_t i = 0; i < n; ++i) taken[out[i]].fetch_add(1, std::memory_order_relaxed);
    }
  });
  for (Item i = 1; i <= kItems; ++i) {
    if (i % 3 == 0) {
      if (Item displaced = q.push_lifo(i)) q.push_back(displaced);
    } else {
      q.push_back(i);
    }
    if (i % 2 == 0) {
      if (Item v = q.pop()) taken[v].fetch_add(1, std::memory_order_relaxed);
    }
  }
  while (Item v = q.pop()) taken[v].fetch_add(1, std::memory_order_relaxed);
  done.store(true, std::memory_order_release);
  thief.join();
  if (Item v = q.steal_lifo()) taken[v].fetch_add(1, std::memory_order_relaxed);
  for (Item i = 1; i <= kItems; ++i) ASSERT_EQ(taken[i].load(), 1) << "item " << i;
}

}  // namespace
}  // namespace weft::sched
