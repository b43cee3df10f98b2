// weft/sched/task.hpp: the unit the scheduler runs as a fiber.
//
// A Task is one spawned function. It gets a fiber (a pooled stack and a saved context) when it
// first runs, not when it is spawned, and gives the stack back when it ends, so a spawned but not
// yet started task costs only this object and its callable.
//
// Lifetime: intrusively reference counted. spawn() hands out two references, one for the scheduler
// (dropped when the task has finished and been published) and one for the JoinHandle. Wakers hold
// their own references, so a wake-up can never touch a freed task.
//
// State machine of the fiber (FiberCore::state), which makes a migrating fiber safe:
//   queued --(a worker pops it)--> running --(park: switch-out done)--> parked
//   parked --(unpark)--> queued;  running --(yield)--> queued;  running --(return)--> finished
// A parking fiber stays `running` until the worker that switched it out has saved its context:
// an unpark that arrives meanwhile only sets the NOTIFIED bit, and that worker's running -> parked
// CAS fails and re-queues it. So no thread can resume a fiber before its switch-out has completed.
// NOTIFIED on a running fiber is the park permit: the next park() returns at once
// (unpark-before-park is never lost).
//
// Thread-safety: the public members are safe from any thread. Users never see this type: they hold
// JoinHandle<T> (weft/runtime/join_handle.hpp).
#pragma once

#include <weft/sched/error.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <stop_token>
#include <string>

namespace weft {

// FiberId: a task's process-unique id, never 0 (0 means "not a fiber").
using FiberId = std::uint64_t;

namespace sched {

class Scheduler;
class Task;
class Worker;
struct TokenLink;

// FiberCore: the scheduler's per-task bookkeeping. Only sched/src touches it.
struct FiberCore {
  enum State : std::uint32_t { kQueued = 0, kRunning = 1, kParked = 3, kFinished = 4 };
  static constexpr std::uint32_t kStateMask = 0x7;
  static constexpr std::uint32_t kNotified = 0x8;

  std::atomic<std::uint32_t> state{kQueued};
  std::atomic<std::uint32_t> refs{2};
  std::atomic<bool> cancel_requested{false};
  bool started = false;
  bool registered = false;  // in the scheduler's registry (from its first park until it ends)
  std::uint32_t home_worker = 0;  // the worker it last ran on: remote wake-ups go to its inbox
  FiberId id = 0;
  // spawn_order: later than the spawning task's and than every earlier spawn on the same thread
  // (a Lamport clock: ids come in per-thread blocks, so they do not order a child after its parent
  // across threads). The shutdown cancels newest first by it.
  std::uint64_t spawn_order = 0;
  Scheduler* scheduler = nullptr;
  // The scheduler's shutdown flag, so cancel_requested() (checked by every blocking call) is
  // inline and one load away.
  const std::atomic<bool>* scheduler_shutting_down = nullptr;
  void* context = nullptr;       // saved machine context while not running
  void* stack_base = nullptr;    // lowest address of the stack mapping, guard page included
  std::size_t stack_size = 0;    // usable bytes above the guard
  std::size_t stack_class = 0;   // the stack's size class (0: the scheduler's default size)
  void* asan_fake_stack = nullptr;
  void* tsan_fiber = nullptr;
  std::atomic<std::uintptr_t> joiner{0};  // a Waker's bits, or kJoinDone once finished
  Task* registry_prev = nullptr;  // live-task registry links (tasks that have parked)
  Task* registry_next = nullptr;
  std::unique_ptr<std::string> name;  // only when the spawner named it
  // The spawn token's registration (a std::stop_callback that cancels this task), or null: made by
  // spawn() only for a task given a cancellable token, deleted when the task completes.
  TokenLink* token_link = nullptr;
  // The task's own token (this_fiber::cancellation_token()), made on first use by the fiber itself
  // and cancelled by request_cancel(); deleted with the task. seq_cst store and load: they form a
  // Dekker pair with the cancel_requested flag (see request_cancel and cancellation_token).
  std::atomic<std::stop_source*> own_token{nullptr};
};

// Task: base of every spawned function. Subclasses implement run() and abandon().
class Task {
 public:
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;

  // id: the task's FiberId (assigned by spawn).
  FiberId id() const noexcept { return core_.id; }
  // name: the name given in SpawnOptions, or "" when none was given.
  const std::string& name() const noexcept;

  // is_finished: true once the task's function returned or threw (or it was cancelled before it
  // started) and its result is published. Acquire: the result is visible afterwards.
  bool is_finished() const noexcept;

  // request_cancel: asks the task to stop. A task that has not started never runs; a task blocked
  // in a cancellation point wakes and that call returns errc::cancelled; the task's own token
  // (this_fiber::cancellation_token()) is cancelled. Never blocks on a fiber.
  void request_cancel() noexcept;
  // cancel_requested: true once request_cancel() was called or its scheduler began shutting down.
  bool cancel_requested() const noexcept {
    // acquire pairs with the release stores of request_cancel() and the scheduler's shutdown().
    if (core_.cancel_requested.load(std::memory_order_acquire)) return true;
    return core_.scheduler_shutting_down && core_.scheduler_shutting_down->load(std::memory_order_acquire);
  }

  // wait_finished: blocks until is_finished(). In a fiber it suspends only that fiber, on a plain
  // thread it blocks the thread. Returns errc::cancelled when the *waiting* fiber is cancelled
  // first (the task itself is left running).
  Result<void> wait_finished() noexcept;

  void ref() noexcept { core_.refs.fetch_add(1, std::memory_order_relaxed); }
  // unref: pairs with every ref(); the acq_rel decrement orders all uses before the delete.
  void unref() noexcept {
    if (core_.refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  FiberCore& core() noexcept { return core_; }

  // kJoinDone: FiberCore::joiner once finished (a Waker's bits are a pointer or odd, never 2).
  static constexpr std::uintptr_t kJoinDone = 2;

 protected:
  Task() = default;
  virtual ~Task();

  // run: the task's body, called once on its fiber. Must not throw: store the exception.
  virtual void run() noexcept = 0;
  // abandon: called instead of run() when the task will never run: cancelled before it started
  // (`why` is null: store errc::cancelled) or no fiber could be made for it (`why` says why, e.g.
  // a std::system_error for ENOMEM). Must store the result and release the callable.
  virtual void abandon(std::exception_ptr why) noexcept = 0;

 private:
  friend class Worker;
  friend class Scheduler;
  FiberCore core_;
};

}  // namespace sched
}  // namespace weft
