// weft/sync/wait_queue.hpp: the one fair, intrusive FIFO queue of waiters under every sync primitive.
//
// A Waiter lives on the stack of the fiber or plain thread that waits. The primitive enqueues it
// under the queue lock (after checking its own condition under that same lock), then calls wait(),
// which parks until a notifier has dequeued the node, or until a deadline or cancellation. A notifier
// dequeues a node under the lock, writes its `grant` word (what it hands the waiter: "the lock is
// yours", "retry", a number of permits...), marks it GRANTED and adds it to a WakeList. After the
// lock is released the WakeList wakes the waiter's context and then marks the node RELEASED.
//
// Lifetime argument (why the node needs no reference count): the node names its fiber or thread by
// a sched::ContextRef, which holds no reference, so the waiter must outlive the notifier's wake.
// It does: a waiter returns only once it has seen RELEASED (acquire), and the notifier's release
// store of RELEASED is its last access to the node and comes after the wake returned. A waiter that
// sees GRANTED has been dequeued and its wake-up is on the way, so it does not park again (that
// could consume the wake and then sleep forever); it spins the few instructions until RELEASED
// (settle). Every write to the node (grant included) precedes RELEASED, so the stack frame may go
// as soon as the waiter has seen it. Saving the reference saves two locked instructions per wait.
// A notifier must not suspend while its WakeList holds nodes (none does: a WakeList lives in one
// synchronous scope), or a woken waiter would spin until it resumed.
//
// Leaving early (timeout, cancellation): wait() takes the lock; if the node is still queued it unlinks
// it and calls the primitive's `on_removed(guard)` (e.g. a Semaphore re-serves the waiters behind a
// large request, a Barrier un-arrives); if a notifier already dequeued it, the notification is
// treated as received ("notified wins") and wait() returns WaitStatus::notified: a mutex hand-off, a
// semaphore grant or an auto-reset event is never lost by a waiter that timed out at the same moment.
//
// Invariants: a Waiter is in at most one queue; `queued` and the links change only under the lock;
// FIFO order unless a primitive re-inserts a woken waiter at the front (push_front: Mutex does, so a
// waiter that lost a race keeps its place).
//
// Thread-safety: every member taking a Guard requires the queue lock (the Guard proves it is held).
// The lock is a small spinlock (test-and-test-and-set, yields the thread after a few spins); it is
// held only for a few pointer updates, never across a park.
//
//   weft::sync::Waiter w;
//   { auto g = q.lock(); if (ready()) return; q.push_back(g, w); }
//   if (q.wait(w, deadline) != weft::sync::WaitStatus::notified) { /* timed out or cancelled */ }
#pragma once

#include <weft/sched/error.hpp>
#include <weft/sched/waker.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace weft::sync {

using Clock = std::chrono::steady_clock;

// SpinLock: test-and-test-and-set lock for very short critical sections; yields the thread when
// contended for long (a worker may be descheduled on an oversubscribed machine).
class SpinLock {
 public:
  // lock: acquires; the exchange (acquire) pairs with unlock's release store.
  void lock() noexcept {
    if (!flag_.exchange(true, std::memory_order_acquire)) return;
    lock_slow();
  }
  // try_lock: one attempt.
  bool try_lock() noexcept {
    return !flag_.load(std::memory_order_relaxed) && !flag_.exchange(true, std::memory_order_acquire);
  }
  // unlock: release store; pairs with the acquire exchange of the next lock().
  void unlock() noexcept { flag_.store(false, std::memory_order_release); }

 private:
  void lock_slow() noexcept;
  std::atomic<bool> flag_{false};
};

// to_steady: a deadline on any clock as a steady_clock deadline (other clocks are converted by the
// time left, saturating instead of overflowing).
template <class Clk, class Dur>
Clock::time_point to_steady(const std::chrono::time_point<Clk, Dur>& t) {
  if constexpr (std::is_same_v<Clk, Clock>) {
    return std::chrono::time_point_cast<Clock::duration>(t);
  } else {
    return sched::deadline_after(t - Clk::now());
  }
}

// cpu_relax: the pause hint for a spin-wait iteration.
inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

// WaitStatus: how a wait ended.
enum class WaitStatus : std::uint8_t { notified, timed_out, cancelled };

// to_result: the Result a wait hands its caller: notified -> success, timed_out ->
// std::errc::timed_out, cancelled -> errc::cancelled.
inline Result<void> to_result(WaitStatus s) {
  switch (s) {
    case WaitStatus::notified:
      return {};
    case WaitStatus::timed_out:
      return fail(std::errc::timed_out);
    case WaitStatus::cancelled:
      break;
  }
  return fail(errc::cancelled);
}

class WaitQueue;

// Waiter: one waiting fiber or thread; lives on its stack while it waits.
struct Waiter {
  Waiter() noexcept = default;
  Waiter(const Waiter&) = delete;
  Waiter& operator=(const Waiter&) = delete;

  // request: what the waiter asks for (the primitive's meaning: permits, a phase...). Set before
  // push; read by notifiers under the lock.
  std::uintptr_t request = 0;
  // grant: what the notifier handed over (the primitive's meaning). Written by the notifier before
  // `notified`; read by the waiter after wait() returned notified.
  std::uintptr_t grant = 0;
  // since: when the waiter first queued (Mutex's starvation threshold).
  Clock::time_point since{};

 private:
  friend class WaitQueue;
  friend class WakeList;
  // phase_: WAITING (queued, or never queued), GRANTED (dequeued; the notifier has yet to wake it),
  // RELEASED (the notifier is done with the node). See the file comment.
  enum : std::uint8_t { kWaiting = 0, kGranted = 1, kReleased = 2 };
  Waiter* prev_ = nullptr;
  Waiter* next_ = nullptr;
  sched::ContextRef ctx_;
  bool queued_ = false;  // under the queue lock
  std::atomic<std::uint8_t> phase_{kWaiting};
};

