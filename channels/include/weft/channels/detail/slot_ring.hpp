// weft/channels/detail/slot_ring.hpp: the FIFO ring that holds a channel's buffered values, with a
// lock-free fast path and a locked ("frozen") mode (internal).
//
// Why two modes. A channel decides under its lock whether a receiver must wait, a sender must wait
// or a waiter is served; that decision needs the ring to hold still. But a pipeline whose stages run
// on two cores spends almost all its operations on a ring with nobody waiting, and there the lock
// (one cache line written by both ends on every operation) is the whole cost. So the ring has:
//  - the fast path, try_push/try_pop, lock-free, for any thread. Producers touch `tail_` and the
//    slot they fill, consumers `head_` and the slot they empty: the two ends share only slot lines.
//  - the frozen mode: freeze() (under the channel lock) sets kFrozen in both `head_` and `tail_`, so
//    every fast operation that has not yet claimed its position fails from then on (its CAS expects
//    a word without the bit) and its caller takes the lock. The channel keeps the ring frozen while
//    anyone waits or the channel is closed, and thaws it when a locked operation found nobody to
//    serve: the fast path exists only while there are no waiters.
//
// The slots (a bounded MPMC queue with per-slot stamps). A position is lap * lap_ + index, with
// index < slots_ and lap_ the power of two above slots_, so any number of slots works and a slot's
// stamp says which position it is ready for: stamp == pos means "free for the push of pos",
// stamp == pos + 1 means "holds the value pushed at pos" (and its pop resets it to pos + lap_, the
// same index one lap later). A push claims `pos` by CAS on tail_ only after reading stamp == pos; a
// pop claims by CAS on head_ after reading stamp == pos + 1. The value is written before the stamp's
// release store and read after its acquire load, so the stamps alone carry the values between threads.
//
// Locked operations (push_locked/pop_locked/size_locked) run frozen, under the owner's lock, so they
// are the only writers of head_/tail_. A fast operation that claimed its position just before the
// freeze may still be writing or reading its slot: the locked operation that next uses that slot waits
// for its stamp (a few instructions; the claim-to-stamp window never blocks).
//
// Storage. A ring starts with up to 16 slots (or all `capacity` slots when they fit in 64 KiB) and
// doubles, only while frozen, up to `capacity` (unbounded: without limit). The fast path is allowed
// (thaw) only once the storage is final - it has `capacity` slots, and T moves without throwing - so a
// fast operation never sees storage replaced under it; an unbounded or a capacity-0 ring stays frozen.
//
// Thread-safety: try_push/try_pop from any thread; everything else under the owner's lock.
//
//   weft::detail::SlotRing<int> r(4);      // frozen at first
//   { /* channel lock held */ r.push_locked(1); r.thaw(); }
//   std::optional<int> v; r.try_pop(v);    // v == 1, lock-free
#pragma once

#include <weft/sync/wait_queue.hpp>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <optional>
#include <thread>
#include <type_traits>
#include <utility>

namespace weft::detail {

template <class T>
class SlotRing {
 public:
  // SlotRing: a ring that holds at most `capacity` values (SIZE_MAX: unbounded); starts frozen.
  explicit SlotRing(std::size_t capacity) : cap_(capacity) {
    const std::size_t eager = kEagerBytes / sizeof(Slot);
    if (cap_ != 0) allocate(cap_ <= eager ? cap_ : std::min<std::size_t>(cap_, kFirstSlots));
  }
  SlotRing(const SlotRing&) = delete;
  SlotRing& operator=(const SlotRing&) = delete;
  // ~SlotRing: destroys the values still held. No other thread may use the ring any more.
  ~SlotRing() {
    freeze();
    while (size_locked() != 0) (void)pop_locked();
  }

  // --- fast path: any thread, no lock ---

  // try_push: moves v into the ring and returns true; false (v untouched) when the ring is frozen or
  // has no free slot at the moment.
  bool try_push(T& v) noexcept {
    std::uint64_t t = tail_.load(std::memory_order_acquire);  // pairs with thaw()'s release
    for (;;) {
      if (t & kFrozen) return false;
      Slot& s = slot_at(t);
      const std::uint64_t st = s.stamp.load(std::memory_order_acquire);  // pairs with the last pop's release
      if (st == t) {
        if (tail_.compare_exchange_weak(t, next(t), std::memory_order_relaxed, std::memory_order_acquire)) {
          ::new (static_cast<void*>(s.value())) T(std::move(v));
          s.stamp.store(t + 1, std::memory_order_release);  // pairs with the pop's acquire
          return true;
        }
      } else if (st + lap_ == t + 1) {
        return false;  // still holds the value of the previous lap: full (or its pop is under way)
      } else {
        const std::uint64_t seen = t;
        t = tail_.load(std::memory_order_acquire);  // another producer got there first?
        if (t == seen) return false;               // no: a slot in transition; the lock sorts it out
      }
    }
  }

