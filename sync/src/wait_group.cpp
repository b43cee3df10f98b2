// wait_group.cpp: the counter reaches zero before the releaser takes the queue lock, and a waiter
// reads it under that lock before queuing: the releaser either finds the waiter queued or the waiter
// reads zero (the lock orders the two).
#include <weft/sync/wait_group.hpp>

#include <cassert>

namespace weft {

void WaitGroup::add(std::int64_t delta) noexcept {
  // acq_rel: release pairs with wait()'s acquire load (work before done() is visible to waiters);
  // acquire keeps the chain of done() calls ordered before the last one's notify.
  const std::int64_t now = count_.fetch_add(delta, std::memory_order_acq_rel) + delta;
  assert(now >= 0 && "weft::WaitGroup: counter went negative");
  if (now == 0 && delta < 0) {
    sync::WakeList wakes;
    auto g = queue_.lock();
    queue_.notify_all(g, 0, wakes);
  }
}

Result<void> WaitGroup::wait_until(sync::Clock::time_point deadline) {
  if (count_.load(std::memory_order_acquire) == 0) return {};
  sync::Waiter w;
  {
    auto g = queue_.lock();
    if (count_.load(std::memory_order_acquire) == 0) return {};
    queue_.push_back(g, w);
  }
  return sync::to_result(queue_.wait(w, deadline, true));
}

}  // namespace weft
