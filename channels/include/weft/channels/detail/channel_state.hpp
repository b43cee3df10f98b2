// weft/channels/detail/channel_state.hpp: the shared state behind Sender<T>/Receiver<T>, and the
// protocol every channel operation (plain or select branch) follows. Internal.
//
// Representation: a SlotRing of buffered values and two sync::WaitQueues, `recvq_` (receivers
// waiting for a value) and `sendq_` (senders waiting for room or, at capacity 0, for a receiver). The
// lock of `recvq_` is *the channel lock*: it guards `closed_` and every queue decision. The lock of
// `sendq_` nests inside it (taken only while the channel lock is held, except by WaitQueue::wait's
// own withdrawal of a timed-out sender, which touches nothing but sendq_).
//
// Two paths. Taking the channel lock (a Lock) also freezes the ring, so under the lock the ring holds
// still and the protocol below is the whole truth. While the ring is thawed, send and recv first try
// it lock-free (SlotRing::try_push/try_pop) and take the lock only when that fails: the ring is
// frozen, full or empty. The ring stays frozen while anyone waits or the channel is closed (only a
// plain operation that found nobody waiting, and the channel open, thaws it), so a lock-free
// operation can never pass a waiter: it fails and queues behind it under the lock. Thawing only
// after such a "quiet" operation keeps a ping-pong, where every operation meets a waiter, from
// freezing and thawing the ring on every operation.
//
// Spin before waiting. Queueing is dear on two cores: it freezes the ring under the other end's
// fast path, parks, and needs a wake-up that often ends in a steal; and the other end, meeting
// the waiter, goes through the lock until a quiet operation thaws the ring. So a blocking plain
// operation in a fiber that finds the ring full (send) or empty (recv) with nobody waiting first
// yields to the other ready fibers of its worker and retries lock-free, up to kYieldRetries times
// (yield_retry); when the ring was frozen it takes the lock once, and a quiet attempt there thaws
// the ring for the retries. It spins only while its worker has other fibers ready
// (this_fiber::peers_ready, yield_to_peers): those may be the very fibers that make room or a
// value, and an idle worker is not made to busy-poll. Queued waiters keep their priority: a retry
// stops as soon as the ring froze (someone queued) and the operation queues behind them under the
// lock. The spin is bounded, an expired deadline skips it, and the deadline is checked again under
// the lock after it.
//
// Invariants (under the channel lock, the ring frozen):
//  - recvq_ non-empty => the ring is empty: a receiver queues only when nothing is buffered, and a
//    send hands its value to the oldest waiting receiver before it would buffer it.
//  - sendq_ non-empty => the ring is full (capacity N > 0): a sender queues only when the ring is
//    full, and a recv that takes from a full ring refills it from the oldest waiting sender. At
//    capacity 0 nothing is buffered: recv takes straight from the oldest waiting sender.
//  So a value is handed directly from a sender to a parked receiver (no buffer round trip), and the
//  FIFO order of each queue gives per-sender order and fairness.
//
// A waiter (ChanWaiter) lives on the waiting stack: `data` points at the sender's value (moved out by
// the receiver under the lock) or at the receiver's empty slot (filled by the sender under the lock).
// The notifier then calls WaitQueue::notify with a grant (value delivered / closed), which is the
// WaitQueue lifetime protocol: all writes to the node precede the release of `notified`. A plain
// waiter leaves through WaitQueue::wait, so a value handed over at the moment it timed out or was
// cancelled is kept ("notified wins": nothing is lost or duplicated).
//
// Select waiters carry their SelectState: a notifier first claims the select for that branch
// (SelectState::try_claim); only on success does it deliver. A waiter whose select was already
// decided is dequeued with kGrantLost and skipped, and the notifier serves the next one. The select
// withdraws its armed waiters under the channel lock and settles them (withdraw), so after that
// nothing touches them.
//
// Thread-safety: every member may be called from any fiber or thread; `_locked` members need the
// channel lock (their Guard argument proves it).
//
//   auto* s = new weft::detail::ChannelState<int>(4);        // what make_channel does
//   s->send(1, weft::sync::Clock::time_point::max(), true);  // what Sender<int>::send does
//   weft::Result<int> v = s->recv(weft::sync::Clock::time_point::max(), true);
#pragma once

