// weft/channels/broadcast.hpp: Broadcast<T>, every receiver sees every value:
// make_broadcast<T>(capacity) -> {BroadcastSender<T>, BroadcastReceiver<T>}.
//
// The channel keeps the last `capacity` values in a ring, each with a sequence number. A send never
// waits: it overwrites the oldest value. Each receiver has its own cursor. A receiver that fell more
// than `capacity` values behind is told so, like tokio's `RecvError::Lagged(n)`: its next recv()
// returns channel_errc::lagged, missed() says how many values it skipped, and its cursor moves to
// the oldest value still held, which the following recv() returns.
//
// Invariants: each receiver sees the values in send order, each at most once, and sees every
// value unless it is told it lagged. A receiver made by subscribe() (or by copying a receiver)
// starts at the next value to be sent (copy: at the same cursor). T must be copyable: each
// receiver gets its own copy.
//
// Closing: close(), or the last BroadcastSender going, closes it; receivers drain what they have not
// seen yet, then get errc::closed. A send after close fails with errc::closed (value handed back).
// recv() is a cancellation point (errc::cancelled) and has timed forms (std::errc::timed_out).
//
// Thread-safety: handles are copyable; all members from any fiber or thread (one lock, the
// WaitQueue's, guards the ring and the receivers' wait).
//
//   auto [tx, rx] = weft::make_broadcast<Event>(64);
//   auto rx2 = tx.subscribe();
//   tx.send(Event{...}).value();      // both rx and rx2 receive it
#pragma once

#include <weft/channels/detail/shared_state.hpp>
#include <weft/channels/send_error.hpp>
#include <weft/sched/error.hpp>
#include <weft/sync/wait_queue.hpp>

#include <atomic>
#include <cassert>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

namespace weft {

namespace detail {

template <class T>
class BroadcastState : public SharedCounts<BroadcastState<T>> {
 public:
  explicit BroadcastState(std::size_t capacity) : ring_(capacity) { assert(capacity > 0); }

  SendResult<T> send(T&& v) {
    sync::WakeList wakes;
    auto g = q_.lock();
    if (closed_) return send_failed(make_error_code(errc::closed), std::move(v));
    ring_[tail_ % ring_.size()] = std::move(v);
    ++tail_;
    q_.notify_all(g, 1, wakes);  // every waiting receiver re-checks its cursor
    return {};
  }

  void close() noexcept {
    sync::WakeList wakes;
    auto g = q_.lock();
    closed_ = true;
    q_.notify_all(g, 1, wakes);
  }

  std::uint64_t tail() noexcept {
    auto g = q_.lock();
    return tail_;
  }

  // recv: the value at `cursor` (advancing it), lagged (moving it to the oldest held), closed, or
  // a wait for the next send.
  Result<T> recv(std::uint64_t& cursor, std::uint64_t& missed, sync::Clock::time_point deadline, bool block) {
    for (;;) {
      sync::Waiter w;
      {
        auto g = q_.lock();
        const std::uint64_t oldest = tail_ > ring_.size() ? tail_ - ring_.size() : 0;
        if (cursor < oldest) {
          missed = oldest - cursor;
          cursor = oldest;
          return fail(channel_errc::lagged);
        }
        if (cursor < tail_) return T(*ring_[cursor++ % ring_.size()]);
        if (closed_) return fail(errc::closed);
        if (!block) return fail(channel_errc::empty);
        if (deadline != sync::Clock::time_point::max() && sync::Clock::now() >= deadline)
          return fail(std::errc::timed_out);
        q_.push_back(g, w);
      }
      const sync::WaitStatus st = q_.wait(w, deadline, true);
      if (st != sync::WaitStatus::notified) return fail(sync::to_result(st).error());
    }
  }

  std::size_t waiters() const noexcept { return q_.waiters(); }
  bool is_closed() noexcept {
    auto g = q_.lock();
    return closed_;
  }

 private:
  sync::WaitQueue q_;  // its lock guards everything below
  std::vector<std::optional<T>> ring_;
  std::uint64_t tail_ = 0;  // sequence number of the next value sent
  bool closed_ = false;
};

}  // namespace detail

template <class T>
class BroadcastReceiver;
template <class T>
struct Broadcast;
template <class T>
Broadcast<T> make_broadcast(std::size_t capacity);

// BroadcastSender: sends to every receiver. Copyable; the last copy going closes the channel.
template <class T>
class BroadcastSender {
 public:
  // send: stores v for every receiver, overwriting the oldest value when full; never waits.
  // errc::closed (v handed back) after close().
  SendResult<T> send(T v) const { return s_->send(std::move(v)); }
  // subscribe: a new receiver that sees the values sent from now on.
  BroadcastReceiver<T> subscribe() const { return BroadcastReceiver<T>(s_.get(), s_->tail()); }
  void close() const noexcept { s_->close(); }

 private:
  friend Broadcast<T> make_broadcast<T>(std::size_t);
  explicit BroadcastSender(detail::BroadcastState<T>* s) noexcept : s_(s) {}
  detail::SenderRef<detail::BroadcastState<T>> s_;
};

// BroadcastReceiver: one cursor into the broadcast.
template <class T>
class BroadcastReceiver {
 public:
  // recv: the next value for this receiver, waiting for one. channel_errc::lagged when values were
  // skipped (missed() says how many; the next recv() returns the oldest value still held);
  // errc::closed once closed and drained; errc::cancelled when the waiting fiber is cancelled.
  Result<T> recv() { return s_->recv(cursor_, missed_, sync::Clock::time_point::max(), true); }
  // try_recv: as recv() without waiting: channel_errc::empty when nothing new.
  Result<T> try_recv() { return s_->recv(cursor_, missed_, sync::Clock::time_point::max(), false); }
  template <class Rep, class Period>
  Result<T> recv_for(std::chrono::duration<Rep, Period> d) {
    return s_->recv(cursor_, missed_, sched::deadline_after(d), true);
  }
  template <class Clk, class Dur>
  Result<T> recv_until(const std::chrono::time_point<Clk, Dur>& deadline) {
    return s_->recv(cursor_, missed_, sync::to_steady(deadline), true);
  }
  // missed: how many values the last channel_errc::lagged skipped.
  std::uint64_t missed() const noexcept { return missed_; }
  // waiters: receivers blocked in recv now (diagnostics and tests).
  std::size_t waiters() const noexcept { return s_->waiters(); }

 private:
  friend class BroadcastSender<T>;
  friend Broadcast<T> make_broadcast<T>(std::size_t);
  using StateRef = detail::StateRef<detail::BroadcastState<T>>;
  BroadcastReceiver(detail::BroadcastState<T>* s, std::uint64_t cursor,
                    typename StateRef::Adopt adopt = StateRef::Adopt::no) noexcept
      : s_(s, adopt), cursor_(cursor) {}
  StateRef s_;
  std::uint64_t cursor_ = 0;
  std::uint64_t missed_ = 0;
};

// Broadcast: the pair make_broadcast returns.
template <class T>
struct Broadcast {
  BroadcastSender<T> sender;
  BroadcastReceiver<T> receiver;
};

// make_broadcast: a broadcast channel keeping the last `capacity` (> 0) values.
template <class T>
Broadcast<T> make_broadcast(std::size_t capacity) {
  auto* s = new detail::BroadcastState<T>(capacity);
  return Broadcast<T>{BroadcastSender<T>(s),
                      BroadcastReceiver<T>(s, 0, detail::StateRef<detail::BroadcastState<T>>::Adopt::yes)};
}

}  // namespace weft
