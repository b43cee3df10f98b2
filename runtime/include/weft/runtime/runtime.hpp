// weft/runtime/runtime.hpp: the Runtime (worker threads running fibers) and spawning.
//
// A Runtime starts its workers in the constructor and shuts down gracefully in the destructor:
// every task still alive is cancelled, newest first (a task spawned by another is cancelled before
// it), the workers run until all have finished, then they stop and every stack is freed. Tasks
// observe cancellation at their blocking calls (errc::cancelled), so a task that ignores it and
// keeps blocking delays the shutdown: after Config::shutdown_timeout the destructor reports the
// tasks still running (Config::on_shutdown_report, stderr by default) and goes on waiting.
// shutdown_for()/shutdown(deadline) wait at most that long and return the report instead.
//
// Thread-safety: spawn() and block_on() from any thread or fiber. Destroy the Runtime from outside
// its own fibers.
//
// Process-wide effect: the first Runtime sets SIGPIPE to SIG_IGN if it is at its default (a write
// to a closed socket or pipe then fails with EPIPE instead of killing the program), as Rust does.
//
//   weft::Runtime rt;                                      // one worker per core
//   auto h = rt.spawn([](int x) { return x * 2; }, 21);    // from main
//   int v = h.join();                                      // 42
//   int w = weft::run([] { return weft::spawn([] { return 1; }).join(); });
#pragma once

#include <weft/runtime/config.hpp>
#include <weft/runtime/join_handle.hpp>
#include <weft/runtime/metrics.hpp>
#include <weft/sched/scheduler.hpp>
#include <weft/sched/spawn_options.hpp>
#include <weft/sched/waker.hpp>

#include <chrono>
#include <concepts>
#include <functional>
#include <memory>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <vector>

namespace weft {

namespace detail {
template <class F, class... Args>
using spawn_result_t = std::invoke_result_t<std::decay_t<F>, std::decay_t<Args>...>;

// spawn_on: binds f to its arguments and hands the task to the scheduler.
template <class F, class... Args>
JoinHandle<spawn_result_t<F, Args...>> spawn_on(sched::Scheduler& s, SpawnOptions options, F&& f, Args&&... args) {
  auto bound = [f = std::forward<F>(f), ... args = std::forward<Args>(args)]() mutable -> spawn_result_t<F, Args...> {
    return std::invoke(std::move(f), std::move(args)...);
  };
  auto* task = new FnTask<decltype(bound)>(std::move(bound));
  JoinHandle<spawn_result_t<F, Args...>> handle(task);
  s.spawn(task, std::move(options));
  return handle;
}

// current_scheduler: the scheduler of the calling fiber; throws std::logic_error outside fibers.
sched::Scheduler& current_scheduler(const char* what);
}  // namespace detail

// Runtime: see the file comment.
class Runtime {
 public:
  Runtime() : Runtime(Config{}) {}
  // Runtime: starts cfg.workers workers. Throws std::system_error: EINVAL for a bad Config, or a
  // bad WEFT_BACKEND or WEFT_SCHED_SEED value; the errno of io_uring_setup when Backend::io_uring
  // was asked for and is unavailable; or the errno when a worker cannot be set up (threads,
  // eventfd, memory).
  explicit Runtime(Config cfg);
  // ~Runtime: shutdown(). Aborts with a message when called from one of its own fibers.
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  // spawn: runs f(args...) as a new fiber. Never blocks. After shutdown began the task never runs
  // and its join() throws errc::cancelled.
  template <class F, class... Args>
    requires std::invocable<std::decay_t<F>, std::decay_t<Args>...>
  JoinHandle<detail::spawn_result_t<F, Args...>> spawn(F&& f, Args&&... args) {
    return detail::spawn_on(*sched_, SpawnOptions{}, std::forward<F>(f), std::forward<Args>(args)...);
  }
  template <class F, class... Args>
    requires std::invocable<std::decay_t<F>, std::decay_t<Args>...>
  JoinHandle<detail::spawn_result_t<F, Args...>> spawn(SpawnOptions options, F&& f, Args&&... args) {
    return detail::spawn_on(*sched_, std::move(options), std::forward<F>(f), std::forward<Args>(args)...);
  }

  // block_on: runs f as a fiber and waits for its result (rethrows its exception). Blocks a plain
  // thread; inside a fiber suspends only that fiber.
  template <class F>
  std::invoke_result_t<std::decay_t<F>> block_on(F&& f) {
    return spawn(std::forward<F>(f)).join();
  }

  // shutdown: what the destructor does, callable earlier (idempotent): cancels every task, waits,
  // reports what is left after Config::shutdown_timeout, waits for it.
  void shutdown();
  // shutdown: stops accepting spawns (they never run), cancels every task, and waits until all
  // have finished or `deadline` passed. Returns an empty report when everything finished (the
  // workers are then stopped); otherwise the count and the ids/names of the tasks still alive.
  // Those stay cancelled and keep running (their stacks stay mapped): call it again to wait more;
  // the destructor waits for them without a deadline. Throws std::logic_error from one of its
  // own fibers.
  ShutdownReport shutdown(std::chrono::steady_clock::time_point deadline);
  // shutdown_for: shutdown(now + timeout).
  template <class Rep, class Period>
  ShutdownReport shutdown_for(std::chrono::duration<Rep, Period> timeout) {
    return shutdown(sched::deadline_after(timeout));
  }

  unsigned workers() const noexcept { return sched_->workers(); }
  // backend: the IO backend the workers run (io_uring or epoll, never automatic).
  Backend backend() const noexcept { return backend_; }
  // stats: per-worker counters, a snapshot.
  std::vector<sched::WorkerStats> stats() const { return sched_->stats(); }
  // metrics: stats() summed over the workers, with the backend's IO syscall counters
  // (weft/runtime/metrics.hpp). Any thread; never blocks.
  Metrics metrics() const;
  sched::Scheduler& scheduler() noexcept { return *sched_; }

 private:
  Backend backend_;
  std::chrono::milliseconds shutdown_timeout_;
  std::function<void(const ShutdownReport&)> on_shutdown_report_;
  std::unique_ptr<sched::Scheduler> sched_;
};

// spawn: runs f(args...) as a new fiber of the calling fiber's runtime. Throws std::logic_error
// when called outside a fiber (use Runtime::spawn there).
template <class F, class... Args>
  requires std::invocable<std::decay_t<F>, std::decay_t<Args>...>
JoinHandle<detail::spawn_result_t<F, Args...>> spawn(F&& f, Args&&... args) {
  return detail::spawn_on(detail::current_scheduler("weft::spawn"), SpawnOptions{}, std::forward<F>(f),
                          std::forward<Args>(args)...);
}
template <class F, class... Args>
  requires std::invocable<std::decay_t<F>, std::decay_t<Args>...>
JoinHandle<detail::spawn_result_t<F, Args...>> spawn(SpawnOptions options, F&& f, Args&&... args) {
  return detail::spawn_on(detail::current_scheduler("weft::spawn"), std::move(options), std::forward<F>(f),
                          std::forward<Args>(args)...);
}

// run: block_on on a fresh default Runtime (all cores), which is shut down before returning.
template <class F>
std::invoke_result_t<std::decay_t<F>> run(F&& f) {
  Runtime rt;
  return rt.block_on(std::forward<F>(f));
}

}  // namespace weft