#include <weft/channels/detail/slot_ring.hpp>
#include <weft/channels/send_error.hpp>
#include <weft/sched/select_branch.hpp>
#include <weft/sched/this_fiber.hpp>
#include <weft/sync/wait_queue.hpp>

#include <atomic>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <utility>

namespace weft::detail {

// Grants a notifier hands a channel waiter.
inline constexpr std::uintptr_t kGrantValue = 1;   // the value was moved out of / into the waiter
inline constexpr std::uintptr_t kGrantClosed = 2;  // the channel closed: nothing moved
inline constexpr std::uintptr_t kGrantLost = 3;    // select waiter withdrawn: its select was decided

// ChanWaiter: a waiter of a channel queue.
struct ChanWaiter : sync::Waiter {
  void* data = nullptr;                  // sender: T* to move from; receiver: std::optional<T>* to fill
  sched::SelectState* select = nullptr;  // non-null for a select branch
  std::uint32_t index = 0;               // the branch's index in its select
  bool queued = false;                   // select waiters: still in a queue (under the channel lock)
  bool in_sendq = false;                 // select waiters: which queue
};

// Outcome of one attempt under the lock.
enum class Outcome : std::uint8_t { done, closed, not_ready };

inline constexpr std::size_t kUnbounded = std::numeric_limits<std::size_t>::max();

template <class T>
class ChannelState {
 public:
  using Clock = sync::Clock;

  // Lock: the channel lock, with the ring frozen; the proof the `_locked` members ask for.
  class [[nodiscard]] Lock {
   public:
    explicit Lock(ChannelState& s) noexcept : g_(s.recvq_) { s.buf_.freeze(); }
    Lock(const Lock&) = delete;
    Lock& operator=(const Lock&) = delete;
    // queue: the channel lock as the guard of recvq_ (and the outer lock of sendq_).
    const sync::WaitQueue::Guard& queue() const noexcept { return g_; }

   private:
    sync::WaitQueue::Guard g_;
  };

  // ChannelState: may throw std::bad_alloc (the ring's first slots).
  explicit ChannelState(std::size_t capacity) : cap_(capacity), buf_(capacity) {}
  ChannelState(const ChannelState&) = delete;
  ChannelState& operator=(const ChannelState&) = delete;

  // --- handle counts: `refs_` keeps the memory, `senders_`/`receivers_` decide closing ---
  void add_sender() noexcept {
    senders_.fetch_add(1, std::memory_order_relaxed);
    refs_.fetch_add(1, std::memory_order_relaxed);
  }
  void add_receiver() noexcept {
    receivers_.fetch_add(1, std::memory_order_relaxed);
    refs_.fetch_add(1, std::memory_order_relaxed);
  }
  // drop_sender / drop_receiver: the last of either closes the channel. acq_rel: the last one sees
  // every other handle's work (pairs with the other handles' decrements).
  void drop_sender() noexcept {
    if (senders_.fetch_sub(1, std::memory_order_acq_rel) == 1) close();
    unref();
  }
  void drop_receiver() noexcept {
    if (receivers_.fetch_sub(1, std::memory_order_acq_rel) == 1) close();
    unref();
  }

  std::size_t capacity() const noexcept { return cap_; }
  // is_closed: acquire pairs with close()'s release store.
  bool is_closed() const noexcept { return closed_flag_.load(std::memory_order_acquire); }
  // size: how many values are buffered (a snapshot; exact when nothing runs concurrently). Takes
  // the channel lock, without freezing: the ring's storage only changes under it.
  std::size_t size() noexcept {
    auto g = recvq_.lock();
    return buf_.size_hint();
  }
  // waiters: senders + receivers queued (diagnostics and tests).
  std::size_t waiters() const noexcept { return recvq_.waiters() + sendq_.waiters(); }

  // --- plain operations ---

