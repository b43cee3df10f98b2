// select_branch.cpp: select_wait, the driver of the select protocol. The argument for why the
// protocol is correct is in weft/sched/select_branch.hpp; this file follows it step by step:
// lock (address order) -> poll (random rotation) -> [default] -> arm locked -> unlock -> arm
// unlocked -> park until claimed / deadline / cancelled -> disarm every armed branch -> park until
// every armed branch settled.
#include <weft/sched/select_branch.hpp>

#include <weft/sched/this_fiber.hpp>

#include "random.hpp"
#include "worker.hpp"

#include <algorithm>
#include <array>
#include <cassert>
#include <cstdint>

namespace weft::sched {
namespace {

using Clock = std::chrono::steady_clock;

// random_below: where polling starts. On a worker its generator, so that in the shuffle mode the
// seed decides this too (worker.hpp); on a plain thread the thread's. Drawn before any suspension,
// so the worker is still the one the fiber runs on.
std::uint32_t random_below(std::uint32_t n) {
  Worker* w = current_worker();
  return (w && w->current() ? w->random() : thread_random()).below(n);
}

}  // namespace

Result<std::uint32_t> select_wait(std::span<SelectBranch* const> branches, bool has_default, bool cancellable) {
  const std::size_t n = branches.size();
  assert(n <= kMaxSelectBranches && "weft::select: too many branches");
  if (n == 0) {
    if (has_default) return SelectState::kDefault;
    // A select over nothing waits forever (as in Go); here: until cancelled.
  }
  SelectState sel;

  // Locked branches, in lock address order; the first of each key takes the lock.
  std::array<std::uint32_t, kMaxSelectBranches> by_lock{};
  std::size_t locked = 0;
  for (std::uint32_t i = 0; i < n; ++i) {
    if (branches[i]->lock_key()) by_lock[locked++] = i;
  }
  std::sort(by_lock.begin(), by_lock.begin() + static_cast<std::ptrdiff_t>(locked), [&](std::uint32_t a, std::uint32_t b) {
    const void* ka = branches[a]->lock_key();
    const void* kb = branches[b]->lock_key();
    return ka != kb ? std::less<const void*>{}(ka, kb) : a < b;
  });
  auto lock_all = [&] {
    for (std::size_t k = 0; k < locked; ++k) {
      if (k == 0 || branches[by_lock[k]]->lock_key() != branches[by_lock[k - 1]]->lock_key()) branches[by_lock[k]]->lock();
    }
  };
  auto unlock_all = [&] {
    for (std::size_t k = locked; k-- > 0;) {
      if (k == 0 || branches[by_lock[k]]->lock_key() != branches[by_lock[k - 1]]->lock_key()) branches[by_lock[k]]->unlock();
    }
  };

  const std::uint32_t start = n ? random_below(static_cast<std::uint32_t>(n)) : 0;
  auto at = [&](std::size_t k) { return static_cast<std::uint32_t>((start + k) % n); };

  // Poll: nothing is armed, so only this fiber touches `sel` (two-party claims are safe).
  lock_all();
  for (std::size_t k = 0; k < n; ++k) {
    const std::uint32_t i = at(k);
    if (branches[i]->try_complete(sel, i)) {
      unlock_all();
      return i;
    }
  }
  if (has_default) {
    unlock_all();
    return SelectState::kDefault;
  }
  // Arm the locked branches before any lock is released: nothing can become ready in between.
  // Every one of them is recorded as armed here, so each is disarmed below whatever happens next
  // (a claim arriving the moment the locks go must not leave a waiter queued in a channel).
  std::array<bool, kMaxSelectBranches> armed{};
  for (std::size_t k = 0; k < n; ++k) {
    const std::uint32_t i = at(k);
    if (branches[i]->lock_key()) {
      branches[i]->arm(sel, i);
      armed[i] = true;
    }
  }
  unlock_all();
  // Unlocked branches (IO, timers) may complete at once, on any thread, by claiming `sel`; once it
  // is decided the rest need not be started.
  for (std::size_t k = 0; k < n && !sel.decided(); ++k) {
    const std::uint32_t i = at(k);
    if (branches[i]->lock_key()) continue;
    branches[i]->arm(sel, i);
    armed[i] = true;
  }

  Clock::time_point deadline = Clock::time_point::max();
  for (std::size_t i = 0; i < n; ++i) deadline = std::min(deadline, branches[i]->deadline());

  // Wait until some branch (or the cancellation, or a deadline) claims the select.
  while (!sel.decided()) {
    if (cancellable && this_fiber::cancellation_requested()) {
      sel.try_claim(SelectState::kCancelled);  // loses to a branch that already won: that one stays
      break;
    }
    if (deadline != Clock::time_point::max()) {
      if (Clock::now() >= deadline) {
        for (std::uint32_t i = 0; i < n && !sel.decided(); ++i) {
          if (branches[i]->deadline() <= Clock::now()) branches[i]->try_complete(sel, i);
        }
        continue;
      }
      (void)park_until(deadline);
    } else {
      park();
    }
  }

  // Cancel the losers (and settle the winner), then wait until nothing touches them any more.
  for (std::size_t i = 0; i < n; ++i) {
    if (armed[i]) branches[i]->disarm(sel);
  }
  for (;;) {
    bool all = true;
    for (std::size_t i = 0; i < n; ++i) {
      if (armed[i] && !branches[i]->settled()) {
        all = false;
        break;
      }
    }
    if (all) break;
    park();  // a settling branch wakes us after its settled store
  }
  const std::uint32_t w = sel.winner();
  if (w == SelectState::kCancelled) return fail(errc::cancelled);
  return w;
}

}  // namespace weft::sched
