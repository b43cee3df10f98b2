#include "worker.hpp"

#include "fiber_switch.hpp"
#include "stack_overflow.hpp"
#include <weft/sched/waker.hpp>

#include <pthread.h>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <optional>

namespace weft::sched {

namespace {
// initial-exec: a direct %fs-relative load instead of a __tls_get_addr call on every switch
// (the library is built position-independent, which would otherwise pick the general model).
__attribute__((tls_model("initial-exec"))) thread_local Worker* t_worker = nullptr;

void fiber_entry(void* from_context) {
  Worker* w = current_worker();
  w->after_switch(from_context);
  Worker::fiber_main(w);
}
}  // namespace

// Not inlined and opaque to inter-procedural analysis: a fiber must re-read it after every switch.
__attribute__((noinline))
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((noipa))
#endif
Worker* current_worker() noexcept {
  Worker* w = t_worker;
  asm volatile("" : "+r"(w));
  return w;
}

Worker* stack_overflow_worker() noexcept { return t_worker; }

Driver* current_driver() noexcept {
  Worker* w = current_worker();
  return w && w->current() ? w->driver() : nullptr;
}

Worker::Worker(Scheduler::Impl& sched, unsigned index)
    : sched_(sched),
      index_(index),
      stacks_(sched.stacks),
      shuffle_(sched.options.seed != 0),
      rng_(shuffle_ ? Random::derive(sched.options.seed, index) : Random(index)) {
  fired_.reserve(64);
}

Worker::~Worker() = default;

void Worker::start(std::function<void(std::exception_ptr)> ready) {
  thread_ = std::thread([this, ready = std::move(ready)] {
    t_worker = this;
    std::exception_ptr error;
    std::optional<StackOverflowGuard> guard;
    try {
      guard.emplace();
      auto& factory = sched_.options.driver_factory;
      driver_ = factory ? factory(index_) : make_eventfd_driver();
    } catch (...) {
      error = std::current_exception();
    }
    ready(error);
    if (!error) run();
    t_worker = nullptr;
  });
}

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

void Worker::unpark() noexcept {
  // A worker woken from inside its own driver park (its reap queued fibers here while the idle
  // accounting still counts it as parked) is about to return from that park and look at every
  // queue: the wake-up would only cost a syscall per batch (an eventfd write or a MSG_RING enter;
  // w7_nop: 1/16 enters per op -> 1/32). Outside the driver park it is needed: Worker::park()'s
  // last-searcher check may pick this worker itself, and then the driver park must return at once.
  // current_worker() first: in_driver_park_ is the owner's, read only on its own thread.
  if (current_worker() == this && in_driver_park_) return;
  if (driver_) driver_->unpark();
}

void Worker::fiber_main(Worker* w) noexcept {
  Task* self = w->current_;
  self->run();
  // `w` may be stale: the fiber can have migrated while run() was suspended.
  current_worker()->switch_out(self, Intent::finish);
  __builtin_unreachable();
}

void Worker::run() {
  // The scheduler context's own stack, so ASan knows where a switch back lands.
  pthread_attr_t attr;
  if (pthread_getattr_np(pthread_self(), &attr) == 0) {
    void* addr = nullptr;
    std::size_t size = 0;
    pthread_attr_getstack(&attr, &addr, &size);
    sched_stack_bottom_ = addr;
    sched_stack_size_ = size;
    pthread_attr_destroy(&attr);
  }
  sched_tsan_fiber_ = fiber_switch::tsan_current();

  bool just_parked = false;  // the driver was entered since the last task ran
  for (;;) {
    maintenance();
    Task* t = next_task();
    if (!t) t = search();
    if (t) {
      found_work();
      // Submit what the last tick queued and reap what completed before running on. With nothing
      // to run, park() submits and waits in the same call instead: one syscall, not two. Right
      // after a park nothing was queued since, and what completed was just reaped: the next
      // tick's poll (or park) takes what arrives meanwhile.
      if (!just_parked) driver_->poll();
      just_parked = false;
      run_task(t);
      continue;
    }
    if (sched_.stop.load(std::memory_order_acquire)) break;
    park();
    just_parked = true;
  }
}

void Worker::maintenance() {
  const auto next = timers_.next_deadline();
  if (next == std::chrono::steady_clock::time_point::max()) return;
  const auto now = std::chrono::steady_clock::now();
  if (next > now) return;
  fired_.clear();
  timers_.fire_expired(now, fired_);
  bump(counters_.timers_fired, fired_.size());
  for (Task* t : fired_) {
    wake_task(t, /*lifo=*/false);  // in deadline order
    t->unref();
  }
}

Task* Worker::next_task() {
  // The fairness look (worker.hpp): fibers woken from elsewhere or spawned from plain threads get
  // their turn even while the run queue never empties.
  // Balancing weighs measured time, which the shuffle mode keeps out of its choices (worker.hpp).
  if (runs_ - last_fair_look_ >= kFairnessInterval) {
    if (!shuffle_) measure_pace();
    last_fair_look_ = runs_;
    if (Task* t = take_inbox()) return t;
    if (Task* t = take_inject()) return t;
    if (!shuffle_) balance();
  }
  if (Task* t = pop_local()) return t;
  if (Task* t = take_inbox()) return t;
  return take_inject();
}

Task* Worker::pop_local() {
  if (shuffle_) [[unlikely]] return pop_shuffled();
  return queue_.pop();
}

Task* Worker::pop_shuffled() {
  // Even odds for the LIFO slot, then one of the first kShuffleWindow (worker.hpp, "Shuffle mode").
  // No draw from an empty queue: how often an idle worker looks at it depends on timing, and a
  // draw there would shift every later choice of a replay (likewise in search()).
  if (queue_.empty()) return nullptr;
  const bool lifo_first = rng_.one_in(2);
  return queue_.pop_shuffled(lifo_first, rng_.below(kShuffleWindow));
}

// take_shared: the first of up to kSharedBatch tasks taken from a shared queue with `dequeue`; the
// rest go behind the run queue's back, in order.
template <class Dequeue>
Task* Worker::take_shared(Dequeue&& dequeue, std::atomic<std::uint64_t>& counter) {
  Task* batch[kSharedBatch];
  const std::size_t n = dequeue(batch, kSharedBatch);
  if (n == 0) return nullptr;
  bump(counter, n);
  for (std::size_t i = 1; i < n; ++i) queue_.push_back(batch[i]);
  if (n > 1) sched_.notify_work();  // more than this worker runs next: worth spreading
  return batch[0];
}

Task* Worker::take_inbox() {
  return take_shared([&](Task** out, std::size_t max) { return inbox_.try_dequeue_bulk(out, max); },
                     counters_.inbox_taken);
}

Task* Worker::take_inject() {
  return take_shared([&](Task** out, std::size_t max) { return sched_.inject.try_dequeue_bulk(out, max); },
                     counters_.inject_taken);
}

Task* Worker::search() {
  if (!searching_) {
    if (!sched_.idle.transition_to_searching()) return nullptr;
    searching_ = true;
  }
  bump(counters_.steal_attempts);
  // With one worker there is no victim, and no number is drawn: how often a worker searches
  // depends on timing, and a draw here would shift every later choice of a seeded replay.
  if (const unsigned n = sched_.nworkers; n > 1) {
    const unsigned start = random_worker();
    for (unsigned i = 0; i < n; ++i) {
      Worker& victim = *sched_.workers[(start + i) % n];
      if (&victim == this) continue;
      if (victim.steal_into(*this) > 0) return pop_local();
    }
  }
  return take_inject();
}

unsigned Worker::random_worker() noexcept { return rng_.below(sched_.nworkers); }

void Worker::measure_pace() {
  // Time per fiber run since the last look, smoothed; a span that includes a park is idle time,
  // not pace, and is skipped.
  const auto now = std::chrono::steady_clock::now();
  const std::uint64_t parks = counters_.parks.load(std::memory_order_relaxed);
  if (parks == pace_parks_ && runs_ > last_fair_look_) {
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now - pace_since_).count();
    const std::uint64_t sample = static_cast<std::uint64_t>(ns) / (runs_ - last_fair_look_) + 1;
    const std::uint64_t old = pace_ns_.load(std::memory_order_relaxed);
    pace_ns_.store(old ? (3 * old + sample) / 4 : sample, std::memory_order_relaxed);
  }
  pace_since_ = now;
  pace_parks_ = parks;
}