  // send: delivers v (to a waiting receiver, else into the buffer), waiting when `block` until
  // there is room, the deadline passes or the task is cancelled. On failure v comes back.
  SendResult<T> send(T&& v, Clock::time_point deadline, bool block) {
    if (buf_.try_push(v)) return {};  // room, and nobody waits: no lock
    std::optional<ChanWaiter> w;  // only a call that waits constructs a waiter
    for (bool spin = may_spin(block, deadline);; spin = false) {  // the spin budget is spent once
      if (spin && !buf_.frozen()) {  // full, and nobody waits: room may come soon, without the lock
        if (yield_retry([&] { return buf_.try_push(v); })) return {};
        continue;
      }
      {
        sync::WakeList wakes;  // declared before the lock: woken after the lock is released
        Lock g(*this);
        const bool quiet = quiet_locked(g);
        switch (send_locked(g, v, nullptr, 0, wakes)) {
          case Outcome::done:
            if (quiet) after_quiet_locked(g);
            return {};
          case Outcome::closed:
            return send_failed(make_error_code(errc::closed), std::move(v));
          case Outcome::not_ready:
            break;
        }
        if (!block) return send_failed(make_error_code(channel_errc::full), std::move(v));
        if (deadline != Clock::time_point::max() && Clock::now() >= deadline)
          return send_failed(std::make_error_code(std::errc::timed_out), std::move(v));
        if (!spin || !quiet || !thaw_to_spin_locked(g)) {
          w.emplace();
          w->data = &v;
          auto g2 = sendq_.lock();  // the ring stays frozen: a sender waits
          sendq_.push_back(g2, *w);
          break;
        }
      }
      if (yield_retry([&] { return buf_.try_push(v); })) return {};
    }
    const sync::WaitStatus st = sendq_.wait(*w, deadline, true);
    if (st == sync::WaitStatus::notified) {
      if (w->grant == kGrantValue) return {};
      return send_failed(make_error_code(errc::closed), std::move(v));
    }
    return send_failed(st == sync::WaitStatus::timed_out ? std::make_error_code(std::errc::timed_out)
                                                        : make_error_code(errc::cancelled),
                       std::move(v));
  }

  // recv: takes the oldest value, waiting when `block`. errc::closed once closed and drained.
  Result<T> recv(Clock::time_point deadline, bool block) {
    std::optional<T> slot;
    if (buf_.try_pop(slot)) return std::move(*slot);  // a value, and nobody waits: no lock
    std::optional<ChanWaiter> w;
    for (bool spin = may_spin(block, deadline);; spin = false) {  // the spin budget is spent once
      if (spin && !buf_.frozen()) {  // empty, and nobody waits: a value may come soon, without the lock
        if (yield_retry([&] { return buf_.try_pop(slot); })) return std::move(*slot);
        continue;
      }
      {
        sync::WakeList wakes;
        Lock g(*this);
        const bool quiet = quiet_locked(g);
        switch (recv_locked(g, slot, nullptr, 0, wakes)) {
          case Outcome::done:
            if (quiet) after_quiet_locked(g);
            return std::move(*slot);
          case Outcome::closed:
            return fail(errc::closed);
          case Outcome::not_ready:
            break;
        }
        if (!block) return fail(channel_errc::empty);
        if (deadline != Clock::time_point::max() && Clock::now() >= deadline) return fail(std::errc::timed_out);
        if (!spin || !quiet || !thaw_to_spin_locked(g)) {
          w.emplace();
          w->data = &slot;
          recvq_.push_back(g.queue(), *w);  // the ring stays frozen: a receiver waits
          break;
        }
      }
      if (yield_retry([&] { return buf_.try_pop(slot); })) return std::move(*slot);
    }
    const sync::WaitStatus st = recvq_.wait(*w, deadline, true);
    if (st == sync::WaitStatus::notified) {
      if (w->grant == kGrantValue) return std::move(*slot);
      return fail(errc::closed);
    }
    return fail(st == sync::WaitStatus::timed_out ? std::make_error_code(std::errc::timed_out)
                                                  : make_error_code(errc::cancelled));
  }

  // close: marks the channel closed and wakes every waiter: receivers get errc::closed (the
  // buffer is empty when they wait), senders get their values back. Idempotent.
  // The ring stays frozen from here on: every later operation takes the lock and sees closed_.
  void close() noexcept {
    sync::WakeList wakes;
    Lock g(*this);
    if (closed_) return;
    closed_ = true;
    closed_flag_.store(true, std::memory_order_release);  // pairs with is_closed()'s acquire
    while (ChanWaiter* r = take_front(g.queue(), recvq_, wakes)) recvq_.notify(g.queue(), *r, kGrantClosed, wakes);
    auto g2 = sendq_.lock();
    while (ChanWaiter* s = take_front(g2, sendq_, wakes)) sendq_.notify(g2, *s, kGrantClosed, wakes);
  }

