// local_queue.hpp: a worker's bounded run queue. One owner pushes and pops; any thread may steal
// half of it.
//
// Layout: a ring of Capacity atomic slots with 64-bit `head` (next to take) and `tail` (next to
// fill). Only the owner writes `tail` and slot contents; every consumer (owner pop, thief steal)
// claims items by CAS on `head`. 64-bit indices never wrap in practice, so there is no ABA.
//
// Why it is correct:
// - The owner writes slot tail%Capacity only when tail - head < Capacity, i.e. the slot was already
//   claimed (head moved past it) by whoever read it. A consumer reads slots *before* its CAS; if a
//   slow consumer read a slot that was then refilled, its CAS fails (head moved) and it discards
//   what it read. Slots are atomics (relaxed) so such a stale read is not a data race.
// - tail.store(release) in push pairs with tail.load(acquire) in steal/pop: a consumer that sees
//   the new tail sees the slot written before it.
// - The successful CAS on head (acq_rel) pairs with the owner's head.load(acquire) in push, so the
//   owner never overwrites a slot a consumer has not finished reading.
//
// Capacity is a template parameter so tests can shrink it to hit wrap-around and overflow.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace weft::sched {

template <class T, std::size_t Capacity>
class LocalQueue {
  static_assert(Capacity >= 2 && (Capacity & (Capacity - 1)) == 0, "Capacity must be a power of two");

 public:
  static constexpr std::size_t capacity() { return Capacity; }

  // try_push: owner only. False when full (the caller overflows to a shared queue).
  bool try_push(T v) noexcept {
    const std::uint64_t t = tail_.load(std::memory_order_relaxed);
    const std::uint64_t h = head_.load(std::memory_order_acquire);
    if (t - h >= Capacity) return false;
    slots_[t & kMask].store(v, std::memory_order_relaxed);
    tail_.store(t + 1, std::memory_order_release);
    return true;
  }

  // pop: owner only (FIFO). nullptr-equivalent T{} when empty.
  T pop() noexcept {
    std::uint64_t h = head_.load(std::memory_order_acquire);
    for (;;) {
      const std::uint64_t t = tail_.load(std::memory_order_relaxed);
      if (h == t) return T{};
      T v = slots_[h & kMask].load(std::memory_order_relaxed);
      if (head_.compare_exchange_weak(h, h + 1, std::memory_order_acq_rel, std::memory_order_acquire)) return v;
    }
  }

  // take_half: claims up to half (rounded up) of the items, at most max, into out. Any thread.
  // Returns how many were taken.
  std::size_t take_half(T* out, std::size_t max) noexcept {
    std::uint64_t h = head_.load(std::memory_order_acquire);
    for (;;) {
      const std::uint64_t t = tail_.load(std::memory_order_acquire);
      if (t <= h) return 0;
      std::uint64_t n = t - h;
      if (n > Capacity) {  // torn view (head moved while we read tail): retry
        h = head_.load(std::memory_order_acquire);
        continue;
      }
      n -= n / 2;
      if (n > max) n = max;
      for (std::uint64_t i = 0; i < n; ++i) out[i] = slots_[(h + i) & kMask].load(std::memory_order_relaxed);
      if (head_.compare_exchange_weak(h, h + n, std::memory_order_acq_rel, std::memory_order_acquire)) return n;
    }
  }

  // size: approximate from other threads, exact for the owner.
  std::size_t size() const noexcept {
    const std::uint64_t h = head_.load(std::memory_order_acquire);
    const std::uint64_t t = tail_.load(std::memory_order_acquire);
    return t > h ? static_cast<std::size_t>(t - h) : 0;
  }
  bool empty() const noexcept { return size() == 0; }

 private:
  static constexpr std::uint64_t kMask = Capacity - 1;
  alignas(64) std::atomic<std::uint64_t> head_{0};
  alignas(64) std::atomic<std::uint64_t> tail_{0};
  alignas(64) std::array<std::atomic<T>, Capacity> slots_{};
};

}  // namespace weft::sched
