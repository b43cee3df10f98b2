// submission.hpp: Submission, what the dispatch point (dispatch.hpp) hands a backend: one
// operation, or a linked chain of them, with the deadline of its last operation.
//
// Invariants: descs.size() == ops.size() >= 1; descs, ops and everything the descriptions point at
// live until every op's final completion (io_op.hpp). Thread-safety: the submitting fiber's.
#pragma once

#include "io_op.hpp"
#include "op_desc.hpp"

#include <weft/io/link.hpp>

#include <chrono>
#include <span>

namespace weft::io {

using Clock = std::chrono::steady_clock;
inline constexpr Clock::time_point kNoDeadline = Clock::time_point::max();

struct Submission {
  std::span<const OpDesc> descs;
  std::span<IoOp> ops;                  // ops[i] is the wait state of descs[i]
  LinkMode mode = LinkMode::soft;       // how a chain's operations are linked
  Clock::time_point deadline = kNoDeadline;  // times the last operation out (a linked timeout)

  bool timed() const noexcept { return deadline != kNoDeadline; }
};

}  // namespace weft::io
