#include "timer_heap.hpp"

#include <weft/sched/task.hpp>

namespace weft::sched {

void TimerHeap::insert(TimerEntry* e) {
  std::lock_guard lock(mu_);
  e->heap = this;
  heap_.push_back(e);
  e->index = heap_.size() - 1;
  sift_up(e->index);
  publish_earliest();
}

bool TimerHeap::remove(TimerEntry* e) {
  std::lock_guard lock(mu_);
  if (e->index == TimerEntry::kNotQueued) return false;
  erase_at(e->index);
  publish_earliest();
  return true;
}

void TimerHeap::fire_expired(time_point now, std::vector<Task*>& out) {
  std::lock_guard lock(mu_);
  while (!heap_.empty() && heap_.front()->deadline <= now) {
    TimerEntry* e = heap_.front();
    erase_at(0);
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

void TimerHeap::erase_at(std::size_t i) {
  TimerEntry* gone = heap_[i];
  TimerEntry* last = heap_.back();
  heap_.pop_back();
  gone->index = TimerEntry::kNotQueued;
  if (gone == last) return;
  place(i, last);
  if (i > 0 && last->deadline < heap_[(i - 1) / 2]->deadline) {
    sift_up(i);
  } else {
    sift_down(i);
  }
}

void TimerHeap::sift_up(std::size_t i) {
  TimerEntry* e = heap_[i];
  while (i > 0) {
    const std::size_t parent = (i - 1) / 2;
    if (!(e->deadline < heap_[parent]->deadline)) break;
    place(i, heap_[parent]);
    i = parent;
  }
  place(i, e);
}

void TimerHeap::sift_down(std::size_t i) {
  TimerEntry* e = heap_[i];
  const std::size_t n = heap_.size();
  for (;;) {
    std::size_t child = 2 * i + 1;
    if (child >= n) break;
    if (child + 1 < n && heap_[child + 1]->deadline < heap_[child]->deadline) ++child;
    if (!(heap_[child]->deadline < e->deadline)) break;
    place(i, heap_[child]);
    i = child;
  }
  place(i, e);
}

void TimerHeap::publish_earliest() {
  const auto top = heap_.empty() ? time_point::max() : heap_.front()->deadline;
  earliest_.store(top.time_since_epoch().count(), std::memory_order_release);
}

}  // namespace weft::sched
