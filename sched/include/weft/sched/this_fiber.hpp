// weft/sched/this_fiber.hpp: what the calling fiber can ask and do about itself.
//
// Inside a fiber these suspend only the fiber. From a plain thread, yield() and the sleeps fall back
// to the thread equivalents so the same helper code works in both; id() is 0 there.
// Note for users: a fiber may resume on another worker thread after any suspension point (sleep,
// IO, a lock, a channel), so a `thread_local` read before it can differ after it, as in Go.
//
//   weft::this_fiber::sleep_for(10ms);     // Result<void>: errc::cancelled if cancelled meanwhile
//   weft::this_fiber::yield();
#pragma once

#include <weft/sched/cancellation.hpp>
#include <weft/sched/error.hpp>
#include <weft/sched/task.hpp>
#include <weft/sched/waker.hpp>

#include <chrono>
#include <optional>
#include <string_view>

namespace weft::this_fiber {

// in_fiber: true when called on a weft fiber.
bool in_fiber() noexcept;

// id: the calling fiber's FiberId, or 0 on a plain thread.
FiberId id() noexcept;

// name: the calling fiber's SpawnOptions name ("" when unnamed or on a plain thread).
std::string_view name() noexcept;

// worker_index: the worker thread running the caller now (nullopt on a plain thread). Only valid
// until the next suspension point: the fiber may migrate.
std::optional<unsigned> worker_index() noexcept;

// yield: lets the other runnable fibers of this worker run, then continues. Not a cancellation point.
void yield();

// peers_ready: whether another fiber is ready to run on the caller's worker now (false on a plain
// thread). For a bounded spin-then-wait: yielding and retrying is worth it while the yield runs
// other work (perhaps the very fiber that makes the retry succeed), not as a busy loop on an idle
// worker, where parking lets the waker gather both fibers on one worker.
bool peers_ready() noexcept;

// yield_to_peers: yield() for a fiber that waits briefly (spin-then-wait): returns false at once,
// without yielding, when no other fiber is ready on this worker; and it does not wake an idle
// worker to take the caller, as yield() may (a waiting fiber is not work to spread, and a thief
// would split it from the fiber about to hand it what it waits for). Not a cancellation point.
bool yield_to_peers();

// cancellation_requested: true once the calling task was asked to cancel (false on a plain thread).
bool cancellation_requested() noexcept;

// cancellation_token: the calling task's own token, cancelled when the task is (JoinHandle::cancel,
// its spawn token, its TaskGroup, the runtime's shutdown); the parent to give to work the task
// starts. Made on first call (later calls return the same one). On a plain thread: a token that is
// never cancelled. Throws std::bad_alloc.
CancellationToken cancellation_token();

// sleep_until: suspends the fiber until `deadline` (steady_clock). A cancellation point: returns
// errc::cancelled as soon as the task is cancelled. On a plain thread it sleeps the thread.
Result<void> sleep_until(std::chrono::steady_clock::time_point deadline);

// sleep_for: sleep_until(now + d); huge durations saturate instead of overflowing.
template <class Rep, class Period>
Result<void> sleep_for(std::chrono::duration<Rep, Period> d) {
  return sleep_until(sched::deadline_after(d));
}

}  // namespace weft::this_fiber

namespace weft {
using this_fiber::sleep_for;
using this_fiber::sleep_until;
}  // namespace weft
