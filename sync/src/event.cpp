// event.cpp: the flag changes to true only under the queue lock, and a waiter checks it under that
// lock before it queues, so set() either sees the waiter queued or the waiter sees the flag.
#include <weft/sync/event.hpp>

namespace weft {

void Event::set() noexcept {
  sync::WakeList wakes;
  auto g = queue_.lock();
  if (mode_ == EventMode::manual_reset) {
    // Release: pairs with the acquire loads in try_wait()/is_set().
    set_.store(true, std::memory_order_release);
    queue_.notify_all(g, 0, wakes);
  } else if (!queue_.notify_one(g, 0, wakes)) {
    set_.store(true, std::memory_order_release);  // pairs with try_wait()'s acquire exchange
  }
}

bool Event::try_wait() noexcept {
  if (mode_ == EventMode::manual_reset) return set_.load(std::memory_order_acquire);
  bool expected = true;
  return set_.compare_exchange_strong(expected, false, std::memory_order_acquire, std::memory_order_relaxed);
}

Result<void> Event::wait_slow(sync::Clock::time_point deadline) {
  sync::Waiter w;
  {
    auto g = queue_.lock();
    if (try_wait()) return {};
    queue_.push_back(g, w);
  }
  return sync::to_result(queue_.wait(w, deadline, true));
}

}  // namespace weft
