// io_branch.cpp: an IO operation as a select branch (weft/io/select.hpp), on the op protocol of
// io_op.hpp. The op's last reference claims the select (settle_select) instead of waking its task,
// so "the branch completed" and "the op's final completion arrived" are the same moment, and
// settled() is the op's `done`.
#include <weft/io/select.hpp>

#include "epoll_backend.hpp"
#include "op_desc.hpp"
#include "op_wait.hpp"
#include "uring_backend.hpp"


#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <iterator>
#include <new>

namespace weft::io::detail {

struct IoBranchOp {
  Op desc;
  IoOp op;
  PoolJob job;                 // epoll: an operation on the blocking pool
  bool armed = false;
  bool readiness_only = false;  // epoll: the fd became ready; the operation itself has not run
  std::error_code early;       // failed before it could start (outside a fiber, no backend)
  Deferred deferred;           // io_uring: waiting for room under the ring's in-flight cap
  // The SQE both backends run. Raw storage: io_uring_sqe ends in a flexible array member, which
  // ISO C++ does not allow as a member of another struct.
  alignas(io_uring_sqe) std::byte sqe_bytes[sizeof(io_uring_sqe)]{};
  io_uring_sqe& sqe() noexcept { return *std::launder(reinterpret_cast<io_uring_sqe*>(sqe_bytes)); }
};

void IoBranchOpDeleter::operator()(IoBranchOp* p) const noexcept { delete p; }

IoBranchOpPtr io_branch_make(const Op& op) {
  IoBranchOpPtr p(new IoBranchOp);
  p->desc = op;
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
  if (b.desc.kind == Op::Kind::nop) return complete_now(b, 0);
  int wait_fd = -2;  // fsync: the pool
  std::uint32_t events = 0;
  const int r = b.desc.kind == Op::Kind::fsync ? -EAGAIN : epoll_attempt(b.sqe(), wait_fd, events);
  if (r != -EAGAIN || wait_fd == -1) return complete_now(b, r);
  b.op.backend = &ep;
  if (wait_fd >= 0) {
    b.op.fd = wait_fd;
    b.op.events = events;
    b.op.pending.store(1, std::memory_order_relaxed);
    const int rc = ep.add_waiter(b.op);
    if (rc == 0) {
      b.readiness_only = true;
      return;
    }
    b.op.pending.store(0, std::memory_order_relaxed);
    if (rc != -EPERM) return complete_now(b, rc);
  }
  // What epoll cannot wait for: the blocking pool runs it and its end claims the select.
  if (!pool_submit(ep, b.op, b.job, b.sqe())) complete_now(b, -EOPNOTSUPP);
}

}  // namespace

void io_branch_arm(IoBranchOp& b, sched::SelectState& sel, std::uint32_t index) {
  b.armed = true;
  b.readiness_only = false;
  b.early = {};
  b.op.res = 0;
  b.op.timed_out = b.op.cancel_sent = false;
  b.op.done.store(false, std::memory_order_relaxed);
  b.op.select = &sel;
  b.op.select_index = index;
  b.op.select_waker = sel.waker().clone();
  sched::Task* self = sched::current_task();
  b.op.task = self;
  std::fill(std::begin(b.sqe_bytes), std::end(b.sqe_bytes), std::byte{0});
  prep_op(&b.sqe(), b.desc);
  if (!self) {
    b.early = make_error_code(errc::not_in_fiber);
    return complete_now(b, 0);
  }
  if (UringBackend* ring = current_uring()) {
    b.op.backend = ring;
    b.op.pending.store(1, std::memory_order_relaxed);
    io_uring_sqe_set_data64(&b.sqe(), reinterpret_cast<std::uint64_t>(&b.op) | UringBackend::kTagMain);
    if (!ring->has_room(1)) {
      b.deferred = Deferred{.ops = std::span(&b.op, 1), .sqes = &b.sqe(), .slots = 1};
      return ring->defer(b.deferred);  // disarming takes it out of the queue
    }
    ring->reserve(1);
    *ring->sqe() = b.sqe();
    ring->note_queued(1);
    return;
  }
  if (EpollBackend* ep = current_epoll()) return arm_epoll(b, *ep);
  b.early = std::make_error_code(std::errc::function_not_supported);
  complete_now(b, 0);
}

void io_branch_disarm(IoBranchOp& b) noexcept {
  if (b.armed) (void)request_cancel(b.op);  // no-op once it completed
}

bool io_branch_settled(const IoBranchOp& b) noexcept {
  return !b.armed || b.op.done.load(std::memory_order_acquire);  // pairs with settle_select
}

Result<std::size_t> io_branch_result(IoBranchOp& b, bool run) {
  if (b.early) return fail(b.early);
  if (!b.armed) return fail(errc::cancelled);
  if (b.readiness_only) {
    if (b.op.res == -EBADF) return fail(std::error_code(EBADF, std::system_category()));  // closed
    if (b.op.res < 0 || !run) return fail(errc::cancelled);  // withdrawn: nothing consumed
    // Ready: run the operation now (it may wait again if another reader took the data).
    sched::Task* self = sched::current_task();
    if (!self) return fail(errc::not_in_fiber);
    auto r = epoll_execute(b.sqe(), std::chrono::steady_clock::time_point::max(), self);
    if (!r) return fail(r.error());
    return static_cast<std::size_t>(*r);
  }
  auto r = op_result(b.op);
  if (!r) return fail(r.error());
  return static_cast<std::size_t>(*r);
}

}  // namespace weft::io::detail
