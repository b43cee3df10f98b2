// weft/sched/select_branch.hpp: the one interface a waitable branch of `select` implements, the
// shared first-wins claim word, and the wait that drives them (select_wait).
//
// `select` knows none of the things it waits on. A channel operation, a timer and an IO operation
// each implement SelectBranch; select_wait() arms them for the calling fiber (or plain thread),
// parks until one claims the select, cancels the others and waits until every armed branch has
// settled, then reports which one won. The typed front end (`weft::select` in
// <weft/channels/select.hpp>) turns that index into a call of the winner's handler.
//
// Two kinds of branch:
//  - locked branches (lock_key() != nullptr: channel operations) guard their readiness with a lock.
//    select_wait takes every distinct such lock (in address order, so two selects cannot deadlock),
//    polls the branches (try_complete) in a random rotation, and, when none is ready, arms them all
//    (arm) before it releases any lock. So readiness cannot appear between the poll and the arm:
//    arming a locked branch never completes it, and the poll phase runs while nothing is armed.
//  - unlocked branches (IO operations, timers) are armed after the locks are released. arm() may
//    complete the branch at once or at any later moment on any thread (an IO completion on another
//    worker's ring): completion is claim-then-publish, below.
//
// The claim. SelectState::state_ starts at kPending; whoever completes a branch first does one CAS
// kPending -> index (try_claim). Exactly one CAS succeeds, so exactly one branch is taken. A branch
// whose claim fails must not deliver anything (a losing send keeps its value; a losing recv takes
// none). Claims by two parties (a select's poll meeting another select queued in a channel) are
// safe because the poll phase happens before any of this select's branches is armed: nothing but
// the polling fiber can touch its own state then, so it claims the counterpart first (which may
// fail: the counterpart is skipped) and then itself (which cannot fail).
//
// Protocol for a branch, in the order select_wait calls it:
//   try_complete(sel, i)  (locked branches, under their lock, poll phase) ready now? then
//                         claim sel for i (and the counterpart, if any), complete, return true.
//   arm(sel, i)           register for completion. Locked branches: under their lock, nothing is
//                         ready. Unlocked: e.g. submit the IO op. A completion, on any thread, calls
//                         sel.try_claim(i); on success it stores its result in the branch.
//   disarm(sel)           called once for every armed branch (the winner too) after the select is
//                         decided, without locks held. Withdraws the registration, or *requests*
//                         cancellation (an IO op in flight). Never blocks.
//   settled()             true once the branch will never again touch `sel` or its own buffers, and
//                         its result (if it won) is visible to the caller (acquire). select_wait parks
//                         until every armed branch is settled; a branch that settles asynchronously
//                         must wake the select's fiber *after* its last access to `sel` and its
//                         settled store (release), through a Waker it cloned at arm time
//                         (SelectState::waker().clone()): the select's frame may be gone the moment
//                         settled() is seen, the cloned Waker keeps the fiber alive. This is the
//                         WaitQueue lifetime argument (notifier writes, then release, then wake).
//   deadline()            time-based branches (timers) return their deadline: select_wait parks no
//                         longer than the earliest one and, once it passed, calls try_complete on it.
//
// Why it is correct:
//  - exactly one winner: only a successful CAS on state_ may deliver, and state_ leaves kPending once.
//  - no lost wake-up: a completion claims (acq_rel) and then wakes the select's Waker; the select
//    re-reads state_ (acquire) after every park, and a wake before the park is a permit.
//  - losers are cancelled and their buffers safe: select_wait does not return before every armed
//    branch reports settled() (IO: the op's final completion arrived), so the caller may reuse or
//    free what the branches point at.
//  - no deadlock: the locks of locked branches are taken in address order and released before
//    parking; disarm never blocks.
//
// Thread-safety: a SelectState belongs to one select_wait call; try_claim()/winner()/waker() may be
// called from any thread while that call runs. Branches are used by one select at a time.
//
//   weft::sched::SelectBranch* branches[] = {&recv_branch, &timer_branch};
//   weft::Result<std::uint32_t> won = weft::sched::select_wait(branches, /*has_default=*/false);
//   if (won && *won == 0) use(recv_branch.value());
#pragma once

