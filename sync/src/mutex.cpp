// mutex.cpp: Mutex's slow paths.
//
// Why no wake-up is lost: HAS_WAITERS (kWaiters) is set, under the queue lock, by every waiter
// before it re-checks LOCKED and queues; it is cleared only under the queue lock when the queue is
// empty. unlock()'s fast CAS (LOCKED -> 0) fails while it is set, so the unlocker takes the queue
// lock and sees every waiter that queued. A waiter that found LOCKED clear after setting the bit
// took the lock itself (CAS). All changes to the word are RMWs, so a barger's CAS and the bit
// updates never overwrite each other.
//
// WOKEN (kWoken): set by unlock() when it wakes a waiter to retry, cleared by that waiter when it
// takes the lock, re-queues, or leaves. While it is set, unlock() only clears LOCKED (one RMW): the
// woken waiter will compete, so waking a second one would only add wake-ups and switches. The
// woken waiter clears it with an RMW that returns the state: if it leaves while the lock is free, it
// wakes the next waiter itself (an unlock that saw WOKEN woke nobody), so nothing is stranded.
//
// Why nobody starves: the queue is FIFO and a woken waiter that loses the race re-queues at the
// front with its first arrival time; unlock() hands the lock to the front waiter once it has waited
// threshold_ns_, without clearing LOCKED. So the front waiter is served within one threshold plus
// one critical section, and everyone reaches the front.
#include <weft/sync/mutex.hpp>

#include <weft/sched/this_fiber.hpp>

#include <cassert>

namespace weft {

namespace {
using sync::cpu_relax;
// Spins before queuing. Contended (sync_bench, 8 fibers on 2 workers): 0 spins 21.6 M/s, 4-16
// spins 40 M/s, 32 spins 35-38 M/s: longer spinning only steals the line from the holder.
constexpr int kSpins = 8;
}  // namespace

Result<void> Mutex::lock_slow(sync::Clock::time_point deadline, bool cancellable) {
  // Brief spin: a holder on another worker usually releases within a few hundred cycles.
  for (int i = 0; i < kSpins; ++i) {
    if (try_lock()) return {};
    cpu_relax();
  }
  sync::Waiter w;
  w.since = sync::Clock::now();
  bool front = false;  // a woken waiter that lost the race re-queues at the front
  for (;;) {
    {
      auto g = queue_.lock();
      // A re-queuing woken waiter drops WOKEN here (an unlock() that saw it woke nobody; the
      // re-check of LOCKED below covers the lock it may have released meanwhile).
      std::uint32_t s = state_.load(std::memory_order_relaxed);
      const std::uint32_t drop = front ? kWoken : 0;
      while (!state_.compare_exchange_weak(s, (s | kWaiters) & ~drop, std::memory_order_relaxed)) {
      }
      s = (s | kWaiters) & ~drop;
      while (!(s & kLocked)) {
        // Acquire: pairs with the release in unlock().
        if (state_.compare_exchange_weak(s, s | kLocked, std::memory_order_acquire, std::memory_order_relaxed)) {
          if (queue_.empty(g)) state_.fetch_and(~kWaiters, std::memory_order_relaxed);
          return {};
        }
      }
      if (front) {
        queue_.push_front(g, w);
      } else {
        queue_.push_back(g, w);
      }
    }
    auto status = queue_.wait(w, deadline, cancellable, [this](const sync::WaitQueue::Guard& g) {
      if (queue_.empty(g)) state_.fetch_and(~kWaiters, std::memory_order_relaxed);
    });
    if (status == sync::WaitStatus::timed_out) return fail(std::errc::timed_out);
    if (status == sync::WaitStatus::cancelled) return fail(errc::cancelled);
    // Acquire on `notified` in wait() pairs with the release in notify(): the previous owner's
    // critical section happens before ours on a hand-off.
    if (w.grant == kHandoff) return {};
    // Retry (we carry WOKEN): compete for the lock, then queue again at the front unless we leave.
    for (int i = 0; i < kSpins; ++i) {
      std::uint32_t s = state_.load(std::memory_order_relaxed);
      if (!(s & kLocked) &&
          state_.compare_exchange_weak(s, (s | kLocked) & ~kWoken, std::memory_order_acquire, std::memory_order_relaxed))
        return {};
      cpu_relax();
    }
    const bool cancelled = cancellable && this_fiber::cancellation_requested();
    if (cancelled || (deadline != sync::Clock::time_point::max() && sync::Clock::now() >= deadline)) {
      give_up_woken();
      if (cancelled) return fail(errc::cancelled);
      return fail(std::errc::timed_out);
    }
    front = true;
  }
}

void Mutex::give_up_woken() noexcept {
  sync::WakeList wakes;
  auto g = queue_.lock();
  const std::uint32_t s = state_.fetch_and(~kWoken, std::memory_order_relaxed);
  // An unlock() that saw WOKEN woke nobody: if the lock is free now, pass the wake on. If it is
  // held, its holder's unlock() sees WOKEN clear and wakes the next waiter.
  if (!(s & kLocked) && !queue_.empty(g)) {
    state_.fetch_or(kWoken, std::memory_order_relaxed);
    queue_.notify(g, *queue_.front(g), kRetry, wakes);
    if (queue_.empty(g)) state_.fetch_and(~kWaiters, std::memory_order_relaxed);
  }
}

void Mutex::unlock_slow() noexcept {
  // A woken waiter is already on its way (or nobody waits after all): just release.
  std::uint32_t s = state_.load(std::memory_order_relaxed);
  while ((s & kWoken) || !(s & kWaiters)) {
    assert(s & kLocked);
    // Release: pairs with the acquire CAS of the next lock().
    if (state_.compare_exchange_weak(s, s & ~kLocked, std::memory_order_release, std::memory_order_relaxed)) return;
  }
  sync::WakeList wakes;
  auto g = queue_.lock();
  assert(state_.load(std::memory_order_relaxed) & kLocked);
  // Under the queue lock and holding LOCKED, WOKEN cannot change (its owner clears it only under the
  // queue lock or by taking LOCKED), and HAS_WAITERS only changes under the queue lock.
  if (state_.load(std::memory_order_relaxed) & kWoken) {
    state_.fetch_and(~kLocked, std::memory_order_release);
    return;
  }
  sync::Waiter* w = queue_.front(g);
  if (!w) {
    // Release: pairs with the acquire CAS of the next lock().
    state_.fetch_and(~(kLocked | kWaiters), std::memory_order_release);
    return;
  }
  const bool starving = sync::Clock::now() - w->since >= std::chrono::nanoseconds(threshold_ns_);
  if (starving) {
    // Hand-off: LOCKED stays set; the waiter's acquire of `notified` orders our critical section.
    queue_.notify(g, *w, kHandoff, wakes);
    if (queue_.empty(g)) state_.fetch_and(~kWaiters, std::memory_order_relaxed);
  } else {
    queue_.notify(g, *w, kRetry, wakes);
    const std::uint32_t clear = kLocked | (queue_.empty(g) ? kWaiters : 0);
    std::uint32_t cur = state_.load(std::memory_order_relaxed);
    // Release: pairs with the acquire CAS of the next lock(). WOKEN and the release in one RMW.
    while (!state_.compare_exchange_weak(cur, (cur | kWoken) & ~clear, std::memory_order_release,
                                         std::memory_order_relaxed)) {
    }
  }
}

}  // namespace weft