  // --- the steps, under the channel lock; `self` is the polling select (nullptr for plain ops) ---

  // send_locked: closed -> closed; a receiver waiting -> hand v to it; room -> buffer v; else
  // not_ready. On done v has been moved from. When `self` is set, claims it for `index` before
  // delivering (the poll phase: uncontended, so the claim succeeds).
  Outcome send_locked(const Lock& g, T& v, sched::SelectState* self, std::uint32_t index, sync::WakeList& wakes) {
    if (closed_) {
      claim_self(self, index);
      return Outcome::closed;
    }
    if (ChanWaiter* r = take_front(g.queue(), recvq_, wakes)) {
      claim_self(self, index);
      static_cast<std::optional<T>*>(r->data)->emplace(std::move(v));
      recvq_.notify(g.queue(), *r, kGrantValue, wakes);
      return Outcome::done;
    }
    if (!buf_.full_locked()) {
      claim_self(self, index);
      buf_.push_locked(std::move(v));
      return Outcome::done;
    }
    return Outcome::not_ready;
  }

  // recv_locked: a buffered value -> take it (and refill from the oldest waiting sender); capacity
  // 0 and a sender waiting -> take its value; closed -> closed; else not_ready.
  Outcome recv_locked(const Lock&, std::optional<T>& out, sched::SelectState* self, std::uint32_t index,
                      sync::WakeList& wakes) {
    if (const std::size_t held = buf_.size_locked(); held != 0) {
      claim_self(self, index);
      const bool was_full = held == cap_;
      out.emplace(buf_.pop_locked());
      // Senders queue only under the channel lock, which we hold, so the hint is exact about
      // them: a recv from a full ring with nobody waiting to refill it (a pipeline stage reading
      // the batch its upstream left) skips the second lock.
      if (was_full && !sendq_.empty_hint()) {
        auto g2 = sendq_.lock();
        if (ChanWaiter* s = take_front(g2, sendq_, wakes)) {
          buf_.push_locked(std::move(*static_cast<T*>(s->data)));
          sendq_.notify(g2, *s, kGrantValue, wakes);
        }
      }
      return Outcome::done;
    }
    if (cap_ == 0 && !sendq_.empty_hint()) {
      auto g2 = sendq_.lock();
      if (ChanWaiter* s = take_front(g2, sendq_, wakes)) {
        claim_self(self, index);
        out.emplace(std::move(*static_cast<T*>(s->data)));
        sendq_.notify(g2, *s, kGrantValue, wakes);
        return Outcome::done;
      }
    }
    if (closed_) {
      claim_self(self, index);
      return Outcome::closed;
    }
    return Outcome::not_ready;
  }

  // enqueue_receiver_locked / enqueue_sender_locked: queue a select waiter (after a not_ready poll
  // under the same lock hold).
  void enqueue_receiver_locked(const Lock& g, ChanWaiter& w) {
    w.queued = true;
    w.in_sendq = false;
    recvq_.push_back(g.queue(), w);
  }
  void enqueue_sender_locked(const Lock&, ChanWaiter& w) {
    w.queued = true;
    w.in_sendq = true;
    auto g2 = sendq_.lock();
    sendq_.push_back(g2, w);
  }

  // note_select_locked: a select polls this channel under its lock (which froze the ring). Selects
  // always take the lock, so thawing for the plain operations in between would only make the next
  // poll freeze again: the ring stays frozen until kSelectQuiet quiet plain operations in a row.
  void note_select_locked(const Lock&) noexcept { select_hold_ = kSelectQuiet; }

  // withdraw: removes a select waiter if it is still queued, and returns once nobody touches `w`
  // any more: a notifier that dequeued it did so under the channel lock, which this call takes,
  // and may still be waking it after that lock was released (WaitQueue::settle waits that out).
  void withdraw(ChanWaiter& w) noexcept {
    {
      sync::WakeList wakes;  // wakes the select itself: a spurious permit, which park allows
      auto g = recvq_.lock();  // the queues only: the ring need not hold still
      if (w.queued) {
        w.queued = false;
        if (w.in_sendq) {
          auto g2 = sendq_.lock();
          sendq_.notify(g2, w, kGrantLost, wakes);
        } else {
          recvq_.notify(g, w, kGrantLost, wakes);
        }
      }
    }
    sync::WaitQueue::settle(w);
  }

