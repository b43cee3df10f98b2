// condition_variable.cpp: the waiter queues before it unlocks the mutex. A notifier that changed
// the condition under the mutex and then notifies therefore either ran before the waiter's check
// (which then saw the change) or finds the waiter queued. Relocking ignores cancellation: the std
// contract says the lock is held on every return and exception.
#include <weft/sync/condition_variable.hpp>

#include <cassert>

namespace weft {

void ConditionVariable::notify_one() noexcept {
  sync::WakeList wakes;
  auto g = queue_.lock();
  queue_.notify_one(g, 0, wakes);
}

void ConditionVariable::notify_all() noexcept {
  sync::WakeList wakes;
  auto g = queue_.lock();
  queue_.notify_all(g, 0, wakes);
}

sync::WaitStatus ConditionVariable::wait_impl(std::unique_lock<Mutex>& lock, sync::Clock::time_point deadline) {
  assert(lock.owns_lock() && "weft::ConditionVariable::wait: the lock must be held");
  sync::Waiter w;
  {
    auto g = queue_.lock();
    queue_.push_back(g, w);
  }
  Mutex& m = *lock.mutex();
  m.unlock();
  const sync::WaitStatus status = queue_.wait(w, deadline, true);
  // Re-lock, not cancellable.
  if (!m.try_lock_fast()) (void)m.lock_slow(sync::Clock::time_point::max(), false);
  return status;
}

}  // namespace weft
