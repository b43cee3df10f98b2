// io_branch.cpp: an IO operation as a select branch (weft/io/select.hpp), on the op protocol of
// io_op.hpp. The op's last reference claims the select (settle_select) instead of waking its task,
// so "the branch completed" and "the op's final completion arrived" are the same moment, and
// settled() is the op's `done`. Arming goes through the dispatch point like every operation: on
// io_uring the branch's Submission is submitted as any other (it may wait for room under the cap);
// on epoll the branch waits for readiness (or runs on the pool) and the operation runs when its
// handler is called (select.hpp says why).
#include <weft/io/select.hpp>

#include "dispatch.hpp"
#include "errno_result.hpp"
#include "op_wait.hpp"

#include <cerrno>

namespace weft::io::detail {

struct IoBranchOp {
  OpDesc desc;
  IoOp op;
  SelectHook hook;
  Submission sub;
  bool armed = false;
  bool readiness_only = false;  // epoll: the fd became ready; the operation itself has not run
  std::error_code early;        // failed before it could start (outside a fiber, no backend)
  // Each backend's wait state; one of them is in use while armed.
  UringUnit unit;
  EpollWaiter waiter;
  PoolJob job;
};

void IoBranchOpDeleter::operator()(IoBranchOp* p) const noexcept { delete p; }

IoBranchOpPtr io_branch_make(const Op& op) {
  IoBranchOpPtr p(new IoBranchOp);
  p->desc = to_desc(op);
  p->sub = Submission{.descs = std::span(&p->desc, 1), .ops = std::span(&p->op, 1)};
  return p;
}

namespace {

// complete_now: the operation finished while arming: claim with res as the result.
void complete_now(IoBranchOp& b, int res) {
  b.op.res = res;
  b.op.pending.store(1, std::memory_order_relaxed);
  release_refs(b.op, 1);
}

void arm_epoll(IoBranchOp& b, EpollBackend& ep) {
  if (b.desc.kind == OpKind::nop) return complete_now(b, 0);
  Readiness wait{Readiness::kOnPool, 0};  // fsync: the pool
  const int r = b.desc.kind == OpKind::fsync ? -EAGAIN : epoll_attempt(b.desc, wait);
  if (r != -EAGAIN || wait.fd == Readiness::kDontWait) return complete_now(b, r);
  b.op.backend = &ep;
  if (wait.fd >= 0) {
    b.waiter = EpollWaiter{.op = &b.op, .fd = wait.fd, .events = wait.events};
    b.op.pending.store(1, std::memory_order_relaxed);
    const int rc = ep.add_waiter(b.waiter);
    if (rc == 0) {
      b.readiness_only = true;
      return;
    }
    b.op.pending.store(0, std::memory_order_relaxed);
    if (rc != -EPERM) return complete_now(b, rc);
  }
  // What epoll cannot wait for: the blocking pool runs it and its end claims the select.
  if (!pool_submit(ep, b.op, b.job, b.desc)) complete_now(b, -EOPNOTSUPP);
}

}  // namespace

void io_branch_arm(IoBranchOp& b, sched::SelectState& sel, std::uint32_t index) {
  b.armed = true;
  b.readiness_only = false;
  b.early = {};
  b.op.res = 0;
  b.op.timed_out = b.op.cancel_sent = false;
  b.op.backend_state = nullptr;
  b.op.done.store(false, std::memory_order_relaxed);
  b.hook.state = &sel;
  b.hook.index = index;
  b.hook.waker = sel.waker().clone();
  b.op.select = &b.hook;
  b.op.task = sched::current_task();
  if (!b.op.task) {
    b.early = make_error_code(errc::not_in_fiber);
    return complete_now(b, 0);
  }
  const bool armed = on_backend([&](UringBackend& ring) { (void)ring.submit(b.sub, b.unit); },
                                [&](EpollBackend& ep) { arm_epoll(b, ep); });
  if (!armed) {
    b.early = std::make_error_code(std::errc::function_not_supported);
    complete_now(b, 0);
  }
}

void io_branch_disarm(IoBranchOp& b) noexcept {
  if (b.armed) (void)request_cancel(b.op);  // no-op once it completed; takes a queued one out
}

bool io_branch_settled(const IoBranchOp& b) noexcept {
  return !b.armed || b.op.done.load(std::memory_order_acquire);  // pairs with settle_select
}

Result<std::size_t> io_branch_result(IoBranchOp& b, bool run) {
  if (b.early) return fail(b.early);
  if (!b.armed) return fail(errc::cancelled);
  if (b.readiness_only) {
    if (b.op.res == -EBADF) return fail(errno_error(EBADF));  // closed
    if (b.op.res < 0 || !run) return fail(errc::cancelled);  // withdrawn: nothing consumed
    // Ready: run the operation now (it may wait again if another reader took the data).
    auto r = run_op(b.desc);
    if (!r) return fail(r.error());
    return static_cast<std::size_t>(*r);
  }
  auto r = op_result(b.op);
  if (!r) return fail(r.error());
  return static_cast<std::size_t>(*r);
}

}  // namespace weft::io::detail