 private:
  static void claim_self(sched::SelectState* self, std::uint32_t index) noexcept {
    if (!self) return;
    [[maybe_unused]] const bool ok = self->try_claim(index);
    assert(ok && "weft::select: the poll phase claims an uncontended select");
  }

  // quiet_locked: nobody waits and the channel is open: an operation that completes now goes through
  // the ring alone. sendq_'s hint is exact here: senders queue only under our lock.
  bool quiet_locked(const Lock& g) const noexcept { return !closed_ && recvq_.empty(g.queue()) && sendq_.empty_hint(); }
  // after_quiet_locked: a plain operation that was quiet from its start completed: thaw the ring,
  // unless a select used the channel lately (note_select_locked). Thawing only after quiet
  // operations keeps a ping-pong, where every operation meets a waiter, from freezing and thawing
  // on every step.
  void after_quiet_locked(const Lock&) noexcept {
    if (select_hold_ != 0) {
      --select_hold_;
      return;
    }
    buf_.thaw();
  }

  // may_spin: whether a plain operation may spend the spin budget: it blocks, its deadline has not
  // passed (an expired one tries once and returns, without yielding), and another fiber is ready
  // on this worker to yield to.
  static bool may_spin(bool block, Clock::time_point deadline) noexcept {
    if (!block || !this_fiber::peers_ready()) return false;
    return deadline == Clock::time_point::max() || Clock::now() < deadline;
  }

  // thaw_to_spin_locked: a blocking plain operation found the ring not ready and nobody waiting;
  // thaws the ring so it can retry lock-free (yield_retry) instead of queueing now. False when the
  // ring cannot thaw: a select holds it frozen, or its storage is not final (unbounded, capacity 0).
  bool thaw_to_spin_locked(const Lock&) noexcept { return select_hold_ == 0 && buf_.thaw(); }

  // yield_retry: lets the other fibers ready on this worker run (none ready: gives up), then
  // retries `attempt` (a lock-free ring operation), up to kYieldRetries times. Gives up early once
  // the ring froze: someone queued, and our turn is behind them, under the lock.
  template <class Attempt>
  bool yield_retry(Attempt&& attempt) {
    for (int i = 0; i < kYieldRetries; ++i) {
      if (!this_fiber::yield_to_peers()) return false;
      if (attempt()) return true;
      if (buf_.frozen()) return false;
    }
    return false;
  }

  // take_front: the oldest waiter of q that may be served, or nullptr. A select waiter is claimed
  // for its branch first; one whose select was decided by another branch is dequeued (kGrantLost)
  // and skipped. The caller must notify the returned waiter before it releases the lock.
  static ChanWaiter* take_front(const sync::WaitQueue::Guard& gq, sync::WaitQueue& q, sync::WakeList& wakes) noexcept {
    while (sync::Waiter* f = q.front(gq)) {
      auto* w = static_cast<ChanWaiter*>(f);
      if (!w->select) return w;
      w->queued = false;
      if (w->select->try_claim(w->index)) return w;
      q.notify(gq, *w, kGrantLost, wakes);
    }
    return nullptr;
  }

  void unref() noexcept {
    // acq_rel: the last reference sees every write of the others before it deletes.
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  // Layout: the two queues (the channel lock among them) fill the first line and the locked path's
  // other fields follow; the ring keeps its producers' and consumers' words on lines of their own;
  // the handle counts, written when handles are copied or dropped, sit on a line of their own.
  alignas(64) sync::WaitQueue recvq_;  // its lock is the channel lock
  sync::WaitQueue sendq_;              // nests inside the channel lock
  const std::size_t cap_;
  bool closed_ = false;  // under the channel lock
  std::uint8_t select_hold_ = 0;  // under the channel lock; see note_select_locked
  static constexpr std::uint8_t kSelectQuiet = 64;
  static constexpr int kYieldRetries = 4;
  std::atomic<bool> closed_flag_{false};

 public:
  // held: the Lock of a select that holds the channel lock now (see SelectBranch::lock); the
  // branches of that select on this channel use it as their proof. Written and read under the lock.
  const Lock* held = nullptr;

 private:
  SlotRing<T> buf_;

  alignas(64) std::atomic<std::size_t> refs_{2};  // one Sender and one Receiver at creation
  std::atomic<std::size_t> senders_{1};
  std::atomic<std::size_t> receivers_{1};
};

}  // namespace weft::detail
