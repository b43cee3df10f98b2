// timer_heap.hpp: one worker's pending deadlines (sleeps, park_until).
//
// A TimerEntry lives on the waiting fiber's stack. Only the owning worker fires entries, but the
// fiber may have migrated by the time it removes its entry, so insert/remove/fire take a mutex
// (uncontended in the common case: the owner inserts and fires; removal is remote only after a
// migration).
//
// Why the entry is never used after its fiber returned: the fiber leaves park_until() only after
// either seeing `fired` or removing the entry under the mutex. fire_expired() sets `fired` and takes
// a reference on the task under the same mutex and never touches the entry after unlocking; the
// wake-up it then sends goes through that reference.
//
// `earliest_` caches the top deadline so the worker loop can check for expiry without locking.
//
// Layout, for a million timers: an entry lives on its fiber's stack, a page of its own, so every
// touch of one is a TLB miss (in a VM a nested page walk). The heap therefore never touches an
// entry it merely moves: it is 4-ary over {deadline, slot} nodes in one array, and each entry's
// position lives in a slot table (slots_, another array) that the entry names by its slot number.
// Inserting, removing or firing touches only the entry concerned. (A binary heap of entry pointers
// that read each deadline and wrote each index through them touched about three stack pages per
// level, 19 levels deep at a million: removing 500,000 timers took 10 s and grew superlinearly.)
//
// Thread-safety: all members are safe from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

namespace weft::sched {

class Task;
class TimerHeap;

struct TimerEntry {
  std::chrono::steady_clock::time_point deadline;
  Task* task = nullptr;
  TimerHeap* heap = nullptr;
  std::uint32_t slot = kNotQueued;  // its slot in `heap` while queued (under the heap's mutex)
  std::atomic<bool> fired{false};  // release store in fire_expired pairs with the waiter's acquire load
  static constexpr std::uint32_t kNotQueued = ~std::uint32_t{0};
};

class TimerHeap {
 public:
  using time_point = std::chrono::steady_clock::time_point;

  void insert(TimerEntry* e);
  // remove: false when the entry already fired.
  bool remove(TimerEntry* e);
  // fire_expired: pops every entry due at `now`, marks it fired and appends its task, with a
  // reference the caller must drop, to `out`.
  void fire_expired(time_point now, std::vector<Task*>& out);
  // next_deadline: the earliest pending deadline, time_point::max() when none. Lock-free.
  time_point next_deadline() const noexcept {
    return time_point(time_point::duration(earliest_.load(std::memory_order_acquire)));
  }
  std::size_t size();

 private:
  struct Node {
    time_point deadline;
    std::uint32_t slot;
  };
  struct Slot {
    TimerEntry* entry;
    std::size_t pos;  // its node's index in heap_
  };
  static constexpr std::size_t kArity = 4;
  void sift_up(std::size_t i, Node n);
  void sift_down(std::size_t i, Node n);
  void place(std::size_t i, Node n) {
    heap_[i] = n;
    slots_[n.slot].pos = i;
  }
  void publish_earliest();
  // erase_at: takes node i out of the heap, frees its slot, marks its entry not queued; returns it.
  TimerEntry* erase_at(std::size_t i);

  std::mutex mu_;
  std::vector<Node> heap_;
  std::vector<Slot> slots_;
  std::vector<std::uint32_t> free_slots_;
  std::atomic<time_point::rep> earliest_{time_point::max().time_since_epoch().count()};
};

}  // namespace weft::sched
