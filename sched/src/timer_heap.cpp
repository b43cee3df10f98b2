#include "timer_heap.hpp"

#include <weft/sched/task.hpp>

namespace weft::sched {

void TimerHeap::insert(TimerEntry* e) {
  std::lock_guard lock(mu_);
  std::uint32_t slot;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
    slots_[slot].entry = e;
  } else {
    slot = static_cast<std::uint32_t>(slots_.size());
    slots_.push_back(Slot{e, 0});
    free_slots_.reserve(slots_.capacity());  // so erase_at's push_back never allocates (or throws)
  }
  e->heap = this;
  e->slot = slot;
  heap_.push_back(Node{e->deadline, slot});
  sift_up(heap_.size() - 1, heap_.back());
  publish_earliest();
}

bool TimerHeap::remove(TimerEntry* e) {
  std::lock_guard lock(mu_);
  if (e->slot == TimerEntry::kNotQueued) return false;
  erase_at(slots_[e->slot].pos);
  publish_earliest();
  return true;
}

void TimerHeap::fire_expired(time_point now, std::vector<Task*>& out) {
  std::lock_guard lock(mu_);
  while (!heap_.empty() && heap_.front().deadline <= now) {
    TimerEntry* e = erase_at(0);
    e->task->ref();
    out.push_back(e->task);
    e->fired.store(true, std::memory_order_release);  // last touch of `e`
  }
  publish_earliest();
}

std::size_t TimerHeap::size() {
  std::lock_guard lock(mu_);
  return heap_.size();
}

TimerEntry* TimerHeap::erase_at(std::size_t i) {
  const std::uint32_t slot = heap_[i].slot;
  TimerEntry* gone = slots_[slot].entry;
  gone->slot = TimerEntry::kNotQueued;
  // A free slot only costs its 16 bytes: the table keeps the most entries ever queued at once.
  free_slots_.push_back(slot);
  const Node last = heap_.back();
  heap_.pop_back();
  if (i == heap_.size()) return gone;  // it was the last
  if (i > 0 && last.deadline < heap_[(i - 1) / kArity].deadline) {
    sift_up(i, last);
  } else {
    sift_down(i, last);
  }
  return gone;
}

// sift_up / sift_down: finds the place of `n` from the hole at i, moving what is in the way.
void TimerHeap::sift_up(std::size_t i, Node n) {
  while (i > 0) {
    const std::size_t parent = (i - 1) / kArity;
    if (!(n.deadline < heap_[parent].deadline)) break;
    place(i, heap_[parent]);
    i = parent;
  }
  place(i, n);
}

void TimerHeap::sift_down(std::size_t i, Node n) {
  const std::size_t size = heap_.size();
  for (;;) {
    const std::size_t first = kArity * i + 1;
    if (first >= size) break;
    std::size_t best = first;
    const std::size_t end = first + kArity < size ? first + kArity : size;
    for (std::size_t c = first + 1; c < end; ++c) {
      if (heap_[c].deadline < heap_[best].deadline) best = c;
    }
    if (!(heap_[best].deadline < n.deadline)) break;
    place(i, heap_[best]);
    i = best;
  }
  place(i, n);
}

void TimerHeap::publish_earliest() {
  const auto top = heap_.empty() ? time_point::max() : heap_.front().deadline;
  earliest_.store(top.time_since_epoch().count(), std::memory_order_release);
}

}  // namespace weft::sched
