// weft/channels/select.hpp: weft::select, wait for the first of several channel operations and
// timers, with an optional default, and run exactly that branch's handler.
//
//   on_recv(rx, f)      ready when a value can be received (f(T) or f(Result<T>), see below)
//   on_send(tx, v, f)   ready when v can be sent; f() runs after it was delivered
//   after(d, f)         ready once d has passed (since the on_... call); until(deadline, f)
//   otherwise(f)        the default: taken when no other branch is ready at the moment of the call
//
// select(...) returns the position of the branch it took (0-based, in argument order), after that
// branch's handler ran. Among branches ready together it picks uniformly at random (Go's rule),
// so no branch starves. The others are cancelled: a losing on_send did not deliver its value
// (it stays in the branch object: keep the branch in a variable and read value() to get it back),
// a losing on_recv took nothing. select is built on sched::select_wait (the protocol and why it is
// correct: <weft/sched/select_branch.hpp>); the channel side is in detail/channel_state.hpp.
//
// Closed channels are ready, as in Go: on_recv on a closed, drained channel and on_send on a closed
// channel win like any ready branch. A handler that accepts Result<T> (on_recv) or Result<void>
// (on_send) is called with errc::closed; otherwise the handler is not called and select returns
// errc::closed (the branch's position is then unknown to the caller: use the Result forms to tell).
//
// Errors: errc::cancelled when the calling fiber is cancelled while select waits (a branch that won
// the race with the cancellation is taken instead). Plain threads may call select too.
// Limitation: a select with both on_send and on_recv on one rendezvous channel never pairs with
// itself (as in Go), and handler results are discarded.
//
// Thread-safety: branch objects are used by one select at a time; the channels as usual.
//
//   auto taken = weft::select(weft::on_recv(jobs, [&](Job j) { run(j); }),
//                             weft::after(100ms, [&] { idle(); }));
//   if (!taken) return taken.error();  // cancelled
#pragma once

#include <weft/channels/channel.hpp>
#include <weft/channels/detail/channel_state.hpp>
#include <weft/sched/error.hpp>
#include <weft/sched/select_branch.hpp>
#include <weft/sync/wait_queue.hpp>

#include <array>
#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>

namespace weft {
namespace detail {

// ChannelBranch: what on_recv/on_send share: the channel lock for the select's poll and arm, one
// waiter, and withdrawal on disarm.
template <class T>
class ChannelBranch : public sched::SelectBranch {
 public:
  explicit ChannelBranch(ChannelState<T>* s) noexcept : st_(s) {}
  ChannelBranch(const ChannelBranch&) = delete;
  ChannelBranch& operator=(const ChannelBranch&) = delete;

  const void* lock_key() const noexcept override { return st_; }
  void lock() noexcept override {
    guard_.emplace(*st_);
    st_->held = &*guard_;  // under the lock just taken
    st_->note_select_locked(*guard_);
  }
  void unlock() noexcept override {
    st_->held = nullptr;
    guard_.reset();
  }
  void disarm(sched::SelectState&) noexcept override { st_->withdraw(w_); }

 protected:
  // begin: the poll starts a fresh round (a branch object may serve several selects).
  void begin() noexcept {
    w_.grant = 0;
    w_.queued = false;
  }
  void note(Outcome o) noexcept {
    if (o == Outcome::done) w_.grant = kGrantValue;
    if (o == Outcome::closed) w_.grant = kGrantClosed;
  }

  ChannelState<T>* st_;
  std::optional<typename ChannelState<T>::Lock> guard_;
  ChanWaiter w_;
};

}  // namespace detail

// RecvBranch: made by on_recv.
template <class T, class F>
class RecvBranch final : public detail::ChannelBranch<T> {
  using Base = detail::ChannelBranch<T>;

 public:
  RecvBranch(detail::ChannelState<T>* s, F f) : Base(s), f_(std::move(f)) {}

  bool try_complete(sched::SelectState& sel, std::uint32_t index) override {
    this->begin();
    slot_.reset();
    sync::WakeList wakes;  // woken under the select's locks: correct (wake never blocks), rare
    const detail::Outcome o = this->st_->recv_locked(*this->st_->held, slot_, &sel, index, wakes);
    this->note(o);
    return o != detail::Outcome::not_ready;
  }
  void arm(sched::SelectState& sel, std::uint32_t index) override {
    this->w_.select = &sel;
    this->w_.index = index;
    this->w_.data = &slot_;
    this->st_->enqueue_receiver_locked(*this->st_->held, this->w_);
  }
  // fire: runs the handler with the received value (or errc::closed, see the file comment).
  Result<void> fire() {
    if (this->w_.grant == detail::kGrantValue) {
      if constexpr (std::is_invocable_v<F&, Result<T>>) {
        f_(Result<T>(std::move(*slot_)));
      } else {
        f_(std::move(*slot_));
      }
      return {};
    }
    if constexpr (std::is_invocable_v<F&, Result<T>>) {
      f_(Result<T>(fail(errc::closed)));
      return {};
    } else {
      return fail(errc::closed);
    }
  }

 private:
  F f_;
  std::optional<T> slot_;
};

// SendBranch: made by on_send; holds the value until it is delivered.
template <class T, class F>
class SendBranch final : public detail::ChannelBranch<T> {
  using Base = detail::ChannelBranch<T>;

 public:
  SendBranch(detail::ChannelState<T>* s, T v, F f) : Base(s), value_(std::move(v)), f_(std::move(f)) {}

