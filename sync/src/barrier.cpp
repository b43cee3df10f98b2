// barrier.cpp: arrivals are counted under the queue lock; the last one resets the count and
// notifies everyone queued, so a phase's waiters are exactly the queue at that moment. A waiter
// that leaves early is still queued (checked under the lock by WaitQueue::wait) and withdraws its
// arrival in the same critical section.
#include <weft/sync/barrier.hpp>

#include <cassert>

namespace weft {

Barrier::Barrier(std::size_t parties) noexcept : parties_(parties) {
  assert(parties >= 1 && "weft::Barrier needs at least one party");
}

Result<bool> Barrier::arrive_and_wait_until(sync::Clock::time_point deadline) {
  sync::WakeList wakes;
  sync::Waiter w;
  {
    auto g = queue_.lock();
    if (++arrived_ == parties_) {
      arrived_ = 0;
      queue_.notify_all(g, 0, wakes);
      return true;
    }
    queue_.push_back(g, w);
  }
  auto r = sync::to_result(queue_.wait(w, deadline, true, [this](const sync::WaitQueue::Guard&) { --arrived_; }));
  if (!r) return fail(r.error());
  return false;  // not the leader
}

}  // namespace weft
