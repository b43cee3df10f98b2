// worker.hpp: one worker thread: its queues, timers, stacks, driver, and the fiber switch.
//
// The worker loop runs on the thread's own stack (the "scheduler context"). Fibers switch
// symmetrically: a fiber that parks, yields or ends switches straight to the next fiber of its run
// queue (run_queue.hpp: LIFO slot, ring, overflow; up to kTickBudget times in a row), else back to
// the scheduler context, which does the tick's maintenance (timers, driver poll), takes work from
// the inbox, the inject queue or other workers, or parks.
//
// Order (the default mode's bound stated in run_queue.hpp, extended to the shared queues; the
// shuffle mode below deliberately departs from it): the inbox and the
// inject queue are looked at first once kFairnessInterval fibers have run since the last look (a
// count of fiber runs, not of ticks, so a tick that runs 61 fibers counts 61). A look runs one of
// their fibers and moves a batch behind the run queue's back, in order, where it waits its turn.
// The same look balances run queues between busy workers (balance()), so that a fiber waits about
// as long on every worker, not only in arrival order on its own.
//
// The switch protocol (why a fiber being suspended is never resumed elsewhere too early): the
// switching fiber records itself and its intent (park / yield / finish) in the worker, then jumps.
// Whatever context lands — the next fiber or the scheduler context, on this same thread — calls
// after_switch() first, which stores the departed fiber's saved context and only then makes it
// resumable (running -> parked, or re-queues it). Until that point the departed fiber is in no
// queue and its state is still `running`, which unpark() never turns into `queued`.
//
// Shuffle mode (Scheduler::Options::seed != 0; DESIGN.md, "Deterministic test scheduling"): for
// tests that hunt interleaving bugs. Each worker's generator is derived from the seed and its
// index, and is consulted at the decision points, each behind one `if (shuffle_)` on a member
// that never changes (so the default mode pays a predictable branch and nothing else):
// - which runnable fiber runs next: RunQueue::pop_shuffled instead of pop (the LIFO slot or not,
//   then one of the first kShuffleWindow), deliberately departing from the order promise;
// - which worker to steal from (the same random_worker() as always, from the seeded generator);
// - an injected yield before a fiber parks and after it is resumed from a park (waker.cpp,
//   maybe_yield_around_park), one chance in kShuffleYieldOneIn each: another fiber runs between a
//   waiter's check and its park, or between its wake-up and what it does next;
// - where a woken fiber runs: a random worker (schedule_woken): another one's inbox, or this one's
//   run queue as usual, so every park may end in a migration.
// What depends on wall-clock time is off: balance() (time per fiber run) and the stall monitor's
// rescue of the LIFO slot (so a fiber woken into the slot by a fiber that then hogs its worker
// waits for it, as it would on one worker). With one worker and no timers or IO, a seed therefore replays the same
// interleaving (the seed sweep and tests/sched/sched_shuffle_test.cpp rely on it); with more
// workers, threads race as usual and the seed only biases the choices.
//
// Thread-local state: the worker of the calling thread is reached only through current_worker(),
// which is not inlined and not analysed across calls, so no code caches it across a switch (after
// which the fiber may be on another thread).
//
// Thread-safety: members marked "owner" run only on this worker's thread; post_inbox(), unpark()
// and stats() are safe from any thread.
#pragma once

#include "random.hpp"
#include "run_queue.hpp"
#include "scheduler_impl.hpp"
#include "stack_pool.hpp"
#include "timer_heap.hpp"

#include <weft/sched/driver.hpp>
#include <weft/sched/scheduler.hpp>
#include <weft/sched/task.hpp>

#include <concurrentqueue/concurrentqueue.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

namespace weft::sched {

class Worker;

// current_worker: the Worker running on this thread, nullptr on other threads.
Worker* current_worker() noexcept;
// stack_overflow_worker: the same, for the SIGSEGV handler (a plain thread-local read).
Worker* stack_overflow_worker() noexcept;

class Worker {
 public:
  static constexpr std::size_t kLocalQueueCapacity = 256;
  static constexpr unsigned kTickBudget = 61;     // fibers run per tick before maintenance
  static constexpr unsigned kFairnessInterval = 61;  // fiber runs between inject/inbox-first looks
  static constexpr std::size_t kSharedBatch = 32;    // tasks moved per take from inbox/inject
  static constexpr std::size_t kBalanceMin = 8;     // fewest fibers balance() moves
  static constexpr std::size_t kTrimBatch = 64;     // pooled stacks returned per idle moment
  static constexpr auto kTrimPause = std::chrono::milliseconds(1);  // between batches while idle
  static constexpr std::uint32_t kShuffleWindow = 4;     // shuffle mode: next among the first 4
  static constexpr std::uint32_t kShuffleYieldOneIn = 4;  // shuffle mode: odds of an injected yield

