// weft/channels/channel.hpp: Channel<T>, a multi-producer multi-consumer channel for fibers and
// plain threads: make_channel<T>(capacity) -> {Sender<T>, Receiver<T>}.
//
// Capacity 0 is a rendezvous (a send waits until a receiver takes the value, as Go's unbuffered
// channels); N buffers up to N values; `weft::unbounded` never makes a sender wait. A value sent to
// a channel with a receiver already waiting is handed straight to that receiver.
//
// Invariants: values from one sender arrive in the order it sent them; every value sent
// successfully is received exactly once (or destroyed with the channel when no receiver is left);
// waiters are served first-come first-served.
//
// Closing: close() (on either handle) or the destruction of the last Sender (or of the last
// Receiver) closes the channel. After that every send fails with errc::closed and hands its value
// back; receivers drain what is buffered, then get errc::closed. Blocked senders and receivers are
// woken by the close.
//
// Errors and cancellation: the blocking calls are cancellation points: a fiber whose task is
// cancelled while it waits gets errc::cancelled (a send gets its value back). A value handed over at
// the moment a wait timed out or was cancelled is kept: the call succeeds. A call that can complete
// at once completes even in a cancelled fiber. Plain threads block on a futex and are never
// cancelled. `_for`/`_until` give std::errc::timed_out; `try_` calls never wait and give
// channel_errc::full / channel_errc::empty.
//
// Thread-safety: Sender and Receiver are cheap copyable handles (reference counted); every member
// may be called from any fiber or thread concurrently.
//
//   auto [tx, rx] = weft::make_channel<int>(16);
//   weft::spawn([tx = std::move(tx)] { for (int i = 0; i < 3; ++i) tx.send(i).value(); });
//   for (int v : rx) use(v);  // until the last Sender is gone and the buffer is drained
#pragma once

#include <weft/channels/detail/channel_state.hpp>
#include <weft/channels/send_error.hpp>
#include <weft/sched/error.hpp>
#include <weft/sync/wait_queue.hpp>

#include <chrono>
#include <cstddef>
#include <iterator>
#include <optional>
#include <utility>

