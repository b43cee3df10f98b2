// weft/channels/send_error.hpp: how a channel operation fails, and how a failed send hands its
// value back.
//
// `channel_errc` holds the conditions that belong to channels alone: `full` (try_send on a full
// channel), `empty` (try_recv with nothing to take) and `lagged` (a Broadcast receiver fell behind).
// The others are shared with the rest of weft: `errc::closed`, `errc::cancelled`,
// `std::errc::timed_out`.
//
// A send that fails returns `SendError<T>`: the reason (`code`) and the value it did not deliver
// (`value`), so nothing is lost (tokio's `SendError(T)`/`TrySendError::Full(T)`). `SendResult<T>`
// is `expected<void, SendError<T>>` whose `value()` throws `std::system_error(code)` like
// `weft::Result`.
//
// Thread-safety: plain values.
//
//   weft::SendResult<Msg> r = tx.try_send(std::move(m));
//   if (!r && r.error().code == weft::channel_errc::full) m = std::move(r.error().value);
#pragma once

#include <weft/sched/error.hpp>

#include <system_error>
#include <utility>

namespace weft {

// channel_errc: channel-only failure conditions (category "weft.channels").
enum class channel_errc : int {
  full = 1,  // try_send: no room and no receiver waiting
  empty,     // try_recv: nothing buffered and no sender waiting
  lagged,    // Broadcast: the receiver missed values (BroadcastReceiver::missed() says how many)
};

// channel_category: the category of channel_errc.
const std::error_category& channel_category() noexcept;

inline std::error_code make_error_code(channel_errc e) noexcept { return {static_cast<int>(e), channel_category()}; }

}  // namespace weft

template <>
struct std::is_error_code_enum<weft::channel_errc> : std::true_type {};

namespace weft {

// SendError: a send that did not deliver: why (`code`: errc::closed, channel_errc::full,
// std::errc::timed_out or errc::cancelled) and the value, handed back.
template <class T>
struct SendError {
  std::error_code code;
  T value;
};

namespace detail {
#if defined(__cpp_lib_expected)
template <class T>
using send_expected = std::expected<void, SendError<T>>;
template <class T>
using send_unexpected = std::unexpected<SendError<T>>;
#else
template <class T>
using send_expected = tl::expected<void, SendError<T>>;
template <class T>
using send_unexpected = tl::unexpected<SendError<T>>;
#endif
}  // namespace detail

// SendResult: success, or the SendError; value() throws std::system_error(code) on failure.
template <class T>
class SendResult : public detail::send_expected<T> {
  using base = detail::send_expected<T>;

 public:
  using base::base;
  SendResult(base&& b) : base(std::move(b)) {}

  void value() const {
    if (!this->has_value()) throw std::system_error(this->error().code);
  }
  // code: the failure's error_code (empty on success).
  std::error_code code() const noexcept { return this->has_value() ? std::error_code{} : this->error().code; }
};

// send_failed: the error alternative of a SendResult<T>.
template <class T>
detail::send_unexpected<T> send_failed(std::error_code why, T&& value) {
  return detail::send_unexpected<T>(SendError<T>{why, std::move(value)});
}

}  // namespace weft
