// epoll_backend.hpp: EpollBackend, a worker's epoll instance, the epoll backend of the op protocol
// (io_op.hpp), and epoll_execute, which runs one operation described by an io_uring SQE.
//
// The SQE is the one description of an operation for both backends: ops.cpp fills it with the same
// liburing prep helpers, and on epoll it is read back field by field (epoll_run.cpp) instead of
// being submitted, so no operation is written twice.
//
// Readiness waits (why none is lost): a fiber that got EAGAIN registers an IoOp for (fd, events)
// on the epoll of the worker it runs on, before that worker next calls epoll_wait (it is that
// worker's thread). The fd is armed level-triggered with EPOLLONESHOT and the union of its
// waiters' events, so readiness that exists at arming time or arrives later is reported by the
// next epoll_wait. An event completes every waiter whose events it matches (errors and hangups
// match all) and re-arms the fd for the rest. The woken fiber retries its syscall; a spurious wake
// costs one EAGAIN. Waiters are kept per fd in FIFO order.
// The op protocol holds: the waiter list holds one reference; a cancel request (the task
// cancelled, or its deadline on the worker's timers) holds another and is carried out by the
// owner, which unlinks the waiter and completes it with -ECANCELED.
//
// Closing an fd with waiters: the kernel drops a closed file from every epoll set, with any event
// not yet collected (e.g. the hangup a shutdown() raised just before), so those waiters would never
// hear from it again. Every close through weft therefore ends them first (cancel_fd_everywhere, the
// protocol shared with io_uring, argued in io_op.hpp): each owner holding waiters completes that
// fd's waiters with EBADF (close_local), which they return without retrying, before the closer
// calls close(2). So every waiter evicted belongs to the file being closed, and no operation can
// run on a recycled fd number.
// fd reuse: the registration is keyed by the kernel on (fd number, open file), and a number may be
// closed and reused behind a worker's back: a close through weft reaches only the backends
// holding ops, and a raw close(2) none. So a worker never trusts what it remembers about a number's registration: every
// new waiter (and every re-arm after an event) tells the kernel the events it wants, with MOD
// falling back to ADD (ENOENT: not registered for this file) and ADD to MOD (EEXIST). A recycled
// number is thus armed correctly on every worker whatever state it left behind, for one epoll_ctl
// per wait, which a wait paid anyway after EPOLLONESHOT (skipping it when the events looked armed
// already lost wake-ups: a receive that timed out left its number "armed" for the next file).
//
// Thread-safety: everything but unpark() and IoBackend::cancel() runs on the owner thread.
#pragma once

#include "io_op.hpp"

#include <weft/io/epoll_driver.hpp>
#include <weft/sched/error.hpp>
#include <weft/sched/blocking_pool.hpp>
#include <weft/sched/event_source.hpp>

#include <liburing.h>
#include <sys/epoll.h>

#include <chrono>
#include <atomic>
#include <cstdint>
#include <vector>

namespace weft::io {

class EpollBackend final : public IoBackend {
 public:
  EpollBackend();  // throws std::system_error
  ~EpollBackend() override;

  void park(std::chrono::steady_clock::time_point deadline) override;
  void unpark() noexcept override;
  void poll() override;

  // add_waiter: owner; queues `op` (fd, events set) until readiness. Returns 0, or -errno when the
  // fd cannot be armed (EPERM: a regular file or directory, which epoll does not support).
  int add_waiter(IoOp& op);
  void count_pool_op() noexcept { bump(pool_ops_); }
  // stats: the counters; any thread (relaxed loads of owner-written counters).
  EpollStats stats() const noexcept;
  sched::IoCounters io_counters() const noexcept override;

 protected:
  void cancel_local(IoOp& op) override;
  // close_local: `fd` is about to be closed: its waiters complete with EBADF (see above).
  void close_local(int fd) override;

 private:
  struct FdState {
    IoOp* head = nullptr;
    IoOp* tail = nullptr;
    bool registered = false;  // we added it: try MOD first (a hint only: see fd reuse)
  };
  FdState& state(int fd);
  int arm(int fd, FdState& st);
  void unlink(FdState& st, IoOp& op) noexcept;
  // complete: unlinks a waiter, gives it `res` and drops `refs` of its references.
  void complete(FdState& st, IoOp& op, int res, int refs) noexcept;
  void dispatch(int timeout_ms, const timespec* timeout);

  int epfd_ = -1;
  sched::EventSource wake_;
  std::vector<FdState> fds_;  // indexed by fd number
  std::vector<epoll_event> events_;
  bool have_pwait2_ = true;
  // EpollStats, written only by the owner thread with bump() (relaxed load+store, no locked
  // instruction), so Runtime::metrics() may read them from another thread.
  std::atomic<std::uint64_t> waits_{0}, ctls_{0}, readiness_{0}, pool_ops_{0};
};

// current_epoll: the epoll backend of the worker running the calling fiber, nullptr elsewhere.
inline EpollBackend* current_epoll() noexcept {
  sched::Driver* d = sched::current_driver();
  return d && d->kind() == &kEpollKind ? static_cast<EpollBackend*>(d) : nullptr;
}

// PoolJob: one operation on the blocking pool; holds one reference to `op` until it returned.
struct PoolJob final : sched::BlockingJob {
  IoOp* op = nullptr;
  const io_uring_sqe* sqe = nullptr;
  void run() noexcept override;
};

// pool_submit: runs `sqe` for `op` (op.pending becomes 1, the job's reference) on the calling
// fiber's scheduler's blocking pool; `op` and `job` must live until the job released `op`. False
// outside a scheduler.
bool pool_submit(EpollBackend& ep, IoOp& op, PoolJob& job, const io_uring_sqe& sqe);

// epoll_attempt: one non-blocking try of a readiness-based operation (read, write, recv, send,
// ...). Returns the result, or -EAGAIN with what to wait for: wait_fd >= 0 (an fd and events),
// -1 (do not wait: the caller asked for EAGAIN), -2 (it would block on a file: the pool).
int epoll_attempt(const io_uring_sqe& sqe, int& wait_fd, std::uint32_t& wait_events);

// epoll_execute: runs the operation `sqe` describes to its final result, on the calling fiber's
// epoll backend(s) and blocking pool; `deadline` as for every op (time_point::max(): none).
Result<int> epoll_execute(const io_uring_sqe& sqe, std::chrono::steady_clock::time_point deadline, sched::Task* self);

}  // namespace weft::io
