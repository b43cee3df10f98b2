// The per-worker timer heap: ordering, removal from the middle, fired entries cannot be removed,
// and the lock-free next_deadline() cache.
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

}  // namespace
}  // namespace weft::sched
