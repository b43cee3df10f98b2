// wait_queue.cpp: the intrusive FIFO under every sync primitive. The lifetime argument (why a waiter
// may leave as soon as it sees `notified`) is in the header's file comment; in short: every write a
// notifier makes to a node precedes its release store of `notified`, under the queue lock, and the
// Waker it wakes was moved out of the node first.
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

void WakeList::push(sched::Waker&& w) noexcept {
  if (size_ == kInline) {
    w.wake();
    w.reset();
    return;
  }
  wakers_[size_++] = std::move(w);
}

void WakeList::wake_all() noexcept {
  for (std::size_t i = 0; i < size_; ++i) {
    wakers_[i].wake();
    wakers_[i].reset();
  }
  size_ = 0;
}

WaitQueue::~WaitQueue() { assert(head_ == nullptr && "weft::sync: primitive destroyed while waiters wait on it"); }

void WaitQueue::push_back(const Guard&, Waiter& w) {
  assert(!w.queued_);
  w.waker_ = sched::Waker::current();
  w.notified_.store(false, std::memory_order_relaxed);
  w.queued_ = true;
  w.next_ = nullptr;
  w.prev_ = tail_;
  if (tail_) {
    tail_->next_ = &w;
  } else {
    head_ = &w;
  }
  tail_ = &w;
  ++size_;
}

void WaitQueue::push_front(const Guard&, Waiter& w) {
  assert(!w.queued_);
  w.waker_ = sched::Waker::current();
  w.notified_.store(false, std::memory_order_relaxed);
  w.queued_ = true;
  w.prev_ = nullptr;
  w.next_ = head_;
  if (head_) {
    head_->prev_ = &w;
  } else {
    tail_ = &w;
  }
  head_ = &w;
  ++size_;
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
  --size_;
}

void WaitQueue::notify(const Guard&, Waiter& w, std::uintptr_t grant, WakeList& wakes) noexcept {
  unlink(w);
  w.grant = grant;
  sched::Waker waker = std::move(w.waker_);
  // Release: publishes grant (and whatever the primitive wrote before) to the waiter's acquire load
  // in park_once. The node is not touched after this store. The wake must come after it (a wake
  // before it could be consumed by a park that then still sees `notified` false and parks again).
  w.notified_.store(true, std::memory_order_release);
  wakes.push(std::move(waker));
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

WaitStatus WaitQueue::park_once(Waiter& w, Clock::time_point deadline, bool cancellable) {
  // Acquire: pairs with the release store in notify().
  if (w.notified_.load(std::memory_order_acquire)) return WaitStatus::notified;
  if (cancellable && this_fiber::cancellation_requested()) return WaitStatus::cancelled;
  if (deadline == Clock::time_point::max()) {
    sched::park();
  } else {
    if (Clock::now() >= deadline) return WaitStatus::timed_out;
    (void)sched::park_until(deadline);
  }
  return w.notified_.load(std::memory_order_acquire) ? WaitStatus::notified : kSpurious;
}

}  // namespace weft::sync
