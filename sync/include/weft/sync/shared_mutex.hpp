// weft/sync/shared_mutex.hpp: a fair, writer-preferring readers/writer lock for fibers and plain threads.
//
// SharedMutex satisfies SharedTimedLockable (and TimedLockable), so std::shared_lock,
// std::unique_lock and std::scoped_lock work with it. Any number of readers (lock_shared) may hold it
// at once; a writer (lock) holds it alone. A fiber that has to wait suspends (its worker runs other
// fibers); a plain thread blocks on a futex. Both may contend on the same SharedMutex.
//
// Fairness: writer-preferring and otherwise FIFO. Once anybody waits, newcomers (readers included)
// queue behind: a reader arriving while a writer waits does not join the current readers, so
// writers never starve; readers are served in runs (every reader at the head of the queue up to the
// next writer is admitted at once), so readers never starve either.
//
// Protocol (Semaphore's, on the shared WaitQueue): one word holds
// `readers << 2 | WRITER | HAS_WAITERS`. While HAS_WAITERS is clear the fast paths are one CAS each
// (lock: 0 -> WRITER; lock_shared: +1 reader if no WRITER; the unlocks back). HAS_WAITERS is set
// under the queue lock before anybody queues and cleared under it when the queue empties; while it
// is set no fast CAS succeeds, so every change to the word happens under the queue lock. Every such
// change ends with serve(): grant the lock to the head waiter(s) while they fit (a writer if there
// are no holders; readers while there is no writer holding). Invariant: while anybody waits, the
// head waiter does not fit (else serve() would have admitted it), so a newcomer that finds the queue
// non-empty must queue. Grants are hand-offs (the word already counts the grantee when it wakes):
// nobody can barge past a waiter, and no wake-up is lost (a waiter queues under the same lock under
// which the releaser re-checks the queue).
//
// Timeout and cancellation exactly as Mutex's: a wait in a cancelled fiber ends; lock() and
// lock_shared() throw std::system_error(errc::cancelled), try_lock[_shared]_for/until too (and
// return false at the deadline); the *_cancellable forms return it as weft::Result (and
// std::errc::timed_out). A grant that races with the timeout or cancellation is kept ("notified
// wins": the call succeeds). A waiter that gives up re-runs serve() under the queue lock, so a writer
// that leaves from the head lets the readers queued behind it in. A lock that is free is taken even
// by a cancelled fiber: only waiting observes cancellation. Plain threads are never cancelled.
//
// Thread-safety: all members from any fiber or thread. Unlocking a mode the caller does not hold is
// undefined (as for std::shared_mutex); it is not recursive, and upgrading (lock while holding
// lock_shared) deadlocks.
//
//   weft::SharedMutex m;
//   { std::shared_lock r(m); read(table); }              // many readers at once
//   { std::unique_lock w(m); write(table); }             // one writer, no readers
#pragma once

#include <weft/sched/error.hpp>
#include <weft/sync/wait_queue.hpp>

#include <atomic>
#include <cassert>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <system_error>
#include <type_traits>

namespace weft {

// SharedMutex: see the file comment.
class SharedMutex {
 public:
  // SharedMutex: an unlocked readers/writer lock.
  SharedMutex() noexcept = default;
  SharedMutex(const SharedMutex&) = delete;
  SharedMutex& operator=(const SharedMutex&) = delete;
  // ~SharedMutex: must be unlocked (asserted) and have no waiters (asserted by the queue).
  ~SharedMutex() {
    assert(state_.load(std::memory_order_relaxed) == 0 && "weft::SharedMutex destroyed while locked");
  }

  // ---- exclusive (writer) side ----

  // lock: acquires exclusively, waiting while readers or a writer hold it or anyone waits ahead.
  // Throws std::system_error(errc::cancelled) when the calling fiber is cancelled while it waits.
  void lock() {
    if (try_lock()) return;
    if (auto r = lock_slow(kWrite, sync::Clock::time_point::max()); !r) throw std::system_error(r.error());
  }
  // try_lock: acquires exclusively if nobody holds it or waits; never waits. Returns whether it did.
  bool try_lock() noexcept {
    std::uint64_t expected = 0;
    // Acquire: pairs with the release of the previous unlock()/unlock_shared().
    return state_.compare_exchange_strong(expected, kWriter, std::memory_order_acquire, std::memory_order_relaxed);
  }
  // try_lock_until: as lock(), but returns false at `deadline` (any clock). Throws
  // std::system_error(errc::cancelled) when the calling fiber is cancelled while it waits.
  template <class Clk, class Dur>
  bool try_lock_until(const std::chrono::time_point<Clk, Dur>& deadline) {
    return to_bool(lock_cancellable_until(deadline));
  }
  // try_lock_for: try_lock_until(now + d).
  template <class Rep, class Period>
  bool try_lock_for(const std::chrono::duration<Rep, Period>& d) {
    return to_bool(lock_cancellable_for(d));
  }
  // lock_cancellable: as lock(), but returns errc::cancelled instead of throwing.
  Result<void> lock_cancellable() {
    if (try_lock()) return {};
    return lock_slow(kWrite, sync::Clock::time_point::max());
  }
  // lock_cancellable_until: as lock_cancellable(), but returns std::errc::timed_out at `deadline`.
  template <class Clk, class Dur>
  Result<void> lock_cancellable_until(const std::chrono::time_point<Clk, Dur>& deadline) {
    if (try_lock()) return {};
    return lock_slow(kWrite, sync::to_steady(deadline));
  }
  // lock_cancellable_for: lock_cancellable_until(now + d).
  template <class Rep, class Period>
  Result<void> lock_cancellable_for(const std::chrono::duration<Rep, Period>& d) {
    if (try_lock()) return {};
    return lock_slow(kWrite, sched::deadline_after(d));
  }
  // unlock: releases the exclusive lock; admits the next writer or run of readers. Never blocks.
  void unlock() noexcept {
    std::uint64_t expected = kWriter;
    // Release: pairs with the acquire of the next lock()/lock_shared().
    if (state_.compare_exchange_strong(expected, 0, std::memory_order_release, std::memory_order_relaxed)) return;
    release_slow(kWriter);
  }