#include <weft/sched/error.hpp>
#include <weft/sched/waker.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <limits>
#include <span>

namespace weft::sched {

// SelectState: the claim word and the Waker of the fiber or thread that runs select_wait.
class SelectState {
 public:
  // kPending: nobody claimed yet. kDefault / kCancelled: the select took its default branch / was
  // cancelled. Any other value is the index of the winning branch.
  static constexpr std::uint32_t kPending = std::numeric_limits<std::uint32_t>::max();
  static constexpr std::uint32_t kDefault = kPending - 1;
  static constexpr std::uint32_t kCancelled = kPending - 2;

  SelectState() : waker_(Waker::current()) {}
  SelectState(const SelectState&) = delete;
  SelectState& operator=(const SelectState&) = delete;

  // try_claim: kPending -> index; true for the one caller that wins. acq_rel: the release half
  // publishes what the claimer did before (nothing, usually: results are published by the lock or
  // the settled store); the acquire half pairs with an earlier claim attempt's release so a loser
  // sees the winner's index.
  bool try_claim(std::uint32_t index) noexcept {
    std::uint32_t expected = kPending;
    return state_.compare_exchange_strong(expected, index, std::memory_order_acq_rel, std::memory_order_acquire);
  }
  // winner: kPending, or who claimed. Acquire: pairs with try_claim's release.
  std::uint32_t winner() const noexcept { return state_.load(std::memory_order_acquire); }
  bool decided() const noexcept { return winner() != kPending; }
  // waker: the select's fiber or thread. Clone it to wake the select after touching `this`.
  const Waker& waker() const noexcept { return waker_; }

 private:
  std::atomic<std::uint32_t> state_{kPending};
  Waker waker_;
};

// SelectBranch: one waitable branch; see the file comment for the protocol.
class SelectBranch {
 public:
  using Clock = std::chrono::steady_clock;

  // lock_key: identity of the lock that guards this branch's readiness (nullptr: unlocked branch).
  // Branches with the same key share one lock: select_wait locks it once, through the first of them.
  virtual const void* lock_key() const noexcept { return nullptr; }
  // lock / unlock: take and release that lock (locked branches only).
  virtual void lock() noexcept {}
  virtual void unlock() noexcept {}
  // try_complete: under the lock (poll phase, nothing armed): if ready, claim `sel` for `index`
  // (and any counterpart), complete and return true; otherwise change nothing and return false.
  // Unlocked branches return false unless they can tell without side effects (a timer).
  virtual bool try_complete(SelectState& sel, std::uint32_t index) = 0;
  // arm: register to complete later by claiming `sel` for `index`. Never blocks.
  virtual void arm(SelectState& sel, std::uint32_t index) = 0;
  // disarm: withdraw, or request cancellation of, an armed branch (also called on the winner).
  // Never blocks; may take the branch's own lock.
  virtual void disarm(SelectState& sel) noexcept = 0;
  // settled: true once nothing will touch `sel` or the branch's buffers again (acquire).
  virtual bool settled() const noexcept { return true; }
  // deadline: when the branch becomes ready by time alone; time_point::max() for all others.
  virtual Clock::time_point deadline() const noexcept { return Clock::time_point::max(); }

 protected:
  ~SelectBranch() = default;
};

// select_wait: runs the protocol above over `branches` (at most kMaxBranches). Returns the index
// of the winning branch, SelectState::kDefault when `has_default` and no branch was ready at the
// poll, or errc::cancelled when the calling fiber was cancelled while it waited (when
// `cancellable`; a branch that won the race with the cancellation still wins). Picks uniformly at
// random among branches ready together at the poll. Blocks (suspends the fiber, or blocks the
// thread) until a branch wins, then until every armed branch has settled.
inline constexpr std::size_t kMaxSelectBranches = 64;
Result<std::uint32_t> select_wait(std::span<SelectBranch* const> branches, bool has_default, bool cancellable = true);

}  // namespace weft::sched
