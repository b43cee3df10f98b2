// weft/runtime/spawn_blocking.hpp: run blocking or CPU-heavy work off the worker threads.
//
// spawn_blocking(f) runs f() on its runtime's blocking pool (Config::blocking_threads threads,
// see weft/sched/blocking_pool.hpp) and suspends only the calling fiber until f has returned; the
// worker meanwhile runs other fibers. It returns f's result or rethrows f's exception. Called from
// a plain thread (main, a pool thread) it simply runs f inline.
//
// Invariants: f runs exactly once when spawn_blocking is entered by a task that is not cancelled,
// and the call returns only after f has returned (the job lives on the fiber's stack; the pool
// never allocates for it). A running thread cannot be interrupted, so the wait is not a
// cancellation point: a task cancelled while f runs still waits for f (and gets its result). Work
// that should stop early polls the CancellationToken of the second form, which is cancelled when
// the calling task is cancelled (JoinHandle::cancel, its spawn token, its TaskGroup, shutdown).
// Entering spawn_blocking from an already cancelled task throws errc::cancelled without running f.
//
// Thread-safety: callable from any fiber or thread; f runs on a pool thread, so what it touches
// must be safe to touch from another thread (the caller is suspended meanwhile, so data only the
// caller uses needs no lock).
//
//   std::string text = weft::spawn_blocking([&] { return slow_library_call(path); });
//   weft::spawn_blocking([&](weft::CancellationToken stop) { while (!stop.cancelled()) crunch(); });
#pragma once

#include <weft/sched/blocking_pool.hpp>
#include <weft/sched/cancellation.hpp>
#include <weft/sched/error.hpp>
#include <weft/sched/scheduler.hpp>
#include <weft/sched/this_fiber.hpp>
#include <weft/sched/waker.hpp>

#include <atomic>
#include <concepts>
#include <exception>
#include <functional>
#include <optional>
#include <system_error>
#include <type_traits>
#include <utility>

namespace weft {

namespace detail {

// BlockingCall: one spawn_blocking call, living on the waiting fiber's stack. run() stores the
// outcome, then releases `done_`; the fiber leaves wait() only after acquiring it, and run() never
// touches the object after that store (it wakes through a Waker it moved out first), so the frame
// may go as soon as wait() returns.
template <class R, class Call>
class BlockingCall final : public sched::BlockingJob {
 public:
  explicit BlockingCall(Call& call) : call_(call), waker_(sched::Waker::current()) {}

  void run() noexcept override {
    try {
      if constexpr (std::is_void_v<R>) {
        call_();
      } else {
        value_.emplace(call_());
      }
    } catch (...) {
      error_ = std::current_exception();
    }
    sched::Waker waker = std::move(waker_);
    // release: pairs with the acquire load in wait(); the outcome is visible to the fiber.
    done_.store(true, std::memory_order_release);
    waker.wake();
  }

  // wait: parks until run() finished, ignoring wake-ups from cancellation (see the file comment).
  R wait() {
    while (!done_.load(std::memory_order_acquire)) sched::park();
    if (error_) std::rethrow_exception(error_);
    if constexpr (!std::is_void_v<R>) return std::move(*value_);
  }

 private:
  Call& call_;
  sched::Waker waker_;
  std::conditional_t<std::is_void_v<R>, bool, std::optional<R>> value_{};
  std::exception_ptr error_;
  std::atomic<bool> done_{false};
};

// run_blocking: the common part of both forms, in a fiber of `s`; `call` takes no arguments.
template <class R, class Call>
R run_blocking(sched::Scheduler& s, Call& call) {
  if (this_fiber::cancellation_requested()) throw std::system_error(make_error_code(errc::cancelled));
  BlockingCall<R, Call> job(call);
  s.blocking_pool().submit(job);
  return job.wait();
}

// fiber_scheduler: the scheduler of the calling fiber, nullptr on a plain thread.
inline sched::Scheduler* fiber_scheduler() noexcept {
  return this_fiber::in_fiber() ? sched::Scheduler::current() : nullptr;
}

}  // namespace detail

// spawn_blocking: runs f() on the blocking pool and suspends the calling fiber until it returned;
// returns its result or rethrows its exception. When f accepts a CancellationToken it gets one that
// is cancelled once the calling task is (on a plain thread: a token that is never cancelled).
// Throws std::system_error(errc::cancelled) without running f when the calling task is already
// cancelled, std::bad_alloc when the pool cannot queue the job.
template <class F>
  requires std::invocable<F&> || std::invocable<F&, CancellationToken>
auto spawn_blocking(F&& f) {
  if constexpr (std::invocable<F&, CancellationToken>) {
    using R = std::invoke_result_t<F&, CancellationToken>;
    static_assert(!std::is_reference_v<R>, "spawn_blocking: f must return a value, not a reference");
    sched::Scheduler* s = detail::fiber_scheduler();
    if (!s) return std::invoke(f, CancellationToken{});
    // A child of the task's own token: cancelling the task flips it while f runs.
    CancellationSource stop(this_fiber::cancellation_token());
    auto call = [&]() -> R { return std::invoke(f, stop.token()); };
    return detail::run_blocking<R>(*s, call);
  } else {
    using R = std::invoke_result_t<F&>;
    static_assert(!std::is_reference_v<R>, "spawn_blocking: f must return a value, not a reference");
    sched::Scheduler* s = detail::fiber_scheduler();
    if (!s) return std::invoke(f);
    auto call = [&]() -> R { return std::invoke(f); };
    return detail::run_blocking<R>(*s, call);
  }
}

}  // namespace weft
