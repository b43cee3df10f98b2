// waker.cpp: Waker, park() and park_until() for fibers and plain threads.
//
// Plain threads: a ThreadParker per thread (heap, reference counted so a Waker may outlive the
// thread) holding a futex word with Rust's park protocol: EMPTY -> PARKED (waiting) and
// NOTIFIED (permit). unpark: exchange(NOTIFIED) and FUTEX_WAKE only when it was PARKED.
//
// Fibers: the FiberCore state machine described in weft/sched/task.hpp.
#include <weft/sched/task.hpp>
#include <weft/sched/waker.hpp>
#include <weft/sched/timespec.hpp>

#include "timer_heap.hpp"
#include <weft/sched/waker.hpp>
#include "worker.hpp"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <climits>

namespace weft::sched {
namespace {

struct ThreadParker {
  enum : std::uint32_t { kEmpty = 0, kParked = 1, kNotified = 2 };
  std::atomic<std::uint32_t> state{kEmpty};
  std::atomic<std::uint32_t> refs{1};

  void ref() noexcept { refs.fetch_add(1, std::memory_order_relaxed); }
  void unref() noexcept {
    if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }
};

struct ThreadParkerHolder {
  ThreadParker* parker = nullptr;
  ~ThreadParkerHolder() {
    if (parker) parker->unref();
  }
};
thread_local ThreadParkerHolder t_parker;

ThreadParker* this_thread_parker() {
  if (!t_parker.parker) t_parker.parker = new ThreadParker;
  return t_parker.parker;
}

void futex_wait(std::atomic<std::uint32_t>* word, std::uint32_t expected, const timespec* abs_monotonic) {
  // FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC deadline (steady_clock on Linux).
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG, expected,
            abs_monotonic, nullptr, FUTEX_BITSET_MATCH_ANY);
}

void futex_wake_one(std::atomic<std::uint32_t>* word) {
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), FUTEX_WAKE | FUTEX_PRIVATE_FLAG, 1);
}

// thread_park_until: returns false when the deadline passed without a permit.
bool thread_park_until(std::chrono::steady_clock::time_point deadline, bool timed) {
  ThreadParker* p = this_thread_parker();
  // acquire pairs with the release exchange in unpark: what the waker wrote is visible.
  std::uint32_t expected = ThreadParker::kNotified;
  if (p->state.compare_exchange_strong(expected, ThreadParker::kEmpty, std::memory_order_acquire)) return true;
  expected = ThreadParker::kEmpty;
  if (!p->state.compare_exchange_strong(expected, ThreadParker::kParked, std::memory_order_acquire)) {
    p->state.store(ThreadParker::kEmpty, std::memory_order_relaxed);  // it was NOTIFIED
    std::atomic_thread_fence(std::memory_order_acquire);
    return true;
  }
  const auto ts = timed ? timespec_at<timespec>(deadline) : timespec{};
  for (;;) {
    futex_wait(&p->state, ThreadParker::kParked, timed ? &ts : nullptr);
    expected = ThreadParker::kNotified;
    if (p->state.compare_exchange_strong(expected, ThreadParker::kEmpty, std::memory_order_acquire)) return true;
    if (timed && std::chrono::steady_clock::now() >= deadline) {
      // Give up, unless a permit raced in: then take it.
      const auto prev = p->state.exchange(ThreadParker::kEmpty, std::memory_order_acquire);
      return prev == ThreadParker::kNotified;
    }
  }
}

void thread_unpark(ThreadParker* p) noexcept {
  // release pairs with the acquire in thread_park_until.
  if (p->state.exchange(ThreadParker::kNotified, std::memory_order_release) == ThreadParker::kParked) {
    futex_wake_one(&p->state);
  }
}

bool is_thread(std::uintptr_t bits) { return bits & 1u; }
ThreadParker* as_thread(std::uintptr_t bits) { return reinterpret_cast<ThreadParker*>(bits & ~std::uintptr_t{1}); }
Task* as_task(std::uintptr_t bits) { return reinterpret_cast<Task*>(bits); }

// ref_context: one more reference to the fiber or thread `bits` (non-zero) names.
void ref_context(std::uintptr_t bits) noexcept {
  if (is_thread(bits)) {
    as_thread(bits)->ref();
  } else {
    as_task(bits)->ref();
  }
}

// yield_around_park: the shuffle mode's injected yield (worker.hpp, "Shuffle mode"), at the two
// points where a check-then-act bug hides: between a waiter's check and its park, and between its
// wake-up and what it does next. Both are safe to yield at: park() is never called holding a lock
// a peer needs (it would deadlock anyway), and a fiber that yields stays `running`, so a wake-up
// meanwhile only sets its permit, which the park after the yield consumes. Returns the worker the
// fiber is on afterwards.
Worker* yield_around_park(Task* self) {
  Worker* w = current_worker();
  if (w->shuffle_yield()) {
    w->switch_out(self, Worker::Intent::yield);
    w = current_worker();
  }
  return w;
}

