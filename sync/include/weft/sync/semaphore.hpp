// weft/sync/semaphore.hpp: a fair counting semaphore for fibers and plain threads.
//
// Semaphore holds a number of permits. acquire(n) takes n, waiting while fewer are available;
// release(n) returns n. Waiters are served strictly in FIFO order: a request for many permits at the
// head is not overtaken by later small ones (no starvation of large requests), and a new acquire
// queues behind existing waiters instead of barging.
//
// Invariants: permits never go negative; while anyone waits, the head waiter needs more permits than
// are available (otherwise release() would have served it). When a waiting request gives up (timeout,
// cancellation) the waiters behind it are re-served, so permits are never stranded.
//
// Protocol: one word holds `permits << 1 | HAS_WAITERS`. While HAS_WAITERS is clear, acquire and
// release are one CAS. HAS_WAITERS is set under the queue lock before a waiter queues and cleared
// under it when the queue empties; while it is set, every change to the word happens under the lock.
//
// Cancellation: acquire() and its timed forms return errc::cancelled when the calling fiber is
// cancelled while it waits (std::errc::timed_out at the deadline). A grant that races with the
// timeout or cancellation is kept: the call then succeeds.
//
// Thread-safety: all members from any fiber or thread.
//
//   weft::Semaphore slots{4};
//   if (auto r = slots.acquire(); r) { use_slot(); slots.release(); }
//   if (slots.acquire_for(10ms, 2)) { ...; slots.release(2); }
#pragma once

#include <weft/sched/error.hpp>
#include <weft/sync/wait_queue.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace weft {

// Semaphore: see the file comment.
class Semaphore {
 public:
  // max: the largest number of permits a Semaphore can hold.
  static constexpr std::size_t max() noexcept { return std::size_t{1} << 62; }

  // Semaphore: starts with `permits` permits (at most max()).
  explicit Semaphore(std::size_t permits = 0) noexcept;
  Semaphore(const Semaphore&) = delete;
  Semaphore& operator=(const Semaphore&) = delete;

  // acquire: takes n permits, waiting while fewer are available. Returns errc::cancelled when the
  // calling fiber is cancelled while it waits (no permit is taken then).
  Result<void> acquire(std::size_t n = 1) {
    if (try_acquire(n)) return {};
    return acquire_slow(n, sync::Clock::time_point::max());
  }
  // acquire_until: as acquire(), but returns std::errc::timed_out at `deadline` (steady_clock).
  Result<void> acquire_until(sync::Clock::time_point deadline, std::size_t n = 1) {
    if (try_acquire(n)) return {};
    return acquire_slow(n, deadline);
  }
  // acquire_for: acquire_until(now + d, n).
  template <class Rep, class Period>
  Result<void> acquire_for(std::chrono::duration<Rep, Period> d, std::size_t n = 1) {
    return acquire_until(sched::deadline_after(d), n);
  }

  // try_acquire: takes n permits if available and nobody waits ahead; never waits.
  bool try_acquire(std::size_t n = 1) noexcept;

  // release: returns n permits and serves waiters in FIFO order. Never blocks. Exceeding max() is a
  // bug (asserted).
  void release(std::size_t n = 1) noexcept;

  // available: a snapshot of the free permits.
  std::size_t available() const noexcept { return static_cast<std::size_t>(state_.load(std::memory_order_relaxed) >> 1); }

  // waiters: a snapshot of how many fibers/threads wait (for diagnostics and tests).
  std::size_t waiters() const noexcept { return queue_.waiters(); }

 private:
  static constexpr std::uint64_t kWaiters = 1;
  Result<void> acquire_slow(std::size_t n, sync::Clock::time_point deadline);
  // serve_locked: hands permits to head waiters while they fit; keeps HAS_WAITERS in sync.
  void serve_locked(const sync::WaitQueue::Guard& g, sync::WakeList& wakes) noexcept;

  std::atomic<std::uint64_t> state_;
  sync::WaitQueue queue_;
};

}  // namespace weft