void Worker::balance() {
  // Stealing only when idle keeps fibers where their data is, but it lets two busy workers drift
  // apart: one cycling through a hundred fibers, the other through three thousand (each fiber's IO
  // completes on the worker it runs on, so it stays), or through equally many at half the speed
  // (its thread shares a core, its fibers cost more). Every fiber there then waits longer for its
  // turn than one on the other worker. So at each fairness look a worker compares how long a fiber
  // joining the back would wait here and on a random other worker (queue length x time per run)
  // and takes from the other's front, the longest waiting, as many as even the two waits.
  if (sched_.nworkers < 2) return;
  Worker& victim = *sched_.workers[random_worker()];
  if (&victim == this) return;
  const std::uint64_t theirs = victim.queue_.size();
  const std::uint64_t mine = queue_.size();
  if (theirs < kBalanceMin) return;
  // Unmeasured (a worker that just woke): as fast as the other.
  std::uint64_t pace_theirs = victim.pace_ns_.load(std::memory_order_relaxed);
  std::uint64_t pace_mine = pace_ns_.load(std::memory_order_relaxed);
  if (!pace_theirs || !pace_mine) pace_theirs = pace_mine = 1;
  const std::uint64_t wait_theirs = theirs * pace_theirs, wait_mine = mine * pace_mine;
  if (wait_theirs <= wait_mine + wait_mine / 8) return;  // within 12.5%: not worth a migration
  // (theirs - n) * pace_theirs == (mine + n) * pace_mine
  const std::uint64_t even = (wait_theirs - wait_mine) / (pace_theirs + pace_mine);
  if (even < kBalanceMin) return;
  victim.steal_into(*this, even);
}