// WakeList: the waiters notified under the queue lock, woken (and released) when the list is
// destroyed (declare it before the Guard, so the lock is released first). Holds up to kInline;
// beyond that a waiter is woken at once (wake never blocks, so that is correct, merely slower).
class WakeList {
 public:
  static constexpr std::size_t kInline = 16;
  WakeList() noexcept = default;
  WakeList(const WakeList&) = delete;
  WakeList& operator=(const WakeList&) = delete;
  ~WakeList() {
    if (size_ != 0) wake_all();
  }

  // push: keeps a GRANTED waiter to wake later (or wakes it now when full).
  void push(Waiter& w) noexcept;
  // wake_all: wakes and releases every kept waiter.
  void wake_all() noexcept;

 private:
  static void wake_and_release(Waiter& w) noexcept;
  Waiter* waiters_[kInline];  // not initialised: only [0, size_) is read
  std::size_t size_ = 0;
};

// WaitQueue: see the file comment.
class WaitQueue {
 public:
  // Guard: proof that the queue lock is held; released on destruction.
  class [[nodiscard]] Guard {
   public:
    explicit Guard(WaitQueue& q) noexcept : q_(&q) { q_->lock_.lock(); }
    Guard(const Guard&) = delete;
    Guard& operator=(const Guard&) = delete;
    ~Guard() { q_->lock_.unlock(); }

   private:
    WaitQueue* q_;
  };

  WaitQueue() noexcept = default;
  WaitQueue(const WaitQueue&) = delete;
  WaitQueue& operator=(const WaitQueue&) = delete;
  // ~WaitQueue: asserts that nobody waits (destroying a primitive with waiters is a bug).
  ~WaitQueue();

  // lock: takes the queue lock (spins, then yields the thread; never parks).
  Guard lock() noexcept { return Guard(*this); }

  // empty / front / size: the queue's state (under the lock).
  bool empty(const Guard&) const noexcept { return head_ == nullptr; }
  Waiter* front(const Guard&) const noexcept { return head_; }
  std::size_t size(const Guard&) const noexcept { return size_.load(std::memory_order_relaxed); }
  // waiters: a snapshot of the queue's length (takes the lock; for diagnostics and tests).
  std::size_t waiters() const noexcept {
    Guard g(const_cast<WaitQueue&>(*this));
    return size_.load(std::memory_order_relaxed);
  }
  // empty_hint: whether the queue is empty, read without its lock. Exact about pushes when the
  // caller's own locking excludes concurrent ones (a channel pushes senders only under the channel
  // lock, which it holds when it asks); a concurrent removal can only make a "not empty" stale,
  // which costs the caller a lock that finds nothing.
  bool empty_hint() const noexcept { return size_.load(std::memory_order_relaxed) == 0; }

  // push_back: queues w at the tail with a Waker for the calling fiber or thread. Never blocks.
  void push_back(const Guard&, Waiter& w);
  // push_front: queues w at the head (a woken waiter that lost a race keeps its place).
  void push_front(const Guard&, Waiter& w);

  // notify: dequeues w (which must be queued), stores `grant`, marks it GRANTED and hands it to
  // `wakes`, which wakes and releases it. Only `wakes` touches the node afterwards.
  void notify(const Guard&, Waiter& w, std::uintptr_t grant, WakeList& wakes) noexcept;
  // notify_one: notify(front) when there is one; returns whether there was.
  bool notify_one(const Guard& g, std::uintptr_t grant, WakeList& wakes) noexcept;
  // notify_all: notifies every queued waiter, in FIFO order; returns how many.
  std::size_t notify_all(const Guard& g, std::uintptr_t grant, WakeList& wakes) noexcept;

  // wait: parks the caller (which queued `w`) until a notifier dequeued it, `deadline` passed or,
  // when `cancellable`, the calling task was cancelled. On timeout/cancellation it takes the lock:
  // if w is still queued it is unlinked and on_removed(guard) runs (the primitive's repair); if it
  // was dequeued meanwhile it returns notified. Returns notified, timed_out or cancelled.
  template <class OnRemoved>
  WaitStatus wait(Waiter& w, Clock::time_point deadline, bool cancellable, OnRemoved&& on_removed) {
    for (;;) {
      WaitStatus why = park_once(w, deadline, cancellable);
      if (why == WaitStatus::notified) return why;
      if (why != WaitStatus::timed_out && why != WaitStatus::cancelled) continue;  // spurious
      {
        Guard g(*this);
        if (w.queued_) {
          unlink(w);
          on_removed(g);
          return why;
        }
      }
      settle(w);  // a notifier won the race: the grant is ours once it is done with the node
      return WaitStatus::notified;
    }
  }
  WaitStatus wait(Waiter& w, Clock::time_point deadline, bool cancellable = true) {
    return wait(w, deadline, cancellable, [](const Guard&) {});
  }

  // settle: returns once the notifier that dequeued `w` is done with it (RELEASED). Only for a
  // waiter known to be dequeued (e.g. a select branch found no longer queued); wait() calls it.
  static void settle(Waiter& w) noexcept;

 private:
  // park_once: one park step; returns notified, timed_out, cancelled, or kSpurious.
  static constexpr WaitStatus kSpurious = static_cast<WaitStatus>(0xff);
  static WaitStatus park_once(Waiter& w, Clock::time_point deadline, bool cancellable);
  void unlink(Waiter& w) noexcept;

  SpinLock lock_;
  Waiter* head_ = nullptr;
  Waiter* tail_ = nullptr;
  std::atomic<std::size_t> size_{0};  // written under the lock (plain load+store); see empty_hint
};

}  // namespace weft::sync
