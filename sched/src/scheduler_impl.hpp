// scheduler_impl.hpp: state shared by all workers of one Scheduler.
//
// Shutdown protocol (why it terminates and strands nothing):
// 1. shutdown() stores shutting_down (seq_cst), then cancels every task in the registry.
// 2. A task is registered when it starts, and a worker checks shutting_down *after* registering it,
//    under the registry shard's mutex order: either cancel_all() saw it, or the worker sees the flag
//    and abandons it. Tasks that never started are abandoned when popped; spawn() after the flag
//    abandons on the spot. So every task either finishes or is cancelled.
// 3. spawn() increments `live` before reading shutting_down, shutdown() stores the flag before
//    reading `live` (both seq_cst): a task spawned concurrently is either seen live (and finished by
//    the still-running workers) or sees the flag.
// 4. When `live` is 0 the workers are told to stop and are woken; they exit once they find no
//    work, and the slabs (every stack) are unmapped after they have been joined.
#pragma once

#include "idle.hpp"
#include "stack_pool.hpp"

#include <weft/sched/scheduler.hpp>

#include <concurrentqueue/concurrentqueue.h>

#include <array>
#include <exception>
#include <atomic>
#include <memory>
#include <mutex>
#include <vector>

namespace weft::sched {

class Worker;

// TaskRegistry: every started, unfinished task (for cancellation at shutdown and task dumps).
class TaskRegistry {
 public:
  void add(Task* t);
  void remove(Task* t);
  // for_each: calls f on every registered task with a reference held (f may block briefly).
  template <class F>
  void for_each(F&& f);

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
  // complete: publishes a finished or abandoned task: result visible, joiner woken, `live`
  // decremented, the scheduler's reference dropped.
  void complete(Task* t);
  // abandon: completes a task that will never run (see Task::abandon for `why`).
  void abandon(Task* t, std::exception_ptr why);

  Scheduler* owner = nullptr;
  Options options;
  unsigned nworkers;
  StackSlabs slabs;
  std::vector<std::unique_ptr<Worker>> workers;
  moodycamel::ConcurrentQueue<Task*> inject;
  Idle idle;
  TaskRegistry registry;
  std::atomic<std::uint64_t> live{0};
  std::atomic<bool> shutting_down{false};
  std::atomic<bool> stop{false};
  std::atomic<bool> shut_down_done{false};
  std::mutex shutdown_mu;
};

template <class F>
void TaskRegistry::for_each(F&& f) {
  for (auto& shard : shards_) {
    std::vector<Task*> tasks;
    {
      std::lock_guard lock(shard.mu);
      for (Task* t = shard.head; t; t = t->core().registry_next) {
        t->ref();
        tasks.push_back(t);
      }
    }
    for (Task* t : tasks) {
      f(t);
      t->unref();
    }
  }
}

}  // namespace weft::sched