std::size_t Worker::steal_into(Worker& thief, std::size_t max) {
  constexpr std::size_t kMax = kLocalQueueCapacity / 2;
  Task* batch[kMax];
  max = std::min(max, kMax);
  std::size_t n = queue_.steal_half(batch, max);
  if (n == 0) n = inbox_.try_dequeue_bulk(batch, std::min(max, kSharedBatch));
  for (std::size_t i = 0; i < n; ++i) thief.queue_.push_back(batch[i]);  // the thief's own thread
  bump(thief.counters_.tasks_stolen, n);
  return n;
}

bool Worker::has_stealable_work() const noexcept {
  return queue_.has_stealable() || inbox_.size_approx() > 0;
}

bool Worker::rescue_stranded() {
  // The LIFO slot's fiber goes where any worker finds it; what is queued here is stealable
  // already and only needs an idle worker to be woken for it.
  Task* t = queue_.steal_lifo();
  if (t) sched_.inject.enqueue(t);
  if (!t && !has_stealable_work()) return false;
  sched_.notify_work();
  return true;
}

void Worker::found_work() {
  if (!searching_) return;
  searching_ = false;
  // The last searcher to find work wakes another, so work queued behind it is not stranded.
  if (sched_.idle.transition_from_searching()) sched_.notify_work();
}

void Worker::park() {
  const bool last_searcher = sched_.idle.transition_to_parked(index_, searching_);
  searching_ = false;
  if (last_searcher && sched_.has_work_anywhere()) sched_.notify_work();
  bump(counters_.parks);
  // Idle: a good moment to give back the memory of a burst of fibers, in bounded batches so a
  // wake-up arriving now is not delayed by much. While stacks are left, the worker sleeps at most
  // kTrimPause and trims the next batch then: an idle worker parks once, so a single batch per
  // park left most of a burst's memory held for good (930 MiB after 200,000 parked fibers).
  stacks_.trim(kTrimBatch);
  auto deadline = timers_.next_deadline();
  if (stacks_.has_excess()) deadline = std::min(deadline, std::chrono::steady_clock::now() + kTrimPause);
  if (!sched_.stop.load(std::memory_order_acquire)) {
    in_driver_park_ = true;
    driver_->park(deadline);
    in_driver_park_ = false;
  }
  if (!sched_.idle.unpark_self(index_)) searching_ = true;  // a notifier counted us as searching
  // seq_cst: after the unpark RMW above (or the notifier's), pairs with the monitor's doze.
  if (sched_.monitor_dozing.load(std::memory_order_seq_cst)) sched_.wake_monitor();
}

