// weft/sync/barrier.hpp: a reusable barrier for a fixed number of fibers or threads.
//
// Barrier(parties): each phase completes when `parties` callers have called arrive_and_wait(); all
// of them are then released and the barrier is ready for the next phase. Exactly one caller per
// phase (the last to arrive) gets `true`, so it can do the phase's serial work.
//
// Leaving early: a caller whose wait times out or is cancelled *un-arrives* (the phase then needs
// another arrival), so the barrier stays consistent for the others. A release that races with the
// timeout or cancellation wins: the call then succeeds.
//
// Cancellation: arrive_and_wait() and its timed forms return errc::cancelled when the calling fiber
// is cancelled while it waits (std::errc::timed_out at the deadline).
//
// Thread-safety: all members from any fiber or thread; everything a party did before arriving
// happens before every party's return from that phase.
//
//   weft::Barrier step{n};
//   for (int round = 0; round < rounds; ++round) { compute(round); step.arrive_and_wait().value(); }
#pragma once

#include <weft/sched/error.hpp>
#include <weft/sync/wait_queue.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace weft {

// Barrier: see the file comment.
class Barrier {
 public:
  // Barrier: phases of `parties` (>= 1) arrivals.
  explicit Barrier(std::size_t parties) noexcept;
  Barrier(const Barrier&) = delete;
  Barrier& operator=(const Barrier&) = delete;

  // arrive_and_wait: arrives and waits for the phase to complete. Returns true for the caller that
  // completed the phase, false for the others; errc::cancelled when the calling fiber is cancelled
  // while it waits (its arrival is withdrawn).
  Result<bool> arrive_and_wait() { return arrive_and_wait_until(sync::Clock::time_point::max()); }
  // arrive_and_wait_until: as arrive_and_wait(), but withdraws and returns std::errc::timed_out at
  // `deadline` (steady_clock).
  Result<bool> arrive_and_wait_until(sync::Clock::time_point deadline);
  // arrive_and_wait_for: arrive_and_wait_until(now + d).
  template <class Rep, class Period>
  Result<bool> arrive_and_wait_for(std::chrono::duration<Rep, Period> d) {
    return arrive_and_wait_until(sched::deadline_after(d));
  }

  // parties: the number of arrivals per phase.
  std::size_t parties() const noexcept { return parties_; }

  // waiters: a snapshot of how many fibers/threads wait (for diagnostics and tests).
  std::size_t waiters() const noexcept { return queue_.waiters(); }

 private:
  const std::size_t parties_;
  std::size_t arrived_ = 0;  // under the queue lock
  sync::WaitQueue queue_;
};

}  // namespace weft
