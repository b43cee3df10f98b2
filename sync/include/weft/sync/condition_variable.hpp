// weft/sync/condition_variable.hpp: a condition variable for weft::Mutex, for fibers and threads.
//
// ConditionVariable works like std::condition_variable, with std::unique_lock<weft::Mutex>. A waiter
// queues on the condition variable's WaitQueue *before* it releases the mutex, so a notify made after
// the waiter's check (under the same mutex, or after it) always finds it: no lost wake-up. Waiters
// are woken in FIFO order. Wake-ups may be spurious: wait in a loop, or use the predicate forms.
//
// Cancellation: a wait in a cancelled fiber ends. wait/wait_for/wait_until throw
// std::system_error(errc::cancelled) (their std signatures have no error channel) *with the mutex
// re-locked*, as the std requires on every exit. wait_cancellable() returns the error instead. A
// notify that races with the cancellation or timeout wins (the call reports a normal wake-up), so a
// notify_one is never swallowed by a waiter that is leaving.
//
// Thread-safety: all members from any fiber or thread. Destroying it while fibers wait is a bug
// (asserted). Every waiter must use the same mutex (as for std::condition_variable).
//
//   std::unique_lock lock(m);
//   cv.wait(lock, [&] { return ready; });       // consumer
//   { std::scoped_lock l(m); ready = true; } cv.notify_one();   // producer
#pragma once

#include <weft/sched/error.hpp>
#include <weft/sync/mutex.hpp>
#include <weft/sync/wait_queue.hpp>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <system_error>
#include <utility>

namespace weft {

// ConditionVariable: see the file comment.
class ConditionVariable {
 public:
  ConditionVariable() noexcept = default;
  ConditionVariable(const ConditionVariable&) = delete;
  ConditionVariable& operator=(const ConditionVariable&) = delete;

  // notify_one: wakes the longest-waiting waiter, if any. Never blocks.
  void notify_one() noexcept;
  // notify_all: wakes every waiter. Never blocks.
  void notify_all() noexcept;

  // wait: releases `lock`, waits for a notify (or a spurious wake-up), re-locks. Throws
  // std::system_error(errc::cancelled) when the calling fiber is cancelled (the lock is held again).
  void wait(std::unique_lock<Mutex>& lock) { throw_if_cancelled(wait_impl(lock, sync::Clock::time_point::max())); }
  // wait(lock, pred): waits until pred() holds. Throws as wait().
  template <class Pred>
  void wait(std::unique_lock<Mutex>& lock, Pred pred) {
    while (!pred()) wait(lock);
  }

  // wait_until: as wait(), but returns std::cv_status::timeout once `deadline` passed.
  template <class Clk, class Dur>
  std::cv_status wait_until(std::unique_lock<Mutex>& lock, const std::chrono::time_point<Clk, Dur>& deadline) {
    return throw_if_cancelled(wait_impl(lock, sync::to_steady(deadline))) == sync::WaitStatus::timed_out
               ? std::cv_status::timeout
               : std::cv_status::no_timeout;
  }
  // wait_until(lock, deadline, pred): waits until pred() holds or the deadline passed; returns
  // pred() (false: timed out). Throws as wait().
  template <class Clk, class Dur, class Pred>
  bool wait_until(std::unique_lock<Mutex>& lock, const std::chrono::time_point<Clk, Dur>& deadline, Pred pred) {
    const sync::Clock::time_point d = sync::to_steady(deadline);
    while (!pred()) {
      if (throw_if_cancelled(wait_impl(lock, d)) == sync::WaitStatus::timed_out) return pred();
    }
    return true;
  }
  // wait_for: wait_until(lock, now + d).
  template <class Rep, class Period>
  std::cv_status wait_for(std::unique_lock<Mutex>& lock, const std::chrono::duration<Rep, Period>& d) {
    return wait_until(lock, sched::deadline_after(d));
  }
  // wait_for(lock, d, pred): wait_until(lock, now + d, pred).
  template <class Rep, class Period, class Pred>
  bool wait_for(std::unique_lock<Mutex>& lock, const std::chrono::duration<Rep, Period>& d, Pred pred) {
    return wait_until(lock, sched::deadline_after(d), std::move(pred));
  }

  // wait_cancellable: as wait(), but returns errc::cancelled instead of throwing (lock held again).
  Result<void> wait_cancellable(std::unique_lock<Mutex>& lock) {
    if (wait_impl(lock, sync::Clock::time_point::max()) == sync::WaitStatus::cancelled) return fail(errc::cancelled);
    return {};
  }

  // waiters: a snapshot of how many fibers/threads wait (for diagnostics and tests).
  std::size_t waiters() const noexcept { return queue_.waiters(); }

 private:
  static sync::WaitStatus throw_if_cancelled(sync::WaitStatus s) {
    if (s == sync::WaitStatus::cancelled) throw std::system_error(make_error_code(errc::cancelled));
    return s;
  }
  // wait_impl: one wait; the lock is held again on return, whatever the status.
  sync::WaitStatus wait_impl(std::unique_lock<Mutex>& lock, sync::Clock::time_point deadline);

  sync::WaitQueue queue_;
};

}  // namespace weft