bool Worker::prepare(Task* t) {
  FiberCore& c = t->core_;
  if (!c.started) {
    if (c.name && !c.registered) {
      // Named tasks are registered from their start, not their first park, so stall and shutdown
      // reports can name one that never parks (unnamed tasks have no name to look up). Registering
      // before the cancel check below keeps the shutdown protocol (scheduler_impl.hpp, point 2):
      // either shutdown's pass sees it, or the check sees the flag.
      sched_.registry.add(t);
      c.registered = true;
    }
    if (t->cancel_requested()) {
      if (c.registered) {
        sched_.registry.remove(t);
        c.registered = false;
      }
      sched_.abandon(t, nullptr);
      return false;
    }
    bool carved = false;
    Stack s;
    try {
      s = stacks_.acquire(c.stack_class, &carved);
    } catch (...) {
      sched_.abandon(t, std::current_exception());
      return false;
    }
    if (carved) bump(counters_.stacks_mapped);
    c.started = true;
    c.stack_base = s.base;
    c.stack_size = s.size;
    fiber_switch::clear_stack_redzones(s.bottom(), s.size);
    c.context = fiber_switch::make(s.bottom(), s.size, &fiber_entry);
    c.tsan_fiber = fiber_switch::tsan_create();
    bump(counters_.tasks_started);
  }
  // A queued task ignores unpark(), so nothing races with this store, which keeps a pending
  // permit. A yielded task was left `running` (unpark() then only sets its permit): no store.
  const std::uint32_t s = c.state.load(std::memory_order_relaxed);
  if ((s & FiberCore::kStateMask) == FiberCore::kQueued) {
    c.state.store(FiberCore::kRunning | (s & FiberCore::kNotified), std::memory_order_relaxed);
  }
  c.home_worker = index_;
  ++runs_;
  running_id_.store(c.id, std::memory_order_relaxed);
  bump(counters_.resumes);
  return true;
}

void Worker::run_task(Task* t) {
  if (!prepare(t)) return;
  budget_ = kTickBudget;
  current_ = t;
  jump(nullptr, t, false);
}

void Worker::switch_out(Task* self, Intent intent) {
  Task* next = nullptr;
  while (budget_ > 0) {
    next = pop_local();
    if (!next) break;
    if (prepare(next)) {
      --budget_;
      break;
    }
    next = nullptr;
  }
  if (!next) running_id_.store(0, std::memory_order_relaxed);  // back to the scheduler context
  switched_from_ = self;
  intent_ = intent;
  current_ = next;
  jump(self, next, intent == Intent::finish);
  // Resumed, possibly on another worker: `this` must not be used any more.
}

void Worker::jump(Task* from, Task* to, bool from_finished) noexcept {
  fiber_switch::Side f{};
  if (from) {
    f.asan_fake_stack = from_finished ? nullptr : &from->core_.asan_fake_stack;
  } else {
    f.asan_fake_stack = &sched_fake_stack_;
  }
  fiber_switch::Side t{};
  if (to) {
    t.context = to->core_.context;
    t.stack_bottom = static_cast<char*>(to->core_.stack_base) + Stack::guard_size();
    t.stack_size = to->core_.stack_size;
    t.tsan_fiber = to->core_.tsan_fiber;
  } else {
    t.context = scheduler_context_;
    t.stack_bottom = sched_stack_bottom_;
    t.stack_size = sched_stack_size_;
    t.tsan_fiber = sched_tsan_fiber_;
  }
  void* came_from = fiber_switch::jump(f, t);
  current_worker()->after_switch(came_from);
}

