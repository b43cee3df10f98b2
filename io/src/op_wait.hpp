// op_wait.hpp: the fiber's half of the op reference protocol (io_op.hpp), shared by both backends,
// single operations, linked chains and select branches: wait for the final completion of every
// op, forwarding a cancel when the task is cancelled meanwhile, then turn the result into a
// weft::Result. Thread-safety: the waiting fiber's, except request_cancel (any thread holding the
// op alive, e.g. a select disarming its branch).
#pragma once

#include "io_op.hpp"
#include "submission.hpp"

#include <weft/sched/error.hpp>
#include <weft/sched/task.hpp>

#include <chrono>
#include <span>

namespace weft::io {

// wait_for_completion: returns when every op in `ops` is done (the backend dropped its last
// reference). `deadline` is for backends without kernel-side timeouts (epoll): when it passes
// first, every op still pending is marked timed_out and cancelled (io_uring passes max(): its
// deadlines are linked timeouts).
void wait_for_completion(std::span<IoOp> ops, sched::Task* self, Clock::time_point deadline = kNoDeadline);

// request_cancel: asks op's backend to cancel it, holding one more reference for the request; does
// nothing (false) once the op has no reference left (it completed).
bool request_cancel(IoOp& op);

// op_result: res >= 0 is the value (even if a cancel or deadline raced with it); -ECANCELED is
// std::errc::timed_out when the op's deadline fired, else errc::cancelled when a cancel was sent
// or `cancelled_by_chain` (a soft link broke), else EBADF (closing its fd ended it: io_op.hpp);
// anything else is the errno.
Result<int> op_result(const IoOp& op, bool cancelled_by_chain = false);

}  // namespace weft::io
