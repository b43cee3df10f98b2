// dispatch.hpp: the one point where an operation meets the backend of the worker running its
// fiber. Single operations (ops.cpp), linked chains (link.cpp) and select branches (io_branch.cpp)
// all describe their work as OpDescs (op_desc.hpp) and come through here:
//
//   run_op / run_submission -> on_backend -> UringBackend::run   (SQEs, one enter per tick)
//                                         -> epoll_run           (readiness + syscall, or the pool)
//
// The choice is static: the worker's Driver carries a kind tag (sched/driver.hpp), compared here,
// and each backend's entry points are ordinary member or free functions, so an operation costs no
// virtual call (w7_nop measures the path). Per-operation fallback (an op the ring lacks, run the
// epoll way) belongs here too, as one more branch of on_backend.
//
// Thread-safety: called by a fiber (run_op also from plain threads for what runs_inline runs); the
// backend found is only valid until the fiber's next suspension (it may move to another worker).
#pragma once

#include "blocking_syscall.hpp"
#include "epoll_backend.hpp"
#include "errno_result.hpp"
#include "op_desc.hpp"
#include "op_wait.hpp"
#include "submission.hpp"
#include "uring_backend.hpp"

#include <weft/sched/driver.hpp>
#include <weft/sched/error.hpp>
#include <weft/sched/task.hpp>

namespace weft::io {

// on_backend: calls on_uring(UringBackend&) or on_epoll(EpollBackend&) for the backend of the
// worker running the calling fiber; false (calling neither) where there is none: a plain thread,
// or a scheduler whose workers have no IO backend.
template <class OnUring, class OnEpoll>
[[gnu::always_inline]] inline bool on_backend(OnUring&& on_uring, OnEpoll&& on_epoll) {
  sched::Driver* d = sched::current_driver();
  if (!d) return false;
  if (d->kind() == &kUringKind) {
    on_uring(static_cast<UringBackend&>(*d));
    return true;
  }
  if (d->kind() == &kEpollKind) {
    on_epoll(static_cast<EpollBackend&>(*d));
    return true;
  }
  return false;
}

// run_submission: runs `sub` (its ops' tasks set to the calling fiber) to the final completion of
// every op on the calling worker's backend. False when there is no backend (nothing ran).
[[gnu::always_inline]] inline bool run_submission(const Submission& sub) {
  return on_backend([&](UringBackend& ring) __attribute__((always_inline)) { ring.run(sub); },
                    [&](EpollBackend&) { epoll_run(sub); });
}

// run_op: runs one operation to its final completion; `deadline` times it out (kNoDeadline: none).
// Fails with errc::not_in_fiber outside a fiber and errc::cancelled in a cancelled task (before it
// starts), except for what runs_inline runs, which runs anywhere; std::errc::function_not_supported
// without an IO backend. Otherwise the result (>= 0) or the error (op_wait.hpp, op_result).
// Inline, with run_submission and the ring's submit: a call site's constant kind then compiles to
// its one prep (uring_backend.hpp).
[[gnu::always_inline]] inline Result<int> run_op(const OpDesc& desc, Clock::time_point deadline = kNoDeadline) {
  if (runs_inline(desc)) return syscall_result(blocking_syscall(desc));
  sched::Task* self = sched::current_task();
  if (!self) return fail(errc::not_in_fiber);
  if (self->cancel_requested()) return fail(errc::cancelled);
  IoOp op;
  op.task = self;
  const Submission sub{.descs = std::span(&desc, 1), .ops = std::span(&op, 1), .deadline = deadline};
  if (!run_submission(sub)) return fail(std::errc::function_not_supported);
  return op_result(op);
}

// offsets_need_position_check: whether a positional operation on the calling worker's backend
// would run on an fd without a file position instead of failing with ESPIPE (io_uring ignores the
// offset there; epoll's preadv2/pwritev2 refuse it). ops.cpp, has_no_position.
bool offsets_need_position_check() noexcept;

}  // namespace weft::io