void Worker::after_switch(void* from_context) noexcept {
  fiber_switch::landed(current_ ? current_->core_.asan_fake_stack : sched_fake_stack_);
  Task* from = switched_from_;
  if (!from) {  // the scheduler context switched to us
    scheduler_context_ = from_context;
    return;
  }
  switched_from_ = nullptr;
  FiberCore& c = from->core_;
  switch (intent_) {
    case Intent::park: {
      c.context = from_context;
      std::uint32_t expected = FiberCore::kRunning;
      // acq_rel: publishes `context` to whoever unparks it (pairs with the CAS in wake_task).
      if (!c.state.compare_exchange_strong(expected, FiberCore::kParked, std::memory_order_acq_rel,
                                           std::memory_order_acquire)) {
        // Woken while it was switching out: the wake-up made it runnable again.
        c.state.store(FiberCore::kQueued, std::memory_order_relaxed);
        schedule_woken(from, false);
      }
      break;
    }
    case Intent::yield:
    case Intent::yield_waiting: {
      // The state stays `running`: a queued yielder only needs its permit kept, and unpark() of a
      // running fiber does exactly that. The queue publishes `context` to whoever pops it.
      c.context = from_context;
      if (intent_ == Intent::yield) {
        schedule_back(from);
      } else {
        requeue_waiting(from);
      }
      break;
    }
    case Intent::finish: {
      stacks_.release(Stack{c.stack_base, c.stack_size}, c.stack_class);
      fiber_switch::tsan_destroy(c.tsan_fiber);
      c.tsan_fiber = nullptr;
      c.stack_base = nullptr;
      c.context = nullptr;
      bump(counters_.tasks_finished);
      if (c.registered) sched_.registry.remove(from);
      sched_.complete(from);
      break;
    }
  }
}

void Worker::schedule_lifo(Task* t) {
  if (Task* displaced = queue_.push_lifo(t)) schedule_back(displaced);
}

void Worker::schedule_woken(Task* t, bool lifo) {
  if (shuffle_) [[unlikely]] {
    // Forced migration (worker.hpp, "Shuffle mode"): a random worker. Another one gets it in its
    // inbox, with an idle worker woken as for a remote wake-up; this one queues it as usual, where
    // pop_shuffled() then decides when it runs.
    Worker& to = *sched_.workers[random_worker()];
    if (&to != this) {
      to.post_inbox(t);
      sched_.notify_work();
      return;
    }
  }
  if (lifo) {
    schedule_lifo(t);
  } else {
    schedule_back(t);
  }
}

void Worker::requeue_waiting(Task* t) {
  queue_.push_back(t);
  // A fiber that waits is not work to spread: waking a thief for it would split it from the fiber
  // about to hand it what it waits for (a ping-pong pair). But two or more others ready here are,
  // even when they too only ever yield (a pipeline whose stages all landed on this worker), so
  // they wake an idle worker. Most yields find none idle, and a relaxed look settles that without
  // notify_work's fence; a wake-up missed by that look costs balance for a while, never progress,
  // since this worker runs its queue itself.
  if (!searching_ && queue_.size() > 2 && sched_.idle.maybe_idle()) sched_.notify_work();
}

void Worker::schedule_back(Task* t) {
  queue_.push_back(t);
  // Worth waking a thief only when there is more here than this worker runs next (tokio's rule),
  // and only on the push that makes it so: while older items wait here, any worker that parks as
  // the last searcher sees them and wakes another (idle.hpp, point 2), so a burst of pushes
  // needs one fence, not one each.
  if (!searching_ && queue_.size() == 2) sched_.notify_work();
}

void Worker::post_inbox(Task* t) { inbox_.enqueue(t); }

WorkerStats Worker::stats() const noexcept {
  auto r = [](const std::atomic<std::uint64_t>& c) { return c.load(std::memory_order_relaxed); };
  WorkerStats s;
  s.tasks_started = r(counters_.tasks_started);
  s.tasks_finished = r(counters_.tasks_finished);
  s.resumes = r(counters_.resumes);
  s.tasks_stolen = r(counters_.tasks_stolen);
  s.steal_attempts = r(counters_.steal_attempts);
  s.inject_taken = r(counters_.inject_taken);
  s.inbox_taken = r(counters_.inbox_taken);
  s.parks = r(counters_.parks);
  s.wakeups = r(counters_.wakeups);
  s.timers_fired = r(counters_.timers_fired);
  s.stacks_mapped = r(counters_.stacks_mapped);
  s.stalls = r(counters_.stalls);
  // driver_ is set on this worker's thread before it reports ready, which the Scheduler's
  // constructor waits for, and is destroyed only with the Worker: any thread may read it here.
  if (driver_) s.io = driver_->io_counters();
  return s;
}

}  // namespace weft::sched
