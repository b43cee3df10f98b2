// channels_test_util.hpp: helpers shared by the channel tests.
#pragma once

#include "support/test_support.hpp"

#include <weft/channels/send_error.hpp>

#include <cstddef>
#include <system_error>

namespace weft::test {

// waiters_reach: true once the channel handle reports at least n blocked senders + receivers
// (a bounded wait for a state, not a timing assertion).
template <class H>
bool waiters_reach(const H& h, std::size_t n) {
  return eventually([&] { return h.waiters() >= n; });
}

// has_error: true when r failed with exactly `e`.
template <class R, class E>
bool has_error(const R& r, E e) {
  if (r.has_value()) return false;
  if constexpr (requires { r.error().code; }) {
    return r.error().code == e;
  } else {
    return r.error() == e;
  }
}

}  // namespace weft::test
