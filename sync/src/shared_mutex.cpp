// shared_mutex.cpp: SharedMutex's slow paths.
//
// Why no wake-up is lost: HAS_WAITERS (kWaiters) is set with an RMW, under the queue lock, by every
// waiter before it re-checks the word and queues; it is cleared only under the queue lock when the
// queue is empty. The unlock fast CASes only succeed from a word without the bit, so once it is set
// every release takes the queue lock, subtracts its hold and runs serve(), which sees every queued
// waiter. A would-be waiter that finds the queue empty and the lock compatible takes it itself.
//
// Why writers are preferred and nobody starves: the queue is strict FIFO, every grant is a hand-off
// (the grantee is counted in the word before it wakes, so nobody can barge), and try_lock_shared()
// fails while anyone waits. A writer that queues is therefore admitted as soon as the holders ahead
// of it leave; the readers that arrive after it queue behind it and are admitted as one run when it
// unlocks (serve() admits every reader at the head up to the next writer).
//
// Leaving early: wait()'s on_removed re-runs serve() under the queue lock, so the waiters behind a
// departing head (e.g. readers behind a writer that timed out while readers held the lock) are
// admitted at once, and HAS_WAITERS is cleared if the queue emptied.
//
// Memory order: a releaser's critical section happens before a grantee's through the queue lock and
// the release store of `notified` (acquire load in wait()); fast-path releases (release CAS) happen
// before the acquire RMW that sets HAS_WAITERS, or the acquire CAS of a fast-path locker.
#include <weft/sync/shared_mutex.hpp>

#include <cassert>

namespace weft {

Result<void> SharedMutex::lock_slow(std::uintptr_t kind, sync::Clock::time_point deadline) {
  sync::Waiter w;
  w.request = kind;
  {
    auto g = queue_.lock();
    // After this RMW no fast CAS succeeds: the word is ours to read and change under the lock.
    // Acquire: pairs with fast-path releases that preceded it.
    const std::uint64_t s = state_.fetch_or(kWaiters, std::memory_order_acquire);
    if (queue_.empty(g)) {
      const bool fits = kind == kWrite ? (s & ~kWaiters) == 0 : !(s & kWriter);
      if (fits) {
        const std::uint64_t hold = kind == kWrite ? kWriter : kReader;
        // Clears the bit we set (the queue is empty) and takes the hold in one RMW.
        state_.fetch_add(hold - kWaiters, std::memory_order_relaxed);
        return {};
      }
    }
    queue_.push_back(g, w);
  }
  sync::WakeList wakes;  // wakes whoever a departing waiter unblocks, after the queue lock is released
  // On success serve() counted us in the word. The acquire load of `notified` in wait() pairs with
  // the release store in notify(): the previous holders' critical sections happen before.
  return sync::to_result(queue_.wait(w, deadline, true, [&](const sync::WaitQueue::Guard& g) { serve(g, wakes); }));
}

void SharedMutex::release_slow(std::uint64_t hold) noexcept {
  sync::WakeList wakes;
  auto g = queue_.lock();
  assert(hold == kWriter ? (state_.load(std::memory_order_relaxed) & kWriter) != 0
                         : state_.load(std::memory_order_relaxed) >= kReader);
  // Release: for a later fast-path locker once the queue drains (grantees synchronise via notify).
  state_.fetch_sub(hold, std::memory_order_release);
  serve(g, wakes);
}

void SharedMutex::serve(const sync::WaitQueue::Guard& g, sync::WakeList& wakes) noexcept {
  while (sync::Waiter* w = queue_.front(g)) {
    const std::uint64_t s = state_.load(std::memory_order_relaxed);
    if (s & kWriter) return;  // nobody fits while a writer holds
    if (w->request == kWrite) {
      if (s >= kReader) return;  // readers still hold: the writer (and everyone behind) waits
      state_.fetch_add(kWriter, std::memory_order_relaxed);
      queue_.notify(g, *w, 1, wakes);
      break;  // the writer is alone: nobody behind it fits
    }
    state_.fetch_add(kReader, std::memory_order_relaxed);
    queue_.notify(g, *w, 1, wakes);
  }
  if (queue_.empty(g)) state_.fetch_and(~kWaiters, std::memory_order_relaxed);
}

}  // namespace weft
