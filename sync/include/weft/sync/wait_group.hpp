// weft/sync/wait_group.hpp: Go's sync.WaitGroup: wait for a number of tasks to finish.
//
// A WaitGroup holds a counter. add(n) raises it before starting work, done() lowers it when a piece
// finishes, wait() waits until it is zero. The counter going negative is a bug (asserted, as Go
// panics). A WaitGroup may be reused once wait() returned; add() with a positive delta racing with
// wait() at zero is allowed but the wait may or may not see it (as in Go).
//
// Cancellation: wait() and its timed forms return errc::cancelled when the calling fiber is
// cancelled while it waits (std::errc::timed_out at the deadline).
//
// Thread-safety: all members from any fiber or thread. Everything done before a done() that brought
// the counter to zero happens before the return of the wait() it released.
//
//   weft::WaitGroup wg;
//   for (auto& job : jobs) { wg.add(1); weft::spawn([&] { run(job); wg.done(); }); }
//   wg.wait().value();
#pragma once

#include <weft/sched/error.hpp>
#include <weft/sync/wait_queue.hpp>

#include <atomic>
#include <cstddef>
#include <chrono>
#include <cstdint>

namespace weft {

// WaitGroup: see the file comment.
class WaitGroup {
 public:
  WaitGroup() noexcept = default;
  WaitGroup(const WaitGroup&) = delete;
  WaitGroup& operator=(const WaitGroup&) = delete;

  // add: adds delta (may be negative) to the counter; at zero releases every waiter. Never blocks.
  // The counter going below zero is a bug (asserted).
  void add(std::int64_t delta = 1) noexcept;
  // done: add(-1).
  void done() noexcept { add(-1); }
  // count: a snapshot of the counter.
  std::int64_t count() const noexcept { return count_.load(std::memory_order_acquire); }

  // wait: waits until the counter is zero. Returns errc::cancelled when the calling fiber is
  // cancelled while it waits.
  Result<void> wait() { return wait_until(sync::Clock::time_point::max()); }
  // wait_until: as wait(), but returns std::errc::timed_out at `deadline` (steady_clock).
  Result<void> wait_until(sync::Clock::time_point deadline);
  // wait_for: wait_until(now + d).
  template <class Rep, class Period>
  Result<void> wait_for(std::chrono::duration<Rep, Period> d) {
    return wait_until(sched::deadline_after(d));
  }

  // waiters: a snapshot of how many fibers/threads wait (for diagnostics and tests).
  std::size_t waiters() const noexcept { return queue_.waiters(); }

 private:
  std::atomic<std::int64_t> count_{0};
  sync::WaitQueue queue_;
};

}  // namespace weft