  enum class Intent { park, yield, yield_waiting, finish };

  Worker(Scheduler::Impl& sched, unsigned index);
  ~Worker();

  // start: launches the thread; `ready` is called on it once its driver exists (or failed).
  void start(std::function<void(std::exception_ptr)> ready);
  void join();
  // unpark: ends this worker's driver wait. Any thread.
  void unpark() noexcept;

  // owner: the fiber running now, nullptr in the scheduler context.
  Task* current() const noexcept { return current_; }
  unsigned index() const noexcept { return index_; }
  Scheduler::Impl& scheduler() noexcept { return sched_; }
  TimerHeap& timers() noexcept { return timers_; }
  Driver* driver() const noexcept { return driver_.get(); }

  // owner: leaves the current fiber `self` (parking, yielding or finishing). Returns when `self`
  // is resumed (never for finish), possibly on another worker.
  void switch_out(Task* self, Intent intent);
  // owner: queues a task at the back of the run queue.
  void schedule_back(Task* t);
  // owner: makes a task woken on this worker runnable: in the LIFO slot or at the back (`lifo`);
  // in shuffle mode on a random worker (another one's inbox, or here).
  void schedule_woken(Task* t, bool lifo);
  // any thread: whether the shuffle mode is on (the same constant on every worker of a scheduler,
  // so a fiber may read it on the worker it just left).
  bool shuffling() const noexcept { return shuffle_; }
  // owner, shuffle mode: true when the generator says to inject a yield here.
  bool shuffle_yield() noexcept { return rng_.one_in(kShuffleYieldOneIn); }
  // owner: the worker's generator (seeded in shuffle mode), for choices made on its fibers.
  Random& random() noexcept { return rng_; }
  // owner: queues a yielding fiber that only waits briefly (this_fiber::yield_to_peers) at the
  // back, like schedule_back, but without counting it as work to spread (see the definition).
  void requeue_waiting(Task* t);
  // owner: counts a wake-up sent to this worker (bumped by the notifier).
  void count_wakeup() noexcept { counters_.wakeups.fetch_add(1, std::memory_order_relaxed); }
  // owner: whether another task is ready to run here (LIFO slot, local queue, inbox).
  bool has_ready_tasks() const noexcept { return !queue_.empty() || inbox_.size_approx() != 0; }
  // any thread: queues a task in this worker's inbox (the caller then calls notify_work()).
  void post_inbox(Task* t);

  // any thread: stealing support.
  // steal_into: moves up to half of this worker's queue (at most `max`), else a batch of its inbox,
  // to `thief`'s run queue; called on the thief's thread. Returns how many.
  std::size_t steal_into(Worker& thief, std::size_t max = kLocalQueueCapacity / 2);
  bool has_stealable_work() const noexcept;
  // monitor thread: this worker has run one fiber for a while without switching: hands the fiber
  // in its LIFO slot to the inject queue and wakes an idle worker for what is queued here
  // (run_queue.hpp, stall_monitor.cpp). Returns whether there was anything to hand off.
  bool rescue_stranded();

  WorkerStats stats() const noexcept;

  // any thread: what the stall monitor samples. running(): the id of the fiber running now (0 in
  // the scheduler context); resumes(): bumped on every switch-in. Both are relaxed stores by the
  // owner on its switch path (no fence, no RMW), read racily: the monitor only needs to see that a
  // pair stayed the same across samples, and a torn read only delays a report by one sample.
  FiberId running() const noexcept { return running_id_.load(std::memory_order_relaxed); }
  std::uint64_t resumes() const noexcept { return counters_.resumes.load(std::memory_order_relaxed); }
  // monitor thread only (its single writer): counts a reported stall.
  void count_stall() noexcept { bump(counters_.stalls); }

