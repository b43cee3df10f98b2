// weft/sched/scheduler.hpp: N worker threads running fibers, with work stealing.
//
// A Scheduler starts its workers in the constructor. Each worker runs fibers from its LIFO slot and
// bounded local queue, checks the global inject queue every 61 runs for fairness, then its inbox of
// remote wake-ups, the inject queue, and finally steals half of a random victim's queue. With nothing
// to run it parks in its Driver until new work, a wake-up or its next timer. See
// docs/architecture.md for the parking protocol and why no wake-up is lost.
//
// Shutdown (shutdown() or the destructor): new spawns are cancelled before they start, every live
// task is asked to cancel, the workers keep running until every task has finished, then they stop
// and every stack is unmapped. A task that ignores cancellation and keeps blocking delays shutdown;
// shutdown_until() gives up waiting at a deadline and reports the tasks still alive, which stay
// cancelled and keep running on the still-running workers (a stack a fiber runs on is never freed):
// a later shutdown() or the destructor waits for them again.
//
// Thread-safety: spawn() from any thread (plain or fiber); stats() from any thread (a snapshot).
// Users reach this through weft::Runtime; sync/, channels/ and io/ use it directly.
#pragma once

#include <weft/sched/blocking_pool.hpp>
#include <weft/sched/driver.hpp>
#include <weft/sched/shutdown_report.hpp>
#include <weft/sched/spawn_options.hpp>
#include <weft/sched/task.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace weft::sched {

// WorkerStats: per-worker counters (monotonic since start).
struct WorkerStats {
  std::uint64_t tasks_started = 0;   // tasks that got a fiber on this worker
  std::uint64_t tasks_finished = 0;  // tasks whose fiber ended on this worker
  std::uint64_t resumes = 0;         // fiber switch-ins
  std::uint64_t tasks_stolen = 0;    // tasks this worker took from other workers' queues/inboxes
  std::uint64_t steal_attempts = 0;  // steal rounds (successful or not)
  std::uint64_t inject_taken = 0;    // tasks taken from the global inject queue
  std::uint64_t inbox_taken = 0;     // tasks taken from its own inbox
  std::uint64_t parks = 0;           // times it slept in its driver
  std::uint64_t wakeups = 0;         // times another thread woke it from its sleep
  std::uint64_t timers_fired = 0;    // sleeps / deadlines that expired here
  std::uint64_t stacks_mapped = 0;   // stacks carved for tasks started here (not reused ones)
  std::uint64_t stalls = 0;          // fibers reported by the stall monitor while running here
  IoCounters io;                     // the worker's driver: IO syscalls (Driver::io_counters)
};

// Scheduler: owns the workers, queues, timers and stacks.
class Scheduler {
 public:
  struct Options {
    unsigned workers = 0;                // 0: one per available core
    std::size_t stack_size = 256 * 1024; // usable bytes per fiber stack (virtual, lazily committed)
    DriverFactory driver_factory;        // empty: make_eventfd_driver()
    unsigned blocking_threads = 0;       // blocking pool size; 0: 4 per worker
    // stall_threshold: a fiber running this long without suspending is reported once on stderr
    // (and counted in WorkerStats::stalls) by a monitor thread; zero disables the reports. With
    // more than one worker the monitor runs anyway, to hand on fibers stranded behind a stall.
    std::chrono::steady_clock::duration stall_threshold = std::chrono::milliseconds(100);
    // seed: non-zero turns on the seeded shuffle mode (sched/src/worker.hpp, "Shuffle mode"): the
    // workers' choices come from generators derived from it, and the monitor's rescue and the
    // workers' time-based balancing are off, so one worker and one seed replay one interleaving.
    // 0: the default scheduling, untouched.
    std::uint64_t seed = 0;
  };

  explicit Scheduler(Options options);  // throws std::system_error if a worker cannot start
  ~Scheduler();                          // shutdown(); must not be called from one of its fibers
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // spawn: queues `task` (fresh from new, two references) to run as a fiber: on the calling
  // worker's queue inside a fiber, on the inject queue from other threads. Takes ownership of the
  // scheduler's reference. After shutdown began the task is completed as cancelled without running.
  void spawn(Task* task, SpawnOptions options = {});

  // shutdown: cancels every task and waits until all have finished and the workers have stopped.
  // Idempotent. Throws std::logic_error when called from one of this scheduler's own fibers.
  void shutdown();
  // shutdown_until: as shutdown(), but stops waiting at `deadline` (steady_clock) and reports what
  // is still alive then; see the file comment for what happens to those tasks. Returns an empty
  // report once the shutdown completed (also when called again). Throws std::logic_error from one of
  // this scheduler's own fibers.
  ShutdownReport shutdown_until(std::chrono::steady_clock::time_point deadline);

  unsigned workers() const noexcept;
  std::size_t stack_size() const noexcept;
  // live_tasks: spawned and not yet finished.
  std::uint64_t live_tasks() const noexcept;
  std::vector<WorkerStats> stats() const;
  // blocking_pool: the threads for blocking work (spawn_blocking; file IO on the epoll backend).
  BlockingPool& blocking_pool() noexcept;

  // current: the scheduler of the calling fiber, nullptr on a plain thread.
  static Scheduler* current() noexcept;

  struct Impl;
  // impl: internal state for sched/src (not part of the user API).
  Impl& impl() noexcept { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace weft::sched
