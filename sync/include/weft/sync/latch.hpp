// weft/sync/latch.hpp: a single-use countdown (std::latch) that fibers and threads can wait on.
//
// A Latch starts at `expected`; count_down(n) lowers it; once it reaches zero every wait() returns
// at once, for ever. Counting below zero is a bug (asserted). Built on WaitGroup.
//
// Cancellation: wait(), its timed forms and arrive_and_wait() return errc::cancelled when the
// calling fiber is cancelled while it waits (std::errc::timed_out at the deadline); the count the
// caller contributed to arrive_and_wait() stays counted.
//
// Thread-safety: all members from any fiber or thread; count_down() happens before the return of
// the wait()s it released.
//
//   weft::Latch started{n};
//   for (int i = 0; i < n; ++i) weft::spawn([&] { started.count_down(); work(); });
//   started.wait().value();
#pragma once

#include <weft/sched/error.hpp>
#include <weft/sync/wait_group.hpp>

#include <chrono>
#include <cstddef>

namespace weft {

// Latch: see the file comment.
class Latch {
 public:
  // Latch: counts down from `expected` (>= 0).
  explicit Latch(std::ptrdiff_t expected) noexcept { wg_.add(expected); }
  Latch(const Latch&) = delete;
  Latch& operator=(const Latch&) = delete;

  // count_down: lowers the counter by n; at zero releases every waiter. Never blocks.
  void count_down(std::ptrdiff_t n = 1) noexcept { wg_.add(-n); }
  // try_wait: true once the counter is zero. Never waits.
  bool try_wait() const noexcept { return wg_.count() == 0; }
  // wait: waits until the counter is zero. Returns errc::cancelled when the calling fiber is
  // cancelled while it waits.
  Result<void> wait() { return wg_.wait(); }
  // wait_until: as wait(), but returns std::errc::timed_out at `deadline` (steady_clock).
  Result<void> wait_until(sync::Clock::time_point deadline) { return wg_.wait_until(deadline); }
  // wait_for: wait_until(now + d).
  template <class Rep, class Period>
  Result<void> wait_for(std::chrono::duration<Rep, Period> d) {
    return wg_.wait_for(d);
  }
  // arrive_and_wait: count_down(n), then wait(); returns what wait() returns.
  Result<void> arrive_and_wait(std::ptrdiff_t n = 1) {
    count_down(n);
    return wait();
  }
  // waiters: a snapshot of how many fibers/threads wait (for diagnostics and tests).
  std::size_t waiters() const noexcept { return wg_.waiters(); }

 private:
  WaitGroup wg_;
};

}  // namespace weft
