// wait_queue.cpp: the intrusive FIFO under every sync primitive. The lifetime argument (why a waiter
// may leave as soon as it sees RELEASED, and why the node needs no reference to its context) is in
// the header's file comment; in short: the notifier's release store of RELEASED is its last access
// to the node, after the wake, and a waiter leaves only after it has seen that store.
#include <weft/sync/wait_queue.hpp>

#include <weft/sched/this_fiber.hpp>

#include <cassert>
#include <thread>
#include <utility>

namespace weft::sync {

void SpinLock::lock_slow() noexcept {
  for (unsigned spins = 0;; ++spins) {
    while (flag_.load(std::memory_order_relaxed)) {
      if (spins < 64) {
        cpu_relax();
        ++spins;
      } else {
        // The holder may be a descheduled thread (more workers than cores): give it the CPU.
        std::this_thread::yield();
      }
    }
    if (!flag_.exchange(true, std::memory_order_acquire)) return;
  }
}

void WakeList::wake_and_release(Waiter& w) noexcept {
  const sched::ContextRef ctx = w.ctx_;
  ctx.wake();
  // Release: publishes grant and everything the primitive wrote before it to the waiter's acquire
  // load. The last access to the node: the waiter may return (and its frame go) right after.
  w.phase_.store(Waiter::kReleased, std::memory_order_release);
}

void WakeList::push(Waiter& w) noexcept {
  if (size_ == kInline) {
    wake_and_release(w);
    return;
  }
  waiters_[size_++] = &w;
}

void WakeList::wake_all() noexcept {
  for (std::size_t i = 0; i < size_; ++i) wake_and_release(*waiters_[i]);
  size_ = 0;
}

WaitQueue::~WaitQueue() { assert(head_ == nullptr && "weft::sync: primitive destroyed while waiters wait on it"); }

void WaitQueue::push_back(const Guard&, Waiter& w) {
  assert(!w.queued_);
  w.ctx_ = sched::ContextRef::current();
  w.phase_.store(Waiter::kWaiting, std::memory_order_relaxed);
  w.queued_ = true;
  w.next_ = nullptr;
  w.prev_ = tail_;
  if (tail_) {
    tail_->next_ = &w;
  } else {
    head_ = &w;
  }
  tail_ = &w;
  size_.store(size_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

void WaitQueue::push_front(const Guard&, Waiter& w) {
  assert(!w.queued_);
  w.ctx_ = sched::ContextRef::current();
  w.phase_.store(Waiter::kWaiting, std::memory_order_relaxed);
  w.queued_ = true;
  w.prev_ = nullptr;
  w.next_ = head_;
  if (head_) {
    head_->prev_ = &w;
  } else {
    tail_ = &w;
  }
  head_ = &w;
  size_.store(size_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

void WaitQueue::unlink(Waiter& w) noexcept {
  assert(w.queued_);
  if (w.prev_) {
    w.prev_->next_ = w.next_;
  } else {
    head_ = w.next_;
  }
  if (w.next_) {
    w.next_->prev_ = w.prev_;
  } else {
    tail_ = w.prev_;
  }
  w.prev_ = w.next_ = nullptr;
  w.queued_ = false;
  size_.store(size_.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
}

void WaitQueue::notify(const Guard&, Waiter& w, std::uintptr_t grant, WakeList& wakes) noexcept {
  unlink(w);
  w.grant = grant;
  // GRANTED before the wake (which `wakes` does later): a waiter woken for any reason that sees it
  // knows its wake-up is coming and must not park again. Relaxed: the waiter reads nothing else
  // on GRANTED; RELEASED publishes the grant.
  w.phase_.store(Waiter::kGranted, std::memory_order_relaxed);
  wakes.push(w);
}

bool WaitQueue::notify_one(const Guard& g, std::uintptr_t grant, WakeList& wakes) noexcept {
  if (!head_) return false;
  notify(g, *head_, grant, wakes);
  return true;
}

std::size_t WaitQueue::notify_all(const Guard& g, std::uintptr_t grant, WakeList& wakes) noexcept {
  std::size_t n = 0;
  while (head_) {
    notify(g, *head_, grant, wakes);
    ++n;
  }
  return n;
}

void WaitQueue::settle(Waiter& w) noexcept {
  // Acquire: pairs with the release store in WakeList::wake_and_release.
  for (unsigned spins = 0; w.phase_.load(std::memory_order_acquire) != Waiter::kReleased; ++spins) {
    if (spins < 64) {
      cpu_relax();
    } else {
      // The notifier may be a descheduled thread between its wake and its release store.
      std::this_thread::yield();
    }
  }
}

WaitStatus WaitQueue::park_once(Waiter& w, Clock::time_point deadline, bool cancellable) {
  // notified: the waiter was dequeued; settle() waits out the notifier's last touch.
  auto dequeued = [&w]() noexcept {
    if (w.phase_.load(std::memory_order_relaxed) == Waiter::kWaiting) return false;
    settle(w);
    return true;
  };
  if (dequeued()) return WaitStatus::notified;
  if (cancellable && this_fiber::cancellation_requested()) return WaitStatus::cancelled;
  if (deadline == Clock::time_point::max()) {
    sched::park();
  } else {
    if (Clock::now() >= deadline) return WaitStatus::timed_out;
    (void)sched::park_until(deadline);
  }
  return dequeued() ? WaitStatus::notified : kSpurious;
}

}  // namespace weft::sync