  // owner: the live-count halves of this worker (scheduler_impl.hpp, point 3). seq_cst stores of
  // an uncontended line: they take part in the shutdown handshake.
  void count_spawn() noexcept { spawned_.store(spawned_.load(std::memory_order_relaxed) + 1, std::memory_order_seq_cst); }
  void count_finish() noexcept { finished_.store(finished_.load(std::memory_order_relaxed) + 1, std::memory_order_seq_cst); }
  std::uint64_t spawned() const noexcept { return spawned_.load(std::memory_order_seq_cst); }
  std::uint64_t finished() const noexcept { return finished_.load(std::memory_order_seq_cst); }

  // landing half of a switch; public for the fiber entry trampoline.
  void after_switch(void* from_context) noexcept;
  static void fiber_main(Worker* w) noexcept;

 private:
  void run();
  void maintenance();  // fires expired timers
  Task* next_task();
  Task* pop_local();
  Task* pop_shuffled();
  // schedule_lifo: owner; makes a woken task runnable here, in the LIFO slot (it runs next).
  void schedule_lifo(Task* t);
  // take_inbox / take_inject: the first of a batch (up to kSharedBatch) from the inbox or the
  // inject queue; the rest go behind the run queue's back, in order.
  Task* take_inbox();
  template <class Dequeue>
  Task* take_shared(Dequeue&& dequeue, std::atomic<std::uint64_t>& counter);
  Task* take_inject();
  Task* search();
  // balance: at the fairness look, evens the wait in this worker's run queue with a much longer
  // one's; measure_pace: the time per fiber run that balance() weighs queue lengths with.
  void balance();
  void measure_pace();
  unsigned random_worker() noexcept;
  void park();
  void run_task(Task* t);
  // prepare: readies a task to run (first run: registry, stack, context). False when it was
  // abandoned instead (cancelled before start).
  bool prepare(Task* t);
  void jump(Task* from, Task* to, bool from_finished) noexcept;
  void found_work();

  Scheduler::Impl& sched_;
  const unsigned index_;
  RunQueue<Task*, kLocalQueueCapacity> queue_;
  moodycamel::ConcurrentQueue<Task*> inbox_;
  TimerHeap timers_;
  StackPools stacks_;
  std::unique_ptr<Driver> driver_;
  std::atomic<bool> driver_ready_{false};
  std::thread thread_;
  std::vector<Task*> fired_;

  // owner-only switch state
  Task* current_ = nullptr;
  Task* switched_from_ = nullptr;
  Intent intent_ = Intent::park;
  void* scheduler_context_ = nullptr;
  unsigned budget_ = 0;
  std::uint64_t runs_ = 0;          // fibers run (prepare()), for the fairness look
  std::uint64_t last_fair_look_ = 0;  // runs_ at the last fairness look
  std::chrono::steady_clock::time_point pace_since_{};  // the last fairness look
  std::uint64_t pace_parks_ = 0;  // counters_.parks then
  // pace_ns_: time per fiber run (smoothed), written by the owner at its fairness looks, read by
  // other workers' balance() (relaxed: a hint).
  std::atomic<std::uint64_t> pace_ns_{0};
  bool searching_ = false;
  bool in_driver_park_ = false;  // owner: inside driver_->park() (see unpark())
  const bool shuffle_;  // Options::seed != 0: the shuffle mode (above); never changes
  Random rng_;          // owner: seeded from Options::seed and index_ in shuffle mode

  // sanitizer bookkeeping for the scheduler context (unused in plain builds)
  void* sched_fake_stack_ = nullptr;
  const void* sched_stack_bottom_ = nullptr;
  std::size_t sched_stack_size_ = 0;
  void* sched_tsan_fiber_ = nullptr;

  struct Counters {
    std::atomic<std::uint64_t> tasks_started{0}, tasks_finished{0}, resumes{0}, tasks_stolen{0},
        steal_attempts{0}, inject_taken{0}, inbox_taken{0}, parks{0}, wakeups{0},
        timers_fired{0}, stacks_mapped{0}, stalls{0};
  };
  // bump: owner-only increment without a locked instruction; readers see a recent value.
  static void bump(std::atomic<std::uint64_t>& c, std::uint64_t n = 1) noexcept {
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  Counters counters_;
  std::atomic<FiberId> running_id_{0};  // see running()
  alignas(64) std::atomic<std::uint64_t> spawned_{0};
  alignas(64) std::atomic<std::uint64_t> finished_{0};
  friend struct Scheduler::Impl;
};

}  // namespace weft::sched