  bool try_complete(sched::SelectState& sel, std::uint32_t index) override {
    this->begin();
    sync::WakeList wakes;
    const detail::Outcome o = this->st_->send_locked(*this->st_->held, value_, &sel, index, wakes);
    this->note(o);
    return o != detail::Outcome::not_ready;
  }
  void arm(sched::SelectState& sel, std::uint32_t index) override {
    this->w_.select = &sel;
    this->w_.index = index;
    this->w_.data = &value_;
    this->st_->enqueue_sender_locked(*this->st_->held, this->w_);
  }
  Result<void> fire() {
    if (this->w_.grant == detail::kGrantValue) {
      if constexpr (std::is_invocable_v<F&, Result<void>>) {
        f_(Result<void>());
      } else {
        f_();
      }
      return {};
    }
    if constexpr (std::is_invocable_v<F&, Result<void>>) {
      f_(Result<void>(fail(errc::closed)));
      return {};
    } else {
      return fail(errc::closed);
    }
  }
  // sent: whether the last select delivered the value. value: the value, still here unless sent.
  bool sent() const noexcept { return this->w_.grant == detail::kGrantValue; }
  T& value() noexcept { return value_; }

 private:
  T value_;
  F f_;
};

// TimerBranch: made by after/until; ready once its deadline passed.
template <class F>
class TimerBranch final : public sched::SelectBranch {
 public:
  TimerBranch(Clock::time_point deadline, F f) : deadline_(deadline), f_(std::move(f)) {}
  bool try_complete(sched::SelectState& sel, std::uint32_t index) override {
    return Clock::now() >= deadline_ && sel.try_claim(index);
  }
  void arm(sched::SelectState&, std::uint32_t) override {}  // select_wait parks until deadline()
  void disarm(sched::SelectState&) noexcept override {}
  Clock::time_point deadline() const noexcept override { return deadline_; }
  Result<void> fire() {
    f_();
    return {};
  }

 private:
  Clock::time_point deadline_;
  F f_;
};

// DefaultBranch: made by otherwise.
template <class F>
class DefaultBranch {
 public:
  explicit DefaultBranch(F f) : f_(std::move(f)) {}
  Result<void> fire() {
    f_();
    return {};
  }

 private:
  F f_;
};

// on_recv: a branch that receives from rx and calls f with the value (f(T) or f(Result<T>)).
// rx must outlive the select call.
template <class T, class F>
RecvBranch<T, std::decay_t<F>> on_recv(const Receiver<T>& rx, F&& f) {
  return {detail::ChannelAccess<T>::state(rx), std::forward<F>(f)};
}
// on_send: a branch that sends v on tx and then calls f() (or f(Result<void>)).
template <class T, class U, class F>
SendBranch<T, std::decay_t<F>> on_send(const Sender<T>& tx, U&& v, F&& f) {
  return {detail::ChannelAccess<T>::state(tx), T(std::forward<U>(v)), std::forward<F>(f)};
}
// after: a branch ready once d has passed (counted from this call).
template <class Rep, class Period, class F>
TimerBranch<std::decay_t<F>> after(std::chrono::duration<Rep, Period> d, F&& f) {
  return {sched::deadline_after(d), std::forward<F>(f)};
}
// until: a branch ready at `deadline`.
template <class Clk, class Dur, class F>
TimerBranch<std::decay_t<F>> until(const std::chrono::time_point<Clk, Dur>& deadline, F&& f) {
  return {sync::to_steady(deadline), std::forward<F>(f)};
}
// otherwise: the default branch.
template <class F>
DefaultBranch<std::decay_t<F>> otherwise(F&& f) {
  return DefaultBranch<std::decay_t<F>>(std::forward<F>(f));
}

namespace detail {
template <class B>
inline constexpr bool is_default_branch = false;
template <class F>
inline constexpr bool is_default_branch<DefaultBranch<F>> = true;
}  // namespace detail

// select: see the file comment. Blocks until a branch is ready (unless a default is given), runs
// its handler, returns its position; errc::cancelled / errc::closed as described above.
template <class... Bs>
  requires(sizeof...(Bs) > 0)
Result<std::size_t> select(Bs&&... bs) {
  using sched::SelectState;
  constexpr std::size_t kDefaults = (std::size_t{detail::is_default_branch<std::remove_cvref_t<Bs>>} + ...);
  static_assert(kDefaults <= 1, "weft::select: at most one otherwise() branch");
  constexpr std::size_t kWaitable = sizeof...(Bs) - kDefaults;
  static_assert(kWaitable <= sched::kMaxSelectBranches, "weft::select: too many branches");

  std::array<sched::SelectBranch*, kWaitable> waitable{};
  std::array<std::size_t, kWaitable + 1> position{};  // waitable index -> argument position
  std::size_t default_position = 0;
  {
    std::size_t w = 0, arg = 0;
    auto collect = [&](auto& b) {
      if constexpr (detail::is_default_branch<std::remove_cvref_t<decltype(b)>>) {
        default_position = arg;
      } else {
        waitable[w] = &b;
        position[w] = arg;
        ++w;
      }
      ++arg;
    };
    (collect(bs), ...);
  }
  const Result<std::uint32_t> won = sched::select_wait(std::span<sched::SelectBranch* const>(waitable), kDefaults > 0);
  if (!won) return fail(won.error());
  const std::size_t taken = *won == SelectState::kDefault ? default_position : position[*won];
  Result<void> fired;
  {
    std::size_t arg = 0;
    auto fire = [&](auto& b) {
      if (arg++ == taken) fired = b.fire();
    };
    (fire(bs), ...);
  }
  if (!fired) return fail(fired.error());
  return taken;
}

}  // namespace weft
