// dispatch.cpp: the dispatch point (dispatch.hpp).
#include "dispatch.hpp"

#include "blocking_syscall.hpp"
#include "errno_result.hpp"
#include "op_wait.hpp"

#include <weft/sched/task.hpp>

namespace weft::io {

bool run_submission(const Submission& sub) {
  return on_backend([&](UringBackend& ring) { ring.run(sub); }, [&](EpollBackend&) { epoll_run(sub); });
}

Result<int> run_op(const OpDesc& desc, Clock::time_point deadline) {
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

bool offsets_need_position_check() noexcept {
  const sched::Driver* d = sched::current_driver();
  return d && d->kind() == &kUringKind;
}

}  // namespace weft::io
