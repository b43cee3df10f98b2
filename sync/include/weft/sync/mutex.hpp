// weft/sync/mutex.hpp: a fair mutual-exclusion lock for fibers and plain threads.
//
// Mutex satisfies Lockable and TimedLockable, so std::scoped_lock, std::unique_lock and
// weft::ConditionVariable work with it. A fiber that has to wait suspends (its worker runs other
// fibers); a plain thread blocks on a futex. Both may contend on the same Mutex.
//
// Protocol (Go's sync.Mutex, on the shared WaitQueue): the state word holds LOCKED, HAS_WAITERS and
// WOKEN (a dequeued waiter is on its way to retry: unlock() then wakes nobody else).
// lock() is one CAS when the Mutex is free; otherwise it spins briefly, then queues (FIFO). unlock()
// is one CAS when nobody waits; otherwise it dequeues the oldest waiter and either
//   - wakes it to *retry* (normal mode: LOCKED is cleared, a running fiber may take the lock first,
//     which keeps throughput high; a waiter that loses goes back to the *front* of the queue and
//     keeps its original arrival time), or
//   - when that waiter has waited at least the starvation threshold (default 1 ms), hands the lock
//     over directly (LOCKED is never cleared, nobody can barge): no waiter starves.
// A waiter whose deadline or cancellation races with a hand-off keeps the lock (the hand-off is
// never lost; see WaitQueue); one whose retry wake races with its deadline either takes the lock or
// leaves it held by a thread whose unlock() wakes the next waiter.
//
// Cancellation: a wait in a cancelled fiber ends. lock() throws std::system_error(errc::cancelled)
// (Lockable has no error channel), try_lock_for/until too; lock_cancellable() and
// lock_cancellable_until/for() return it as weft::Result. A lock that is free is taken even by a
// cancelled fiber: only waiting observes cancellation. Plain threads are never cancelled.
//
// Thread-safety: all members from any fiber or thread. Unlocking a Mutex the caller does not hold
// is undefined (as for std::mutex); it is not recursive.
//
//   weft::Mutex m;
//   { std::scoped_lock lock(m); ++shared; }                 // fibers and threads alike
//   if (m.try_lock_for(10ms)) { ...; m.unlock(); }
#pragma once

#include <weft/sched/error.hpp>
#include <weft/sync/wait_queue.hpp>

#include <atomic>
#include <cassert>
#include <cstddef>
#include <chrono>
#include <cstdint>
#include <system_error>
#include <type_traits>

namespace weft {

class ConditionVariable;

// Mutex: see the file comment.
class Mutex {
 public:
  // Mutex: an unlocked mutex. `starvation_threshold`: how long a waiter waits before the lock is
  // handed to it directly (tests shrink it; zero hands off on every contended unlock).
  explicit Mutex(std::chrono::nanoseconds starvation_threshold = std::chrono::milliseconds(1)) noexcept
      : threshold_ns_(starvation_threshold.count()) {}
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;
  // ~Mutex: the mutex must be unlocked and have no waiters (asserted).
  ~Mutex() { assert(!is_locked() && "weft::Mutex destroyed while locked"); }

  // lock: acquires, waiting (suspending the fiber / blocking the thread) while another holds it.
  // Throws std::system_error(errc::cancelled) when the calling fiber is cancelled while it waits.
  void lock() {
    if (try_lock_fast()) return;
    if (auto r = lock_slow(sync::Clock::time_point::max(), true); !r) throw std::system_error(r.error());
  }

  // try_lock: acquires if free, never waits. Returns whether it acquired.
  bool try_lock() noexcept {
    std::uint32_t s = state_.load(std::memory_order_relaxed);
    while (!(s & kLocked)) {
      // Acquire: pairs with the release in unlock().
      if (state_.compare_exchange_weak(s, s | kLocked, std::memory_order_acquire, std::memory_order_relaxed))
        return true;
    }
    return false;
  }

