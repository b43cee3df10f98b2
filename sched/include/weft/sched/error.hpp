// weft/sched/error.hpp: weft's error conditions and Result<T>.
//
// Every fallible weft call returns `weft::Result<T>`: a `std::expected<T, std::error_code>` whose
// `value()` throws `std::system_error` (not `bad_expected_access`), so `r.value()` reads like a
// blocking call that throws. OS failures carry the errno in `std::system_category()`; runtime
// conditions (cancelled, closed, shut down) are `weft::errc` in `weft::error_category()`.
// Timeouts use `std::errc::timed_out` so they compare equal to the OS's ETIMEDOUT.
//
// Thread-safety: plain values.
//
//   weft::Result<int> r = weft::fail(weft::errc::cancelled);
//   if (!r && r.error() == weft::errc::cancelled) { ... }
//   int v = r.value();  // throws std::system_error
#pragma once

#include <system_error>
#include <type_traits>
#include <utility>

#if __has_include(<expected>)
#include <expected>
#endif
#if !defined(__cpp_lib_expected)
#include <tl/expected.hpp>
#endif

namespace weft {

// errc: conditions raised by the runtime itself rather than the OS.
enum class errc : int {
  cancelled = 1,  // the task (or the operation) was cancelled
  closed,         // the channel / object was closed
  shut_down,      // the runtime is shutting down and accepts no new work
  not_in_fiber,   // a fiber-only call was made from a plain thread
};

// error_category: the category of weft::errc ("weft").
const std::error_category& error_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

namespace detail {
#if defined(__cpp_lib_expected)
template <class T>
using expected_base = std::expected<T, std::error_code>;
using unexpected_type = std::unexpected<std::error_code>;
#else
template <class T>
using expected_base = tl::expected<T, std::error_code>;
using unexpected_type = tl::unexpected<std::error_code>;
#endif
}  // namespace detail

// Result<T>: a value or an error_code; value() throws std::system_error carrying the code.
template <class T>
class Result : public detail::expected_base<T> {
  using base = detail::expected_base<T>;

 public:
  using base::base;
  Result(const base& b) : base(b) {}
  Result(base&& b) : base(std::move(b)) {}

  decltype(auto) value() & { check(); return base::value(); }
  decltype(auto) value() const& { check(); return base::value(); }
  decltype(auto) value() && { check(); return std::move(*this).base::value(); }

 private:
  void check() const {
    if (!this->has_value()) throw std::system_error(this->error());
  }
};

// fail: the error alternative of any Result, e.g. `return weft::fail(std::errc::timed_out);`.
inline detail::unexpected_type fail(std::error_code ec) { return detail::unexpected_type(ec); }
template <class E>
  requires std::is_error_code_enum_v<E> || std::is_error_condition_enum_v<E>
inline detail::unexpected_type fail(E e) {
  if constexpr (std::is_error_code_enum_v<E>) {
    return detail::unexpected_type(make_error_code(e));
  } else {
    return detail::unexpected_type(std::make_error_code(e));
  }
}

}  // namespace weft

template <>
struct std::is_error_code_enum<weft::errc> : std::true_type {};
