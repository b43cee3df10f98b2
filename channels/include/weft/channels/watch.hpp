// weft/channels/watch.hpp: Watch<T>, the latest value plus change notification:
// make_watch<T>(initial) -> {WatchSender<T>, WatchReceiver<T>}.
//
// The sender replaces the value (send); receivers read the current value (borrow, a copy) and
// wait until it changes (changed). Intermediate values may be skipped: a receiver sees the latest,
// not every one (use Broadcast for every one). Each receiver remembers the version it has seen;
// changed() returns at once when a newer one exists, and marks it seen.
//
// Closing: the last WatchSender going (or close()) closes it; changed() then returns errc::closed
// once the receiver has seen the final version; borrow() still returns the last value. changed()
// is a cancellation point (errc::cancelled) and has timed forms (std::errc::timed_out).
//
// Thread-safety: handles are copyable; all members from any fiber or thread. The value is copied
// under the WaitQueue lock, so keep T cheap to copy (or a shared_ptr<const U>).
//
//   auto [cfg_tx, cfg_rx] = weft::make_watch<Config>(load());
//   weft::spawn([rx = cfg_rx]() mutable { while (rx.changed()) apply(rx.borrow()); });
//   cfg_tx.send(reload());
#pragma once

#include <weft/channels/detail/shared_state.hpp>
#include <weft/channels/send_error.hpp>
#include <weft/sched/error.hpp>
#include <weft/sync/wait_queue.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <utility>

namespace weft {

namespace detail {

template <class T>
class WatchState : public SharedCounts<WatchState<T>> {
 public:
  explicit WatchState(T v) : value_(std::move(v)) {}

  SendResult<T> send(T&& v) {
    sync::WakeList wakes;
    auto g = q_.lock();
    if (closed_) return send_failed(make_error_code(errc::closed), std::move(v));
    value_ = std::move(v);
    ++version_;
    q_.notify_all(g, 1, wakes);
    return {};
  }
  void close() noexcept {
    sync::WakeList wakes;
    auto g = q_.lock();
    closed_ = true;
    q_.notify_all(g, 1, wakes);
  }
  T borrow(std::uint64_t* seen) {
    auto g = q_.lock();
    if (seen) *seen = version_;
    return value_;
  }
  std::uint64_t version() noexcept {
    auto g = q_.lock();
    return version_;
  }
  Result<void> changed(std::uint64_t& seen, sync::Clock::time_point deadline) {
    for (;;) {
      sync::Waiter w;
      {
        auto g = q_.lock();
        if (version_ != seen) {
          seen = version_;
          return {};
        }
        if (closed_) return fail(errc::closed);
        if (deadline != sync::Clock::time_point::max() && sync::Clock::now() >= deadline)
          return fail(std::errc::timed_out);
        q_.push_back(g, w);
      }
      const sync::WaitStatus st = q_.wait(w, deadline, true);
      if (st != sync::WaitStatus::notified) return sync::to_result(st);
    }
  }
  std::size_t waiters() const noexcept { return q_.waiters(); }

 private:
  sync::WaitQueue q_;  // its lock guards everything below
  T value_;
  std::uint64_t version_ = 0;
  bool closed_ = false;
};

}  // namespace detail

template <class T>
struct Watch;
template <class T>
Watch<T> make_watch(T initial);

// WatchSender: replaces the value. Copyable; the last copy going closes the watch.
template <class T>
class WatchSender {
 public:
  // send: replaces the value and wakes every receiver waiting in changed(); never waits.
  // errc::closed (v handed back) after close().
  SendResult<T> send(T v) const { return s_->send(std::move(v)); }
  // borrow: a copy of the current value.
  T borrow() const { return s_->borrow(nullptr); }
  void close() const noexcept { s_->close(); }

 private:
  friend Watch<T> make_watch<T>(T);
  explicit WatchSender(detail::WatchState<T>* s) noexcept : s_(s) {}
  detail::SenderRef<detail::WatchState<T>> s_;
};

// WatchReceiver: reads the value and waits for changes. A copy keeps the seen version.
template <class T>
class WatchReceiver {
 public:
  // borrow: a copy of the current value (does not mark it seen).
  T borrow() const { return s_->borrow(nullptr); }
  // borrow_and_mark: a copy of the current value, marked seen.
  T borrow_and_mark() { return s_->borrow(&seen_); }
  // changed: waits until a version newer than the last seen exists, then marks it seen.
  // errc::closed when closed with nothing new; errc::cancelled when the fiber is cancelled.
  Result<void> changed() { return s_->changed(seen_, sync::Clock::time_point::max()); }
  template <class Rep, class Period>
  Result<void> changed_for(std::chrono::duration<Rep, Period> d) {
    return s_->changed(seen_, sched::deadline_after(d));
  }
  template <class Clk, class Dur>
  Result<void> changed_until(const std::chrono::time_point<Clk, Dur>& deadline) {
    return s_->changed(seen_, sync::to_steady(deadline));
  }
  // has_changed: whether a version newer than the last seen exists (a snapshot).
  bool has_changed() const { return s_->version() != seen_; }
  std::size_t waiters() const noexcept { return s_->waiters(); }

 private:
  friend Watch<T> make_watch<T>(T);
  explicit WatchReceiver(detail::WatchState<T>* s) noexcept
      : s_(s, detail::StateRef<detail::WatchState<T>>::Adopt::yes) {}
  detail::StateRef<detail::WatchState<T>> s_;
  std::uint64_t seen_ = 0;
};

// Watch: the pair make_watch returns.
template <class T>
struct Watch {
  WatchSender<T> sender;
  WatchReceiver<T> receiver;
};

// make_watch: a watch holding `initial` (version 0, seen by the first receiver).
template <class T>
Watch<T> make_watch(T initial) {
  auto* s = new detail::WatchState<T>(std::move(initial));
  return Watch<T>{WatchSender<T>(s), WatchReceiver<T>(s)};
}

}  // namespace weft
