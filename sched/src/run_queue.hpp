// run_queue.hpp: RunQueue, a worker's runnable fibers in the order they will run: a LIFO slot, a
// bounded ring, and an ordered overflow behind the ring. One owner thread pushes and pops; any
// thread may steal.
//
// The order promise (docs/architecture.md, "Scheduling order"), and why it holds:
//   A fiber pushed to the back runs after at most the N fibers that were already in the queue
//   when it was pushed, plus at most kLifoBudget LIFO hand-offs per kLifoWindow pops: at most
//   N + kLifoBudget * (N / (kLifoWindow - kLifoBudget) + 2) runs in all (about 1.05 N + 6),
//   whatever N is. (P pops span at most P / kLifoWindow + 1 windows, so the L LIFO runs among
//   them satisfy L <= kLifoBudget * ((N + L) / kLifoWindow + 1); solve for L.)
// - FIFO across ring and overflow. Every item in the overflow arrived after every item in the
//   ring: an item goes to the overflow only when the ring is full or the overflow is already
//   non-empty, and items leave the overflow only from its front, into the ring's back, and only
//   while the ring has room. So ring ++ overflow is the arrival order, and pop() takes its front.
//   (The old design moved the *oldest* half of a full ring to a shared queue read only now and
//   then, which let every later wake-up overtake the fibers that had waited longest.)
// - Thieves take from the front too (the ring's oldest half, else the overflow's oldest half): a
//   steal moves fibers to another worker, it never puts anyone behind a newer arrival here.
// - The LIFO slot holds one fiber woken by the fiber running now, so it runs next while what it
//   waits for is in cache (a ping-pong hand-off). It is taken before the queue only within a
//   budget: kLifoBudget times per kLifoWindow pops while the queue is non-empty; past the budget
//   the slot's fiber goes to the back like any other. With the queue empty nobody waits, so the
//   slot is always taken then (a ping-pong pair never pays for the detour).
// - The LIFO slot is stealable (steal_lifo), so a fiber woken by a fiber that then runs for long
//   without yielding is not stranded: the stall monitor takes it when the owner has not switched
//   fibers for a while (stall_monitor.cpp). The owner takes the slot with an exchange, the thief
//   with a compare-exchange, so exactly one of them gets the fiber.
//
// Memory order: the ring's is argued in local_queue.hpp. The overflow is a deque under a mutex;
// overflow_size_ mirrors its length (written under the mutex) so the owner and thieves can tell it
// is empty without locking; a stale read only makes a push take the lock or a thief miss a steal.
// The LIFO slot: the owner's release store/exchange publishes the fiber it puts there (pairs with
// the acquire of whoever takes it).
//
// The promise is the default mode's. The seeded shuffle mode for tests (worker.hpp) pops with
// pop_shuffled() instead, which deliberately departs from it: any of the first few may run next.
//
// Capacity is a template parameter so tests can shrink it to hit the overflow paths.
#pragma once

#include "local_queue.hpp"

#include <atomic>
#include <cstddef>
#include <deque>
#include <mutex>

namespace weft::sched {

template <class T, std::size_t Capacity>
class RunQueue {
 public:
  static constexpr unsigned kLifoBudget = 3;   // LIFO hand-offs ahead of a non-empty queue...
  static constexpr unsigned kLifoWindow = 61;  // ...per this many pops

  // push_back: owner. Queues `v` behind everything queued.
  void push_back(T v) {
    if (overflow_size_.load(std::memory_order_relaxed) == 0 && ring_.try_push(v)) return;
    std::lock_guard lock(overflow_mu_);
    overflow_.push_back(v);
    overflow_size_.store(overflow_.size(), std::memory_order_relaxed);
  }

  // push_lifo: owner. Puts `v` in the LIFO slot; returns the fiber it displaced (T{} if none),
  // which the caller queues at the back.
  [[nodiscard]] T push_lifo(T v) noexcept {
    // Only the owner fills the slot, so an empty slot stays empty until this store.
    if (!lifo_.load(std::memory_order_relaxed)) {
      lifo_.store(v, std::memory_order_release);  // pairs with take_lifo / steal_lifo
      return T{};
    }
    return lifo_.exchange(v, std::memory_order_acq_rel);  // a thief may have emptied it meanwhile
  }

  // pop: owner. The next fiber to run (order above), or T{} when empty.
  T pop() {
    if (++pops_ == kLifoWindow) {
      pops_ = 0;
      lifo_budget_ = kLifoBudget;
    }
    if (lifo_.load(std::memory_order_relaxed)) {
      const bool queue_empty = ring_.empty() && overflow_size_.load(std::memory_order_relaxed) == 0;
      if (T v = take_lifo()) {
        if (queue_empty) return v;
        if (lifo_budget_ > 0) {
          --lifo_budget_;
          return v;
        }
        push_back(v);  // over budget: it waits its turn
      }
    }
    return pop_queued();
  }

