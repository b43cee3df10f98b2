// The per-worker timer heap: ordering, removal from the middle, fired entries cannot be removed,
// the lock-free next_deadline() cache, and all of it against a model under random operations.
#include "timer_heap.hpp"

#include <weft/sched/task.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <vector>

namespace weft::sched {
namespace {

using namespace std::chrono;

// A task that is never run: the heap only takes references on it.
class InertTask final : public Task {
 public:
  InertTask() { core().refs.store(1); }
  void run() noexcept override {}
  void abandon(std::exception_ptr) noexcept override {}
};

TEST(SchedTimerHeap, FiresInDeadlineOrderAndSkipsRemoved) {
  TimerHeap heap;
  auto* task = new InertTask;
  const auto base = steady_clock::now();
  std::vector<int> offsets(200);
  for (int i = 0; i < 200; ++i) offsets[i] = i;
  std::shuffle(offsets.begin(), offsets.end(), std::mt19937(42));
  std::vector<TimerEntry> entries(200);
  for (int i = 0; i < 200; ++i) {
    entries[i].deadline = base + milliseconds(offsets[i]);
    entries[i].task = task;
    heap.insert(&entries[i]);
  }
  EXPECT_EQ(heap.next_deadline(), base);
  int removed = 0;
  for (int i = 0; i < 200; i += 3) {
    EXPECT_TRUE(heap.remove(&entries[i]));
    EXPECT_FALSE(heap.remove(&entries[i]));
    ++removed;
  }
  std::vector<Task*> fired;
  heap.fire_expired(base + milliseconds(99), fired);
  heap.fire_expired(base + milliseconds(1000), fired);
  EXPECT_EQ(fired.size(), 200u - removed);
  for (Task* t : fired) t->unref();
  for (int i = 0; i < 200; ++i) {
    EXPECT_EQ(entries[i].fired.load(), i % 3 != 0) << i;
    if (i % 3 != 0) {
      EXPECT_FALSE(heap.remove(&entries[i]));
    }
  }
  EXPECT_EQ(heap.next_deadline(), steady_clock::time_point::max());
  EXPECT_EQ(heap.size(), 0u);
  task->unref();
}

TEST(SchedTimerHeap, FireExpiredStopsAtNow) {
  TimerHeap heap;
  auto* task = new InertTask;
  const auto base = steady_clock::now();
  TimerEntry early, late;
  early.deadline = base;
  early.task = task;
  late.deadline = base + hours(1);
  late.task = task;
  heap.insert(&late);
  heap.insert(&early);
  std::vector<Task*> fired;
  heap.fire_expired(base, fired);
  ASSERT_EQ(fired.size(), 1u);
  fired[0]->unref();
  EXPECT_TRUE(early.fired.load());
  EXPECT_FALSE(late.fired.load());
  EXPECT_EQ(heap.next_deadline(), late.deadline);
  EXPECT_TRUE(heap.remove(&late));
  task->unref();
}

// Against a model: random inserts, removals from anywhere and partial fires (many equal deadlines
// too); after every step next_deadline() is the earliest pending one, and a fire at `now` fires
// exactly the pending entries due by then.
TEST(SchedTimerHeap, MatchesAModelUnderRandomOperations) {
  TimerHeap heap;
  auto* task = new InertTask;
  const auto base = steady_clock::time_point{} + hours(1);
  constexpr int kEntries = 3000;
  std::vector<TimerEntry> entries(kEntries);
  std::vector<bool> pending(kEntries, false), done(kEntries, false);
  std::mt19937 rng(7);
  auto now = base;
  auto check_earliest = [&] {
    auto earliest = steady_clock::time_point::max();
    for (int i = 0; i < kEntries; ++i) {
      if (pending[i]) earliest = std::min(earliest, entries[i].deadline);
    }
    ASSERT_EQ(heap.next_deadline(), earliest);
  };
  int inserted = 0;
  for (int step = 0; step < 20000; ++step) {
    const int op = static_cast<int>(rng() % 10);
    if (op < 5 && inserted < kEntries) {
      TimerEntry& e = entries[inserted];
      e.deadline = now + microseconds(rng() % 64);  // few distinct values: many ties
      e.task = task;
      heap.insert(&e);
      pending[inserted++] = true;
    } else if (op < 8 && inserted > 0) {
      const int i = static_cast<int>(rng() % inserted);
      EXPECT_EQ(heap.remove(&entries[i]), pending[i]) << i;
      pending[i] = false;
    } else {
      now += microseconds(rng() % 16);
      std::vector<Task*> fired;
      heap.fire_expired(now, fired);
      std::size_t due = 0;
      for (int i = 0; i < inserted; ++i) {
        if (pending[i] && entries[i].deadline <= now) {
          ++due;
          pending[i] = false;
          done[i] = true;
          EXPECT_TRUE(entries[i].fired.load()) << i;
        }
      }
      EXPECT_EQ(fired.size(), due);
      for (Task* t : fired) t->unref();
    }
    check_earliest();
    if (HasFatalFailure()) break;
  }
  std::size_t left = 0;
  for (int i = 0; i < kEntries; ++i) {
    if (pending[i]) {
      ++left;
      EXPECT_FALSE(entries[i].fired.load()) << i;
    }
    if (!done[i]) {
      EXPECT_FALSE(entries[i].fired.load()) << i;
    }
  }
  EXPECT_EQ(heap.size(), left);
  for (int i = 0; i < kEntries; ++i) {
    if (pending[i]) heap.remove(&entries[i]);
  }
  task->unref();
}

}  // namespace
}  // namespace weft::sched
