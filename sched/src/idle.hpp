// idle.hpp: which workers are searching for work and which are asleep, so that new work wakes at
// most one sleeper and no wake-up is lost (the protocol of tokio's multi-thread scheduler).
//
// State: one atomic word, (unparked << 16) | searching, plus the list of sleeping worker indices
// under a mutex.
//
// The argument that no work is stranded while a worker sleeps:
// 1. A producer makes work visible (queue push), then calls worker_to_notify(), which issues a
//    seq_cst fence and reads the state. It wakes a sleeper when nobody is searching and someone
//    sleeps.
// 2. A worker going to sleep does transition_to_parked() (a seq_cst RMW on the state) and, if it
//    was the last searcher, re-checks every queue afterwards and notifies when it finds work.
// 3. By the seq_cst total order, either the producer's read sees the parking worker's decrement
//    (so it sees "nobody searching, someone asleep" and wakes one), or the worker's re-check comes
//    after the producer's push and sees the work. A worker that parks without having searched did
//    so because others were searching; the last of those re-checks as in 2.
// 4. A searcher that finds work and was the last searcher wakes another sleeper (the caller does
//    that on transition_from_searching() == true), so work that arrived behind it is not stranded.
// Limiting searchers to half the workers keeps thieves from hammering each other.
//
// Thread-safety: all members are safe from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <vector>

namespace weft::sched {

class Idle {
 public:
  explicit Idle(unsigned workers);

  // worker_to_notify: returns a sleeping worker to wake (now counted unparked and searching), or
  // -1 when waking one is not needed.
  int worker_to_notify();
  // transition_to_searching: false when enough workers already search.
  bool transition_to_searching() noexcept;
  // transition_from_searching: true when the caller was the last searcher.
  bool transition_from_searching() noexcept;
  // transition_to_parked: records `index` as asleep. True when it was the last searcher (the
  // caller must then re-check all queues).
  bool transition_to_parked(unsigned index, bool searching);
  // unpark_self: after waking, true when `index` was still listed asleep (it woke by itself: it is
  // now unparked, not searching); false when a notifier claimed it (it is searching).
  bool unpark_self(unsigned index);
  // sleepers: the workers asleep now (for shutdown).
  std::vector<unsigned> sleepers();

  // maybe_idle: a relaxed look at whether worker_to_notify() would wake someone now (nobody
  // searching, someone asleep); a hint that may be stale, for callers that can afford to miss one.
  bool maybe_idle() const noexcept { return should_notify(state_.load(std::memory_order_relaxed)); }
  unsigned searching() const noexcept { return state_.load(std::memory_order_relaxed) & kSearchMask; }
  unsigned unparked() const noexcept { return state_.load(std::memory_order_relaxed) >> kUnparkShift; }
  // all_asleep: every worker is asleep. seq_cst: the monitor's doze pairs it with its store of
  // monitor_dozing against a waking worker's unpark RMW and its read of that flag.
  bool all_asleep() const noexcept { return (state_.load(std::memory_order_seq_cst) >> kUnparkShift) == 0; }

 private:
  static constexpr unsigned kUnparkShift = 16;
  static constexpr std::uint32_t kSearchMask = (1u << kUnparkShift) - 1;
  bool should_notify(std::uint32_t s) const noexcept {
    return (s & kSearchMask) == 0 && (s >> kUnparkShift) < workers_;
  }

  const unsigned workers_;
  std::atomic<std::uint32_t> state_;
  std::mutex mu_;
  std::vector<unsigned> sleepers_;
};

}  // namespace weft::sched
