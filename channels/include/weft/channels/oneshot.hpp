// weft/channels/oneshot.hpp: Oneshot<T>, a channel for exactly one value (a reply slot):
// make_oneshot<T>() -> {OneshotSender<T>, OneshotReceiver<T>}.
//
// The sender sends at most once (send() consumes it) and never waits; the receiver waits for that
// value. Dropping the sender without sending makes recv() return errc::closed; dropping the
// receiver makes send() fail with errc::closed and hand the value back.
//
// Built on a Channel<T> of capacity 1 (same wait queue, same cancellation and timeout rules);
// the handles are move-only because there is one value and one taker.
//
// Thread-safety: each handle is used by one fiber or thread at a time; the two ends may be on any.
//
//   auto [reply_tx, reply_rx] = weft::make_oneshot<int>();
//   weft::spawn([tx = std::move(reply_tx)]() mutable { std::move(tx).send(42); });
//   int v = reply_rx.recv().value();
#pragma once

#include <weft/channels/channel.hpp>

#include <chrono>
#include <optional>
#include <utility>

namespace weft {

template <class T>
struct Oneshot;
template <class T>
Oneshot<T> make_oneshot();

// OneshotSender: sends the one value.
template <class T>
class OneshotSender {
 public:
  OneshotSender(OneshotSender&&) noexcept = default;
  OneshotSender& operator=(OneshotSender&&) noexcept = default;

  // send: delivers v and closes the oneshot; never waits. errc::closed (v handed back) when the
  // receiver is gone or the value was already sent.
  SendResult<T> send(T v) && {
    if (!tx_) return send_failed(make_error_code(errc::closed), std::move(v));
    SendResult<T> r = tx_->try_send(std::move(v));
    tx_.reset();  // the last sender: closes the channel, so a later recv() sees errc::closed
    return r;
  }
  // is_closed: true once the receiver is gone (or after send).
  bool is_closed() const noexcept { return !tx_ || tx_->is_closed(); }

 private:
  friend Oneshot<T> make_oneshot<T>();
  explicit OneshotSender(Sender<T> tx) : tx_(std::move(tx)) {}
  std::optional<Sender<T>> tx_;
};

// OneshotReceiver: waits for the one value.
template <class T>
class OneshotReceiver {
 public:
  OneshotReceiver(OneshotReceiver&&) noexcept = default;
  OneshotReceiver& operator=(OneshotReceiver&&) noexcept = default;

  // recv: the value, waiting for it. errc::closed when the sender went without sending (or the
  // value was taken already); errc::cancelled when the waiting fiber is cancelled.
  Result<T> recv() { return rx_.recv(); }
  // try_recv: the value if it is there; channel_errc::empty otherwise.
  Result<T> try_recv() { return rx_.try_recv(); }
  template <class Rep, class Period>
  Result<T> recv_for(std::chrono::duration<Rep, Period> d) {
    return rx_.recv_for(d);
  }
  template <class Clk, class Dur>
  Result<T> recv_until(const std::chrono::time_point<Clk, Dur>& deadline) {
    return rx_.recv_until(deadline);
  }
  // receiver: the underlying channel end, e.g. for weft::on_recv in a select.
  const Receiver<T>& receiver() const noexcept { return rx_; }

 private:
  friend Oneshot<T> make_oneshot<T>();
  explicit OneshotReceiver(Receiver<T> rx) : rx_(std::move(rx)) {}
  Receiver<T> rx_;
};

// Oneshot: the pair make_oneshot returns.
template <class T>
struct Oneshot {
  OneshotSender<T> sender;
  OneshotReceiver<T> receiver;
};

// make_oneshot: a new oneshot channel.
template <class T>
Oneshot<T> make_oneshot() {
  Channel<T> ch = make_channel<T>(1);
  return Oneshot<T>{OneshotSender<T>(std::move(ch.sender)), OneshotReceiver<T>(std::move(ch.receiver))};
}

}  // namespace weft
