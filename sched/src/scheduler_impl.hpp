// scheduler_impl.hpp: state shared by all workers of one Scheduler.
//
// Shutdown protocol (why it terminates and strands nothing):
// 1. shutdown() stores shutting_down (seq_cst), then wakes every task in the registry, newest
//    first (below). From then on every task counts as cancelled: Task::cancel_requested() reads shutting_down too, so running
//    and queued tasks see it at their next cancellation point without being registered.
// 2. A task registers itself when it first parks (tiny tasks that never park skip the registry's
//    mutex altogether), and reads shutting_down *after* registering, in the shard mutex's order:
//    either shutdown()'s wake-up pass saw it, or it sees the flag and does not park. So no task
//    sleeps through shutdown. Tasks that never started are abandoned when popped; spawn() after
//    the flag abandons on the spot. So every task either finishes or is cancelled.
// 3. The live count is spawned - finished, kept in counters that are never contended: one pair per
//    worker (written only by it) and one atomic pair for plain threads. spawn() counts the task
//    before reading shutting_down, shutdown() stores the flag before reading the counters (both
//    seq_cst): a task spawned concurrently is either counted live (and finished by the
//    still-running workers) or sees the flag.
// 4. live() sums every `finished` before any `spawned`, so a torn sum can only overcount (a task's
//    spawn is counted before its finish can be). After the flag is set, each finish bumps
//    finish_generation (seq_cst) and then notifies finish_cv under finish_mu; shutdown() reads the
//    generation under finish_mu before re-summing and waits for it to change, so a finish between
//    its sum and its wait is never missed (the notifier needs the mutex the waiter holds until it
//    waits). It proceeds when live() is 0. Then the workers are told to stop and woken; they exit
//    once they find no work, and the slabs (every stack) are unmapped after they have been joined.
// 5. shutdown_until() may stop waiting first: it then reports and returns with the workers still
//    running, so the tasks left go on (cancelled) on stacks that stay mapped; a later shutdown()
//    repeats the wake-up pass and waits again. Nothing is freed until live() is 0.
//
// Why newest first: a task is usually spawned by an older one that depends on it (a connection by
// its acceptor, a worker by its pipeline stage), so, as destructors run in reverse order of
// construction, the newest clean up first. The wake-ups are queued in that order (one producer:
// the shutting-down thread, so each inbox keeps it) and run in it on each worker (the run queue's
// order promise, run_queue.hpp); across workers cleanups run in parallel, so the order is then
// per worker. The wait is one deadline for all, not one per task: a task that ignores its
// cancellation must not hold up the cancellation of the older ones.
#pragma once

#include "idle.hpp"
#include "stack_pool.hpp"

#include <weft/sched/scheduler.hpp>

#include <concurrentqueue/concurrentqueue.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace weft::sched {

class Worker;

// TaskRegistry: every started, unfinished task (for cancellation at shutdown and task dumps).
class TaskRegistry {
 public:
  void add(Task* t);
  void remove(Task* t);
  // for_each_newest_first: calls f on every registered task, newest first (FiberCore::spawn_order,
  // then id), with a reference held (f may block briefly).
  template <class F>
  void for_each_newest_first(F&& f);
  // name_of: the name of the registered task `id` ("" when unnamed or not registered). Scans one
  // shard: for rare diagnostics only.
  std::string name_of(FiberId id);

 private:
  static constexpr std::size_t kShards = 16;
  struct alignas(64) Shard {
    std::mutex mu;
    Task* head = nullptr;
  };
  Shard& shard_of(const Task* t) { return shards_[t->id() % kShards]; }
  std::array<Shard, kShards> shards_;
};

struct Scheduler::Impl {
  explicit Impl(Options opts);

  // schedule_remote: queue a woken task from outside its scheduler's worker threads (its home
  // worker's inbox, stealable by the others).
  void schedule_remote(Task* t);
  // notify_work: wake one sleeping worker if new work may be stranded (see idle.hpp).
  void notify_work();
  // has_work_anywhere: any shared or stealable queue non-empty (used by the last searcher to park).
  bool has_work_anywhere() const;
  // complete: publishes a finished or abandoned task: result visible, joiner woken, counted
  // finished, the scheduler's reference dropped.
  void complete(Task* t);
  // abandon: completes a task that will never run (see Task::abandon for `why`).
  void abandon(Task* t, std::exception_ptr why);
  // report_unfinished: what shutdown_until() returns when `left` tasks are still alive.
  ShutdownReport report_unfinished(std::uint64_t left);
  // start_monitor / stop_monitor: the stall monitor thread (stall_monitor.cpp).
  void start_monitor();
  void stop_monitor() noexcept;
  // wake_monitor: a worker back from its sleep ends the monitor's doze (stall_monitor.cpp).
  void wake_monitor() noexcept;

  Scheduler* owner = nullptr;
  Options options;
  unsigned nworkers;
  StackClasses stacks;
  std::vector<std::unique_ptr<Worker>> workers;
  moodycamel::ConcurrentQueue<Task*> inject;
  Idle idle;
  TaskRegistry registry;
  // count_spawn / count_finish: the live-count halves (point 3); `w` is the calling worker of this
  // scheduler, or nullptr on any other thread.
  void count_spawn(Worker* w) noexcept;
  void count_finish(Worker* w) noexcept;
  std::uint64_t live() const noexcept;
  Worker* own_worker(Worker* w) const noexcept;

  alignas(64) std::atomic<std::uint64_t> spawned_external{0};
  alignas(64) std::atomic<std::uint64_t> finished_external{0};
  alignas(64) std::atomic<std::uint32_t> finish_generation{0};
  std::mutex finish_mu;
  std::condition_variable finish_cv;  // notified under finish_mu after each finish_generation bump
  alignas(64) std::atomic<bool> shutting_down{false};
  std::atomic<bool> stop{false};
  std::atomic<bool> shut_down_done{false};
  std::mutex shutdown_mu;
  // The stall monitor (stall_monitor.cpp): sleeps on monitor_cv, stopped by monitor_stop.
  std::thread monitor;
  std::mutex monitor_mu;
  std::condition_variable monitor_cv;
  bool monitor_stop = false;  // under monitor_mu
  // monitor_dozing: the monitor sleeps long because every worker slept (stall_monitor.cpp).
  std::atomic<bool> monitor_dozing{false};
  // Last member, destroyed first: its destructor waits for jobs that may still wake tasks.
  BlockingPool blocking_pool;
};

template <class F>
void TaskRegistry::for_each_newest_first(F&& f) {
  std::vector<Task*> tasks;
  for (auto& shard : shards_) {
    std::lock_guard lock(shard.mu);
    for (Task* t = shard.head; t; t = t->core().registry_next) {
      t->ref();
      tasks.push_back(t);
    }
  }
  std::sort(tasks.begin(), tasks.end(), [](Task* a, Task* b) {
    const std::uint64_t oa = a->core().spawn_order, ob = b->core().spawn_order;
    return oa != ob ? oa > ob : a->id() > b->id();
  });
  for (Task* t : tasks) {
    f(t);
    t->unref();
  }
}

}  // namespace weft::sched