  // ---- shared (reader) side ----

  // lock_shared: acquires shared, waiting while a writer holds it or anyone (e.g. a writer) waits.
  // Throws std::system_error(errc::cancelled) when the calling fiber is cancelled while it waits.
  void lock_shared() {
    if (try_lock_shared()) return;
    if (auto r = lock_slow(kRead, sync::Clock::time_point::max()); !r) throw std::system_error(r.error());
  }
  // try_lock_shared: acquires shared if no writer holds it and nobody waits; never waits. Returns
  // whether it did.
  bool try_lock_shared() noexcept {
    std::uint64_t s = state_.load(std::memory_order_relaxed);
    while (!(s & (kWriter | kWaiters))) {
      // Acquire: pairs with the release of the previous unlock().
      if (state_.compare_exchange_weak(s, s + kReader, std::memory_order_acquire, std::memory_order_relaxed))
        return true;
    }
    return false;
  }
  // try_lock_shared_until: as lock_shared(), but returns false at `deadline` (any clock). Throws
  // std::system_error(errc::cancelled) when the calling fiber is cancelled while it waits.
  template <class Clk, class Dur>
  bool try_lock_shared_until(const std::chrono::time_point<Clk, Dur>& deadline) {
    return to_bool(lock_shared_cancellable_until(deadline));
  }
  // try_lock_shared_for: try_lock_shared_until(now + d).
  template <class Rep, class Period>
  bool try_lock_shared_for(const std::chrono::duration<Rep, Period>& d) {
    return to_bool(lock_shared_cancellable_for(d));
  }
  // lock_shared_cancellable: as lock_shared(), but returns errc::cancelled instead of throwing.
  Result<void> lock_shared_cancellable() {
    if (try_lock_shared()) return {};
    return lock_slow(kRead, sync::Clock::time_point::max());
  }
  // lock_shared_cancellable_until: as lock_shared_cancellable(), but returns std::errc::timed_out
  // at `deadline`.
  template <class Clk, class Dur>
  Result<void> lock_shared_cancellable_until(const std::chrono::time_point<Clk, Dur>& deadline) {
    if (try_lock_shared()) return {};
    return lock_slow(kRead, sync::to_steady(deadline));
  }
  // lock_shared_cancellable_for: lock_shared_cancellable_until(now + d).
  template <class Rep, class Period>
  Result<void> lock_shared_cancellable_for(const std::chrono::duration<Rep, Period>& d) {
    if (try_lock_shared()) return {};
    return lock_slow(kRead, sched::deadline_after(d));
  }
  // unlock_shared: releases one shared hold; the last reader out admits a waiting writer. Never blocks.
  void unlock_shared() noexcept {
    std::uint64_t s = state_.load(std::memory_order_relaxed);
    while (!(s & kWaiters)) {
      assert(s >= kReader && !(s & kWriter) && "weft::SharedMutex::unlock_shared without a shared hold");
      // Release: pairs with the acquire of the next lock().
      if (state_.compare_exchange_weak(s, s - kReader, std::memory_order_release, std::memory_order_relaxed)) return;
    }
    release_slow(kReader);
  }

  // ---- snapshots, for assertions, diagnostics and tests ----

  // is_locked: whether a writer holds it.
  bool is_locked() const noexcept { return state_.load(std::memory_order_relaxed) & kWriter; }
  // readers: how many readers hold it.
  std::size_t readers() const noexcept { return static_cast<std::size_t>(state_.load(std::memory_order_relaxed) / kReader); }
  // waiters: how many fibers/threads wait (readers and writers).
  std::size_t waiters() const noexcept { return queue_.waiters(); }

 private:
  static constexpr std::uint64_t kWaiters = 1;  // the queue is non-empty (changed under its lock)
  static constexpr std::uint64_t kWriter = 2;   // a writer holds the lock
  static constexpr std::uint64_t kReader = 4;   // one reader (the count is state_ / kReader)
  static constexpr std::uintptr_t kRead = 0;    // Waiter::request: wants a shared hold
  static constexpr std::uintptr_t kWrite = 1;   // Waiter::request: wants the exclusive hold

  // to_bool: the TimedLockable mapping: success -> true, timeout -> false, cancelled -> throw.
  static bool to_bool(const Result<void>& r) {
    if (r) return true;
    if (r.error() == std::errc::timed_out) return false;
    throw std::system_error(r.error());
  }
  // lock_slow: queues for `kind` (kRead/kWrite) until granted, `deadline` or cancellation.
  Result<void> lock_slow(std::uintptr_t kind, sync::Clock::time_point deadline);
  // release_slow: subtracts `hold` (kWriter or kReader) under the queue lock, then serve().
  void release_slow(std::uint64_t hold) noexcept;
  // serve: grants the head waiter(s) while they fit; clears HAS_WAITERS when the queue empties.
  void serve(const sync::WaitQueue::Guard& g, sync::WakeList& wakes) noexcept;

  std::atomic<std::uint64_t> state_{0};
  sync::WaitQueue queue_;
};

}  // namespace weft