  // try_lock_until: as lock(), but gives up at `deadline`: returns false then. Throws
  // std::system_error(errc::cancelled) when the calling fiber is cancelled while it waits.
  template <class Clk, class Dur>
  bool try_lock_until(const std::chrono::time_point<Clk, Dur>& deadline) {
    auto r = lock_cancellable_until(deadline);
    if (r) return true;
    if (r.error() == std::errc::timed_out) return false;
    throw std::system_error(r.error());
  }
  // try_lock_for: try_lock_until(now + d).
  template <class Rep, class Period>
  bool try_lock_for(const std::chrono::duration<Rep, Period>& d) {
    return try_lock_until(sched::deadline_after(d));
  }

  // lock_cancellable: as lock(), but returns errc::cancelled instead of throwing.
  Result<void> lock_cancellable() {
    if (try_lock_fast()) return {};
    return lock_slow(sync::Clock::time_point::max(), true);
  }
  // lock_cancellable_until: as lock_cancellable(), but returns std::errc::timed_out at `deadline`
  // (any clock; other clocks than steady_clock are converted once).
  template <class Clk, class Dur>
  Result<void> lock_cancellable_until(const std::chrono::time_point<Clk, Dur>& deadline) {
    if (try_lock()) return {};
    return lock_slow(sync::to_steady(deadline), true);
  }
  // lock_cancellable_for: lock_cancellable_until(now + d).
  template <class Rep, class Period>
  Result<void> lock_cancellable_for(const std::chrono::duration<Rep, Period>& d) {
    if (try_lock()) return {};
    return lock_slow(sched::deadline_after(d), true);
  }

  // unlock: releases; wakes (or hands the lock to) the oldest waiter if any. Never blocks.
  void unlock() noexcept {
    // Read before the CAS: while fibers wait, the word holds more than LOCKED (for long stretches
    // when the waiters have gathered on the holder's worker, which keeps taking the lock while they
    // queue behind it), and a CAS bound to fail still costs a locked instruction. Without the read
    // that doubled the cost of each lock/unlock there: sync_bench contended 24 -> 45 M/s.
    std::uint32_t expected = state_.load(std::memory_order_relaxed);
    // Release: pairs with the acquire CAS of the next lock().
    if (expected == kLocked &&
        state_.compare_exchange_strong(expected, 0, std::memory_order_release, std::memory_order_relaxed))
      return;
    unlock_slow();
  }

  // is_locked: a snapshot, for assertions and tests.
  bool is_locked() const noexcept { return state_.load(std::memory_order_relaxed) & kLocked; }

  // waiters: a snapshot of how many fibers/threads wait (for diagnostics and tests).
  std::size_t waiters() const noexcept { return queue_.waiters(); }

 private:
  friend class ConditionVariable;
  static constexpr std::uint32_t kLocked = 1;
  static constexpr std::uint32_t kWaiters = 2;  // the queue is non-empty (changed under its lock)
  static constexpr std::uint32_t kWoken = 4;    // a dequeued waiter is about to retry (Go's mutexWoken)
  static constexpr std::uintptr_t kRetry = 0;
  static constexpr std::uintptr_t kHandoff = 1;

  bool try_lock_fast() noexcept {
    std::uint32_t expected = state_.load(std::memory_order_relaxed);  // see unlock()
    return expected == 0 &&
           state_.compare_exchange_strong(expected, kLocked, std::memory_order_acquire, std::memory_order_relaxed);
  }
  // lock_slow: spins, then queues; `cancellable` false for ConditionVariable's relock.
  Result<void> lock_slow(sync::Clock::time_point deadline, bool cancellable);
  void unlock_slow() noexcept;
  // give_up_woken: a woken waiter leaves without the lock: drops WOKEN, passes the wake on.
  void give_up_woken() noexcept;

  std::atomic<std::uint32_t> state_{0};
  std::int64_t threshold_ns_;
  sync::WaitQueue queue_;
};

}  // namespace weft