  // pop_shuffled: owner. The shuffle mode's pop (worker.hpp, "Shuffle mode"), which deliberately
  // breaks the order promise above: the LIFO slot's fiber runs next only when `lifo_first`, else it
  // joins the back; then the first `skip` queued fibers (modulo how many are queued) move to the
  // back, and the one after them is popped. So any of the first skip + 1 may run next, and the
  // choice is the caller's (its seeded generator's). T{} when empty.
  T pop_shuffled(bool lifo_first, std::size_t skip) {
    if (T v = take_lifo()) {
      if (lifo_first) return v;
      push_back(v);
    }
    if (const std::size_t queued = ring_.size() + overflow_size_.load(std::memory_order_relaxed)) skip %= queued;
    for (; skip > 0; --skip) {
      T v = pop_queued();
      if (!v) break;  // a thief emptied it meanwhile
      push_back(v);
    }
    return pop_queued();
  }

  // steal_half: any thread. Takes up to half (rounded up) of the queue's front, at most `max`,
  // into `out`: from the ring, else from the overflow. Never the LIFO slot. Returns how many.
  std::size_t steal_half(T* out, std::size_t max) {
    if (const std::size_t n = ring_.take_half(out, max)) return n;
    if (overflow_size_.load(std::memory_order_relaxed) == 0) return 0;
    std::lock_guard lock(overflow_mu_);
    std::size_t n = overflow_.size() - overflow_.size() / 2;
    if (n > max) n = max;
    for (std::size_t i = 0; i < n; ++i) {
      out[i] = overflow_.front();
      overflow_.pop_front();
    }
    overflow_size_.store(overflow_.size(), std::memory_order_relaxed);
    return n;
  }

  // steal_lifo: any thread. Takes the LIFO slot's fiber (T{} if none or the owner took it first).
  T steal_lifo() noexcept {
    T v = lifo_.load(std::memory_order_acquire);
    if (v && lifo_.compare_exchange_strong(v, T{}, std::memory_order_acq_rel, std::memory_order_acquire)) return v;
    return T{};
  }

  // size: exact for the owner (LIFO slot included), approximate from other threads.
  std::size_t size() const noexcept {
    return ring_.size() + overflow_size_.load(std::memory_order_relaxed) +
           (lifo_.load(std::memory_order_relaxed) ? 1 : 0);
  }
  bool empty() const noexcept { return size() == 0; }
  // has_stealable: any thread; whether steal_half may find something (approximate).
  bool has_stealable() const noexcept {
    return !ring_.empty() || overflow_size_.load(std::memory_order_relaxed) != 0;
  }
  // room: owner; how many pushes fit in the ring before the overflow is used.
  std::size_t room() const noexcept {
    return overflow_size_.load(std::memory_order_relaxed) != 0 ? 0 : Capacity - ring_.size();
  }

 private:
  T take_lifo() noexcept { return lifo_.exchange(T{}, std::memory_order_acquire); }

  // pop_queued: owner. The front of ring ++ overflow (T{} when both are empty). Loops because
  // thieves may take everything a refill just moved into the ring before the pop: empty is only
  // reported when the overflow was seen empty too. Each round pops or shrinks the overflow.
  T pop_queued() {
    for (;;) {
      if (T v = ring_.pop()) {
        if (overflow_size_.load(std::memory_order_relaxed) != 0 && ring_.size() <= Capacity / 2) refill();
        return v;
      }
      if (overflow_size_.load(std::memory_order_relaxed) == 0) return T{};
      refill();
    }
  }

  // refill: owner. Moves the overflow's front into the ring's back while it fits.
  void refill() {
    std::lock_guard lock(overflow_mu_);
    while (!overflow_.empty() && ring_.try_push(overflow_.front())) overflow_.pop_front();
    overflow_size_.store(overflow_.size(), std::memory_order_relaxed);
  }

  LocalQueue<T, Capacity> ring_;
  alignas(64) std::atomic<T> lifo_{};
  unsigned pops_ = 0;         // owner: pops in the current LIFO window
  unsigned lifo_budget_ = kLifoBudget;  // owner: LIFO hand-offs left in this window
  std::atomic<std::size_t> overflow_size_{0};
  std::mutex overflow_mu_;
  std::deque<T> overflow_;
};

}  // namespace weft::sched