  // try_pop: moves the oldest value into `out` and returns true; false when the ring is frozen or
  // has no value ready at the moment.
  bool try_pop(std::optional<T>& out) noexcept {
    std::uint64_t h = head_.load(std::memory_order_acquire);  // pairs with thaw()'s release
    for (;;) {
      if (h & kFrozen) return false;
      Slot& s = slot_at(h);
      const std::uint64_t st = s.stamp.load(std::memory_order_acquire);  // pairs with the push's release
      if (st == h + 1) {
        if (head_.compare_exchange_weak(h, next(h), std::memory_order_relaxed, std::memory_order_acquire)) {
          out.emplace(std::move(*s.value()));
          s.value()->~T();
          s.stamp.store(h + lap_, std::memory_order_release);  // pairs with the next push's acquire
          return true;
        }
      } else if (st == h) {
        return false;  // nothing pushed at h yet: empty (or its push is under way)
      } else {
        const std::uint64_t seen = h;
        h = head_.load(std::memory_order_acquire);  // another consumer got there first?
        if (h == seen) return false;               // no: a slot in transition; the lock sorts it out
      }
    }
  }

  // size_hint: how many values are held; exact when nothing runs concurrently. Under the owner's
  // lock (the storage may grow otherwise), not necessarily frozen.
  std::size_t size_hint() const noexcept {
    return count(head_.load(std::memory_order_acquire) & ~kFrozen, tail_.load(std::memory_order_acquire) & ~kFrozen);
  }

  // --- frozen mode: under the owner's lock ---

  // freeze: makes every fast operation fail until thaw(). acq_rel: the RMW orders the freeze after
  // every claim that won before it (the claims' own CAS on the same word).
  void freeze() noexcept {
    if (!(tail_.load(std::memory_order_relaxed) & kFrozen)) tail_.fetch_or(kFrozen, std::memory_order_acq_rel);
    if (!(head_.load(std::memory_order_relaxed) & kFrozen)) head_.fetch_or(kFrozen, std::memory_order_acq_rel);
  }
  // thaw: lets the fast path in again, when the storage is final; returns whether it did. Release:
  // pairs with the fast path's acquire loads, which then see the final storage and positions.
  bool thaw() noexcept {
    if (!fast_capable()) return false;
    const std::uint64_t t = tail_.load(std::memory_order_relaxed);
    if (t & kFrozen) tail_.store(t & ~kFrozen, std::memory_order_release);
    const std::uint64_t h = head_.load(std::memory_order_relaxed);
    if (h & kFrozen) head_.store(h & ~kFrozen, std::memory_order_release);
    return true;
  }
  bool frozen() const noexcept { return tail_.load(std::memory_order_relaxed) & kFrozen; }

  // size_locked / full_locked: the number of values held, counting pushes under way.
  std::size_t size_locked() const noexcept { return count(position(head_), position(tail_)); }
  bool full_locked() const noexcept { return size_locked() >= cap_; }

  // push_locked: appends v (frozen; precondition !full_locked()). Grows the storage when every slot
  // is in use; may throw std::bad_alloc (nothing changed then).
  void push_locked(T&& v) {
    assert(frozen() && !full_locked());
    if (slots_ != cap_ && size_locked() == slots_) grow();  // final storage never grows
    const std::uint64_t t = position(tail_);
    Slot& s = slot_at(t);
    wait_for_stamp(s, t);  // a fast pop of the previous lap may still be moving its value out
    ::new (static_cast<void*>(s.value())) T(std::move(v));
    s.stamp.store(t + 1, std::memory_order_release);  // pairs with the pop's acquire
    tail_.store(next(t) | kFrozen, std::memory_order_relaxed);
  }
  // pop_locked: removes and returns the oldest value (frozen; precondition size_locked() > 0).
  T pop_locked() {
    assert(frozen() && size_locked() > 0);
    const std::uint64_t h = position(head_);
    Slot& s = slot_at(h);
    wait_for_stamp(s, h + 1);  // a fast push that claimed h may still be writing it
    T v(std::move(*s.value()));
    s.value()->~T();
    s.stamp.store(h + lap_, std::memory_order_release);  // pairs with the next push's acquire
    head_.store(next(h) | kFrozen, std::memory_order_relaxed);
    return v;
  }

