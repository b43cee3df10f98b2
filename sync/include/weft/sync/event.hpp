// weft/sync/event.hpp: a settable event (manual-reset or auto-reset) for fibers and plain threads.
//
// A manual-reset Event stays set until reset(): set() releases every waiter and every later wait()
// returns at once. An auto-reset Event releases exactly one waiter per set(): if fibers wait, the
// oldest is handed the event (which stays unset); otherwise the event stays set until one wait()
// or try_wait() consumes it. Several set() calls with nobody waiting count once (it is a flag, not a
// counter: use Semaphore for counting).
//
// Cancellation: wait() and its timed forms return errc::cancelled when the calling fiber is
// cancelled while it waits (std::errc::timed_out at the deadline). An auto-reset hand-off that races
// with the timeout or cancellation is kept (the call succeeds), so no set() is lost.
//
// Thread-safety: all members from any fiber or thread. Everything the setter did before set()
// happens before the return of a wait() that it released.
//
//   weft::Event ready;                                   // manual reset
//   spawn([&] { load(); ready.set(); });
//   ready.wait().value();                                // throws std::system_error if cancelled
#pragma once

#include <weft/sched/error.hpp>
#include <weft/sync/wait_queue.hpp>

#include <atomic>
#include <cstddef>
#include <chrono>
#include <cstdint>

namespace weft {

// EventMode: whether set() releases everyone until reset() or exactly one waiter.
enum class EventMode : std::uint8_t { manual_reset, auto_reset };

// Event: see the file comment.
class Event {
 public:
  // Event: `mode` as above; `initially_set` starts it set.
  explicit Event(EventMode mode = EventMode::manual_reset, bool initially_set = false) noexcept
      : set_(initially_set), mode_(mode) {}
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;

  // set: manual: sets and releases all waiters; auto: releases the oldest waiter, or sets when
  // nobody waits. Never blocks.
  void set() noexcept;
  // reset: clears the event. Never blocks.
  void reset() noexcept { set_.store(false, std::memory_order_relaxed); }
  // is_set: a snapshot.
  bool is_set() const noexcept { return set_.load(std::memory_order_acquire); }

  // try_wait: true if the event is set (auto-reset: consumes it). Never waits.
  bool try_wait() noexcept;
  // wait: waits until the event is set (auto-reset: consumes it). Returns errc::cancelled when the
  // calling fiber is cancelled while it waits.
  Result<void> wait() {
    if (try_wait()) return {};
    return wait_slow(sync::Clock::time_point::max());
  }
  // wait_until: as wait(), but returns std::errc::timed_out at `deadline` (steady_clock).
  Result<void> wait_until(sync::Clock::time_point deadline) {
    if (try_wait()) return {};
    return wait_slow(deadline);
  }
  // wait_for: wait_until(now + d).
  template <class Rep, class Period>
  Result<void> wait_for(std::chrono::duration<Rep, Period> d) {
    return wait_until(sched::deadline_after(d));
  }

  // waiters: a snapshot of how many fibers/threads wait (for diagnostics and tests).
  std::size_t waiters() const noexcept { return queue_.waiters(); }

 private:
  Result<void> wait_slow(sync::Clock::time_point deadline);

  std::atomic<bool> set_;
  EventMode mode_;
  sync::WaitQueue queue_;
};

}  // namespace weft
