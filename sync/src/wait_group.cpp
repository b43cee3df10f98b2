// wait_group.cpp: the counter reaches zero only under the queue lock, and a waiter that reads zero
// has held that lock after reading it, so:
// - the releaser either finds the waiter queued or the waiter reads zero (the lock orders the two);
// - a waiter returns only after the releaser's last touch of the WaitGroup (its unlock): the
//   caller may destroy it at once, as the header's example does. (Before, the last done()
//   decremented first and locked after, so a waiter could read zero on its fast path, return and
//   free the WaitGroup while done() was still to lock and notify: a use after free that the seeded
//   shuffle mode's seed sweep found, tests/sched/sched_seed_sweep_test.cpp.)
// The wakes go out after the unlock (WakeList), and each waiter's node is settled by WaitQueue.
#include <weft/sync/wait_group.hpp>

#include <cassert>

namespace weft {

void WaitGroup::add(std::int64_t delta) noexcept {
  // acq_rel: release pairs with wait()'s acquire loads (work before done() is visible to waiters);
  // acquire keeps the chain of done() calls ordered before the last one's notify.
  std::int64_t now = count_.load(std::memory_order_relaxed);
  while (now + delta != 0) {
    if (count_.compare_exchange_weak(now, now + delta, std::memory_order_acq_rel, std::memory_order_relaxed)) {
      assert(now + delta >= 0 && "weft::WaitGroup: counter went negative");
      return;
    }
  }
  sync::WakeList wakes;  // declared before the lock: woken after the lock is released
  auto g = queue_.lock();
  now = count_.fetch_add(delta, std::memory_order_acq_rel) + delta;
  assert(now >= 0 && "weft::WaitGroup: counter went negative");
  if (now == 0 && delta < 0) queue_.notify_all(g, 0, wakes);
}

Result<void> WaitGroup::wait_until(sync::Clock::time_point deadline) {
  if (count_.load(std::memory_order_acquire) == 0) {
    { auto g = queue_.lock(); }  // the releaser may hold it still: wait until it lets go
    return {};
  }
  sync::Waiter w;
  {
    auto g = queue_.lock();
    if (count_.load(std::memory_order_acquire) == 0) return {};
    queue_.push_back(g, w);
  }
  return sync::to_result(queue_.wait(w, deadline, true));
}

}  // namespace weft
