// sync_test_util.hpp: helpers shared by the sync tests.
#pragma once

#include "support/test_support.hpp"

#include <cstddef>
#include <system_error>

namespace weft::test {

// waiters_reach: true once `prim` has at least n queued waiters (bounded wait, not a timing check).
template <class P>
bool waiters_reach(const P& prim, std::size_t n) {
  return eventually([&] { return prim.waiters() >= n; });
}

// is_cancelled: true when r failed with errc::cancelled.
template <class R>
bool is_cancelled(const R& r) {
  return !r.has_value() && r.error() == errc::cancelled;
}
// is_timed_out: true when r failed with std::errc::timed_out.
template <class R>
bool is_timed_out(const R& r) {
  return !r.has_value() && r.error() == std::errc::timed_out;
}

}  // namespace weft::test