 private:
  static constexpr std::uint64_t kFrozen = std::uint64_t{1} << 63;
  static constexpr std::size_t kFirstSlots = 16;
  static constexpr std::size_t kEagerBytes = 64 * 1024;

  struct Slot {
    std::atomic<std::uint64_t> stamp{0};
    alignas(T) unsigned char storage[sizeof(T)];
    T* value() noexcept { return std::launder(reinterpret_cast<T*>(storage)); }
  };

  bool fast_capable() const noexcept { return std::is_nothrow_move_constructible_v<T> && cap_ != 0 && slots_ == cap_; }

  static std::uint64_t position(const std::atomic<std::uint64_t>& w) noexcept {
    return w.load(std::memory_order_relaxed) & ~kFrozen;
  }
  Slot& slot_at(std::uint64_t pos) const noexcept { return slots_buf_[pos & (lap_ - 1)]; }
  // next: the position after pos: the next index, or index 0 of the next lap.
  std::uint64_t next(std::uint64_t pos) const noexcept { return advance(pos, slots_, lap_); }
  static std::uint64_t advance(std::uint64_t pos, std::size_t slots, std::uint64_t lap) noexcept {
    return (pos & (lap - 1)) + 1 < slots ? pos + 1 : (pos & ~(lap - 1)) + lap;
  }
  std::size_t count(std::uint64_t h, std::uint64_t t) const noexcept {
    if (t == h) return 0;
    const std::uint64_t hi = h & (lap_ - 1), ti = t & (lap_ - 1);
    if (hi < ti) return ti - hi;
    if (hi > ti) return slots_ - hi + ti;
    return slots_;  // same index, one lap apart: full
  }

  static void wait_for_stamp(Slot& s, std::uint64_t want) noexcept {
    for (unsigned spins = 0; s.stamp.load(std::memory_order_acquire) != want; ++spins) {  // pairs with the fast op's release
      if (spins < 64) {
        sync::cpu_relax();
      } else {
        std::this_thread::yield();  // that fast operation's thread was descheduled mid-way
      }
    }
  }

  // allocate: installs fresh storage of n free slots (stamps for lap 0) and returns the old one.
  std::unique_ptr<Slot[]> allocate(std::size_t n) {
    auto fresh = std::make_unique<Slot[]>(n);  // may throw: nothing has changed yet
    auto old = std::exchange(slots_buf_, std::move(fresh));
    slots_ = n;
    lap_ = std::bit_ceil(n + 1);
    for (std::size_t i = 0; i < n; ++i) slots_buf_[i].stamp.store(i, std::memory_order_relaxed);
    return old;
  }

  // grow: doubles the storage (up to cap_). Frozen, and never after the storage was final, so no
  // fast operation has touched these slots: the values move without waiting.
  void grow() {
    const std::size_t n = slots_;
    const std::size_t want = n > cap_ / 2 ? cap_ : n * 2;
    std::uint64_t h = position(head_);
    const std::uint64_t old_lap = lap_;
    std::unique_ptr<Slot[]> old = allocate(want);
    for (std::size_t i = 0; i < n; ++i) {
      Slot& from = old[h & (old_lap - 1)];
      ::new (static_cast<void*>(slots_buf_[i].value())) T(std::move(*from.value()));
      from.value()->~T();
      slots_buf_[i].stamp.store(i + 1, std::memory_order_relaxed);
      h = advance(h, n, old_lap);
    }
    head_.store(kFrozen, std::memory_order_relaxed);
    tail_.store(n | kFrozen, std::memory_order_relaxed);  // n < want = slots_: index n of lap 0
  }

  // Layout: producers write tail_, consumers head_: each on its own line.
  alignas(64) std::atomic<std::uint64_t> head_{kFrozen};
  alignas(64) std::atomic<std::uint64_t> tail_{kFrozen};
  alignas(64) std::unique_ptr<Slot[]> slots_buf_;
  std::size_t slots_ = 0;
  std::uint64_t lap_ = 1;
  const std::size_t cap_;
};

}  // namespace weft::detail
