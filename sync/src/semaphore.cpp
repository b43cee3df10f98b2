// semaphore.cpp: Semaphore's slow paths. While HAS_WAITERS is set every change to the word happens
// under the queue lock (the lock-free CASes only succeed from a word without the bit), so
// serve_locked() reads and writes the count without racing anyone.
#include <weft/sync/semaphore.hpp>

#include <cassert>

namespace weft {

Semaphore::Semaphore(std::size_t permits) noexcept : state_(static_cast<std::uint64_t>(permits) << 1) {
  assert(permits <= max());
}

bool Semaphore::try_acquire(std::size_t n) noexcept {
  std::uint64_t s = state_.load(std::memory_order_relaxed);
  for (;;) {
    if ((s & kWaiters) || (s >> 1) < n) return false;
    // Acquire: pairs with the release in release(): what the releaser did happens before.
    if (state_.compare_exchange_weak(s, s - (static_cast<std::uint64_t>(n) << 1), std::memory_order_acquire,
                                     std::memory_order_relaxed))
      return true;
  }
}

void Semaphore::release(std::size_t n) noexcept {
  if (n == 0) return;
  std::uint64_t s = state_.load(std::memory_order_relaxed);
  while (!(s & kWaiters)) {
    assert((s >> 1) + n <= max() && "weft::Semaphore::release: more than max() permits");
    // Release: pairs with the acquire CAS in try_acquire().
    if (state_.compare_exchange_weak(s, s + (static_cast<std::uint64_t>(n) << 1), std::memory_order_release,
                                     std::memory_order_relaxed))
      return;
  }
  sync::WakeList wakes;
  auto g = queue_.lock();
  // Release: as above, for a later try_acquire once the queue drains.
  state_.fetch_add(static_cast<std::uint64_t>(n) << 1, std::memory_order_release);
  serve_locked(g, wakes);
}

void Semaphore::serve_locked(const sync::WaitQueue::Guard& g, sync::WakeList& wakes) noexcept {
  while (sync::Waiter* w = queue_.front(g)) {
    const std::uint64_t s = state_.load(std::memory_order_relaxed);
    if ((s >> 1) < w->request) return;  // the head does not fit: nobody behind it may pass
    state_.fetch_sub(static_cast<std::uint64_t>(w->request) << 1, std::memory_order_relaxed);
    queue_.notify(g, *w, 1, wakes);  // the waiter's acquire of `notified` orders the releasers' work
  }
  state_.fetch_and(~kWaiters, std::memory_order_relaxed);
}

Result<void> Semaphore::acquire_slow(std::size_t n, sync::Clock::time_point deadline) {
  sync::Waiter w;
  w.request = n;
  {
    auto g = queue_.lock();
    // After this RMW no lock-free CAS succeeds: the count is ours to read under the lock.
    const std::uint64_t s = state_.fetch_or(kWaiters, std::memory_order_acquire);
    if (queue_.empty(g) && (s >> 1) >= n) {
      state_.fetch_sub((static_cast<std::uint64_t>(n) << 1) | kWaiters, std::memory_order_relaxed);
      return {};
    }
    queue_.push_back(g, w);
  }
  sync::WakeList wakes;  // wakes whoever a departing head unblocks, after the queue lock is released
  return sync::to_result(
      queue_.wait(w, deadline, true, [&](const sync::WaitQueue::Guard& g) { serve_locked(g, wakes); }));
}

}  // namespace weft
