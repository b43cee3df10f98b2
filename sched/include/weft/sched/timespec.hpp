// weft/sched/timespec.hpp: a steady_clock deadline as the timespec a system call takes, the one
// conversion for every wait (ppoll, futex, epoll_pwait2, io_uring's timeouts).
//
// steady_clock is CLOCK_MONOTONIC on Linux, so timespec_at() is what calls that take an absolute
// CLOCK_MONOTONIC time expect (FUTEX_WAIT_BITSET, IORING_TIMEOUT_ABS), and timespec_until() what
// calls that take a relative timeout expect. The struct is a template parameter because the
// kernel's ABI has two (libc's timespec, <linux/time_types.h>'s __kernel_timespec).
//
// Thread-safety: pure functions.
//
//   const timespec ts = weft::sched::timespec_until<timespec>(deadline);
//   ::ppoll(&p, 1, &ts, nullptr);
#pragma once

#include <chrono>

namespace weft::sched {

// timespec_of: `d` as a Timespec (seconds and nanoseconds), zero when negative.
template <class Timespec>
Timespec timespec_of(std::chrono::nanoseconds d) noexcept {
  if (d < d.zero()) d = d.zero();
  Timespec ts{};
  ts.tv_sec = static_cast<decltype(ts.tv_sec)>(d.count() / 1'000'000'000);
  ts.tv_nsec = static_cast<decltype(ts.tv_nsec)>(d.count() % 1'000'000'000);
  return ts;
}

// timespec_at: `deadline` as an absolute CLOCK_MONOTONIC time.
template <class Timespec>
Timespec timespec_at(std::chrono::steady_clock::time_point deadline) noexcept {
  return timespec_of<Timespec>(deadline.time_since_epoch());
}

// timespec_until: the time left until `deadline`, zero when it passed.
template <class Timespec>
Timespec timespec_until(std::chrono::steady_clock::time_point deadline) noexcept {
  return timespec_of<Timespec>(deadline - std::chrono::steady_clock::now());
}

}  // namespace weft::sched
