// op_wait.hpp: the fiber's half of the op protocol (uring_driver.hpp), shared by single operations
// and linked chains: wait for the final completion of every op, forwarding a cancel when the task
// is cancelled meanwhile, then turn a CQE result into a weft::Result.
#pragma once

#include "uring_driver.hpp"

#include <weft/sched/error.hpp>
#include <weft/sched/task.hpp>

#include <span>

namespace weft::io {

// wait_for_completion: returns when every op in `ops` is done (all its CQEs arrived).
void wait_for_completion(std::span<UringOp> ops, sched::Task* self);

// op_result: res >= 0 is the value (even if a cancel or deadline raced with it); -ECANCELED is
// std::errc::timed_out when the op's linked timeout fired, else errc::cancelled when a cancel was
// sent or `cancelled_by_chain` (a soft link broke); anything else is the errno.
Result<int> op_result(const UringOp& op, bool cancelled_by_chain = false);

}  // namespace weft::io