// fiber_park: the running fiber's half of the state machine. Returns at once with a permit, or
// (without parking) when its scheduler is shutting down and the caller must see cancellation.
void fiber_park(Worker* w, Task* self) {
  if (w->shuffling()) [[unlikely]] w = yield_around_park(self);
  FiberCore& c = self->core();
  if (!c.registered) {
    // First park: join the registry, then read shutting_down (scheduler_impl.hpp, point 2).
    Scheduler::Impl& impl = w->scheduler();
    impl.registry.add(self);
    c.registered = true;
    if (impl.shutting_down.load(std::memory_order_seq_cst)) return;
  }
  // A permit waiting: consume it instead of parking (acquire pairs with the waker's acq_rel CAS).
  // Without one the state stays `running` while the fiber switches out: a wake-up arriving now
  // sets the permit, and after_switch's running -> parked CAS sees it and re-queues the fiber.
  // So a park costs one locked instruction (that CAS), not two.
  auto& state = c.state;
  std::uint32_t s = state.load(std::memory_order_acquire);
  while (s & FiberCore::kNotified) {
    if (state.compare_exchange_weak(s, FiberCore::kRunning, std::memory_order_acquire)) return;
  }
  w->switch_out(self, Worker::Intent::park);
  // `w` may be a worker this fiber has left, but shuffling() is the same on all of them.
  if (w->shuffling()) [[unlikely]] yield_around_park(self);
}

}  // namespace

void wake_task(Task* t, bool lifo) noexcept {
  FiberCore& c = t->core();
  std::uint32_t s = c.state.load(std::memory_order_acquire);
  for (;;) {
    switch (s & FiberCore::kStateMask) {
      case FiberCore::kRunning:
        if (s & FiberCore::kNotified) return;
        // acq_rel pairs with fiber_park's permit CAS and after_switch's running -> parked CAS.
        if (c.state.compare_exchange_weak(s, s | FiberCore::kNotified, std::memory_order_acq_rel)) return;
        continue;
      case FiberCore::kParked:
        // acq_rel: acquires the saved context published by after_switch.
        if (!c.state.compare_exchange_weak(s, FiberCore::kQueued, std::memory_order_acq_rel)) continue;
        if (Worker* w = current_worker(); w && w->scheduler().owner == c.scheduler) {
          w->schedule_woken(t, lifo);
        } else {
          c.scheduler->impl().schedule_remote(t);
        }
        return;
      default:  // queued (it will run and re-check) or finished
        return;
    }
  }
}

Task* current_task() noexcept {
  Worker* w = current_worker();
  return w ? w->current() : nullptr;
}

ContextRef ContextRef::current() {
  Worker* w = current_worker();
  if (w && w->current()) return ContextRef(reinterpret_cast<std::uintptr_t>(w->current()));
  return ContextRef(reinterpret_cast<std::uintptr_t>(this_thread_parker()) | 1u);
}

void ContextRef::wake() const noexcept {
  if (!bits_) return;
  if (is_thread(bits_)) {
    thread_unpark(as_thread(bits_));
  } else {
    wake_task(as_task(bits_));
  }
}

Waker Waker::current() {
  const ContextRef c = ContextRef::current();
  ref_context(c.bits_);
  return from_bits(c.bits_);
}

void Waker::wake() const noexcept { ContextRef(bits_).wake(); }

Waker Waker::clone() const noexcept {
  if (bits_) ref_context(bits_);
  return from_bits(bits_);
}

void Waker::release() noexcept {
  if (is_thread(bits_)) {
    as_thread(bits_)->unref();
  } else {
    as_task(bits_)->unref();
  }
  bits_ = 0;
}

void park() {
  Worker* w = current_worker();
  if (w && w->current()) {
    fiber_park(w, w->current());
    return;
  }
  thread_park_until({}, false);
}

bool park_until(std::chrono::steady_clock::time_point deadline) {
  Worker* w = current_worker();
  if (!w || !w->current()) {
    if (deadline == std::chrono::steady_clock::time_point::max()) return thread_park_until({}, false);
    return thread_park_until(deadline, true);
  }
  Task* self = w->current();
  TimerEntry entry;
  entry.deadline = deadline;
  entry.task = self;
  w->timers().insert(&entry);
  fiber_park(w, self);
  // The fiber may be on another worker now; the entry remembers its heap.
  bool fired = entry.fired.load(std::memory_order_acquire);
  if (!fired && !entry.heap->remove(&entry)) fired = true;
  return !fired;
}

std::chrono::steady_clock::time_point saturating_deadline(std::chrono::steady_clock::duration d) noexcept {
  using tp = std::chrono::steady_clock::time_point;
  const tp now = std::chrono::steady_clock::now();
  if (d <= d.zero()) return now;
  if (now.time_since_epoch().count() > tp::max().time_since_epoch().count() - d.count()) return tp::max();
  return now + d;
}

}  // namespace weft::sched