namespace weft {

// unbounded: the capacity of a channel whose senders never wait.
inline constexpr std::size_t unbounded = detail::kUnbounded;

template <class T>
class Receiver;
template <class T>
struct Channel;
template <class T>
Channel<T> make_channel(std::size_t capacity);

namespace detail {
template <class T>
struct ChannelAccess;
}

// Sender: the sending handle. Copy it to add producers; the channel closes when the last copy goes.
template <class T>
class Sender {
 public:
  Sender(const Sender& o) noexcept : s_(o.s_) {
    if (s_) s_->add_sender();
  }
  Sender(Sender&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
  Sender& operator=(Sender o) noexcept {
    std::swap(s_, o.s_);
    return *this;
  }
  ~Sender() {
    if (s_) s_->drop_sender();
  }

  // send: delivers v, waiting while the channel is full (capacity 0: until a receiver takes it).
  // Fails with errc::closed or errc::cancelled, handing v back in the SendError.
  SendResult<T> send(T v) const { return s_->send(std::move(v), sync::Clock::time_point::max(), true); }
  // try_send: delivers v only if that needs no wait; channel_errc::full otherwise.
  SendResult<T> try_send(T v) const { return s_->send(std::move(v), sync::Clock::time_point::max(), false); }
  // send_until: as send(), but fails with std::errc::timed_out at `deadline`.
  template <class Clk, class Dur>
  SendResult<T> send_until(T v, const std::chrono::time_point<Clk, Dur>& deadline) const {
    return s_->send(std::move(v), sync::to_steady(deadline), true);
  }
  // send_for: send_until(now + d).
  template <class Rep, class Period>
  SendResult<T> send_for(T v, std::chrono::duration<Rep, Period> d) const {
    return s_->send(std::move(v), sched::deadline_after(d), true);
  }

  // close: closes the channel (see the file comment). Never blocks.
  void close() const noexcept { s_->close(); }
  bool is_closed() const noexcept { return s_->is_closed(); }
  // capacity: as made (weft::unbounded for unbounded). size: values buffered now (a snapshot).
  std::size_t capacity() const noexcept { return s_->capacity(); }
  std::size_t size() const noexcept { return s_->size(); }
  // waiters: senders and receivers blocked now (a snapshot, for diagnostics and tests).
  std::size_t waiters() const noexcept { return s_->waiters(); }

 private:
  friend Channel<T> make_channel<T>(std::size_t);
  friend struct detail::ChannelAccess<T>;
  explicit Sender(detail::ChannelState<T>* s) noexcept : s_(s) {}
  detail::ChannelState<T>* s_;
};

// Receiver: the receiving handle. Copy it to add consumers (each value goes to one of them).
template <class T>
class Receiver {
 public:
  Receiver(const Receiver& o) noexcept : s_(o.s_) {
    if (s_) s_->add_receiver();
  }
  Receiver(Receiver&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
  Receiver& operator=(Receiver o) noexcept {
    std::swap(s_, o.s_);
    return *this;
  }
  ~Receiver() {
    if (s_) s_->drop_receiver();
  }

  // recv: the oldest value, waiting while there is none. errc::closed once closed and drained;
  // errc::cancelled when the waiting fiber is cancelled.
  Result<T> recv() const { return s_->recv(sync::Clock::time_point::max(), true); }
  // try_recv: a value only if one can be taken without waiting; channel_errc::empty otherwise
  // (errc::closed once closed and drained).
  Result<T> try_recv() const { return s_->recv(sync::Clock::time_point::max(), false); }
  // recv_until: as recv(), but std::errc::timed_out at `deadline`.
  template <class Clk, class Dur>
  Result<T> recv_until(const std::chrono::time_point<Clk, Dur>& deadline) const {
    return s_->recv(sync::to_steady(deadline), true);
  }
  // recv_for: recv_until(now + d).
  template <class Rep, class Period>
  Result<T> recv_for(std::chrono::duration<Rep, Period> d) const {
    return s_->recv(sched::deadline_after(d), true);
  }

  void close() const noexcept { s_->close(); }
  bool is_closed() const noexcept { return s_->is_closed(); }
  std::size_t capacity() const noexcept { return s_->capacity(); }
  std::size_t size() const noexcept { return s_->size(); }
  std::size_t waiters() const noexcept { return s_->waiters(); }

  // iterator: an input iterator over recv() results; it ends at the first error (closed, or
  // cancelled). `for (T v : rx)` receives until the channel is closed and drained.
  class iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = T;
    using difference_type = std::ptrdiff_t;
    using pointer = T*;
    using reference = T&;

    iterator() = default;
    explicit iterator(const Receiver* rx) : rx_(rx) { ++*this; }
    T& operator*() { return *cur_; }
    iterator& operator++() {
      Result<T> r = rx_->recv();
      if (r) {
        cur_.emplace(std::move(*r));
      } else {
        cur_.reset();
      }
      return *this;
    }
    void operator++(int) { ++*this; }
    friend bool operator==(const iterator& a, std::default_sentinel_t) { return !a.cur_.has_value(); }

   private:
    const Receiver* rx_ = nullptr;
    std::optional<T> cur_;
  };
  iterator begin() const { return iterator(this); }
  std::default_sentinel_t end() const noexcept { return {}; }

 private:
  friend Channel<T> make_channel<T>(std::size_t);
  friend struct detail::ChannelAccess<T>;
  explicit Receiver(detail::ChannelState<T>* s) noexcept : s_(s) {}
  detail::ChannelState<T>* s_;
};

// Channel: the pair make_channel returns; `auto [tx, rx] = make_channel<T>(n);`.
template <class T>
struct Channel {
  Sender<T> sender;
  Receiver<T> receiver;
};

// make_channel: a new channel of `capacity` (0: rendezvous, weft::unbounded: unbounded).
template <class T>
Channel<T> make_channel(std::size_t capacity) {
  auto* s = new detail::ChannelState<T>(capacity);
  return Channel<T>{Sender<T>(s), Receiver<T>(s)};
}

namespace detail {
// ChannelAccess: the state behind a handle, for select branches.
template <class T>
struct ChannelAccess {
  static ChannelState<T>* state(const Sender<T>& s) noexcept { return s.s_; }
  static ChannelState<T>* state(const Receiver<T>& r) noexcept { return r.s_; }
};
}  // namespace detail

}  // namespace weft
