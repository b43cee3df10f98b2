// epoll_backend.hpp: EpollBackend, a worker's epoll instance, the epoll backend of the op protocol
// (io_op.hpp); EpollWaiter, its wait state for one readiness wait; and the epoll translation of an
// operation's description (op_desc.hpp), which epoll_run.cpp implements: readiness plus the
// non-blocking syscall, or the blocking syscall on the pool.
//
// Readiness waits (why none is lost): a fiber that got EAGAIN registers an EpollWaiter for (fd, events)
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
// protocol shared with io_uring, argued in io_backend.hpp): each owner holding waiters completes that
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

#include "io_backend.hpp"
#include "submission.hpp"

#include <weft/io/epoll_driver.hpp>
#include <weft/sched/blocking_pool.hpp>
#include <weft/sched/event_source.hpp>

#include <sys/epoll.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <vector>

namespace weft::io {

// EpollWaiter: one readiness wait: `op` waits for `events` on `fd`, in that fd's FIFO list while
// `linked`. Next to its op on the waiting fiber's stack (or in a select branch); the op's
// backend_state points at it while it may be linked. Owner thread only.
struct EpollWaiter {
  IoOp* op = nullptr;
  int fd = -1;
  std::uint32_t events = 0;
  bool linked = false;
  EpollWaiter* prev = nullptr;
  EpollWaiter* next = nullptr;
};

class EpollBackend final : public IoBackend {
 public:
  EpollBackend();  // throws std::system_error
  ~EpollBackend() override;

  void park(std::chrono::steady_clock::time_point deadline) override;
  void unpark() noexcept override;
  void poll() override;

  // add_waiter: owner; queues `w` until readiness (its op's pending counts the list's reference).
  // Returns 0, or -errno when the fd cannot be armed (EPERM: a regular file or directory, which
  // epoll does not support); the waiter is then not linked and its op does not point at it.
  int add_waiter(EpollWaiter& w);
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
    EpollWaiter* head = nullptr;
    EpollWaiter* tail = nullptr;
    bool registered = false;  // we added it: try MOD first (a hint only: see fd reuse)
  };
  FdState& state(int fd);
  int arm(int fd, FdState& st);
  void unlink(FdState& st, EpollWaiter& w) noexcept;
  // complete: unlinks a waiter, gives its op `res` and drops `refs` of the op's references.
  void complete(FdState& st, EpollWaiter& w, int res, int refs) noexcept;
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
  const OpDesc* desc = nullptr;
  void run() noexcept override;
};

// pool_submit: runs `desc` for `op` (op.pending becomes 1, the job's reference) on the calling
// fiber's scheduler's blocking pool; `op`, `desc` and `job` must live until the job released `op`.
// False outside a scheduler.
bool pool_submit(EpollBackend& ep, IoOp& op, PoolJob& job, const OpDesc& desc);

// Readiness: what a non-blocking attempt that got EAGAIN waits for: an fd and events, or
// kDontWait (the caller asked for EAGAIN itself, e.g. MSG_DONTWAIT), or kOnPool (it would block
// on a file: the blocking pool runs it).
struct Readiness {
  static constexpr int kDontWait = -1, kOnPool = -2;
  int fd = kDontWait;
  std::uint32_t events = 0;
};

// epoll_attempt: one non-blocking try of a readiness-based operation (read, write, recv, send,
// ...). Returns the result, or -EAGAIN with what to wait for in `wait`.
int epoll_attempt(const OpDesc& desc, Readiness& wait);

// epoll_run: runs `sub` to its final results (in each op's res, timed_out and cancel_sent, as the
// ring leaves them) in the calling fiber: each operation in turn, a soft chain stopping at the
// first failure or short transfer (the rest get -ECANCELED), the deadline timing the last one.
void epoll_run(const Submission& sub);

}  // namespace weft::io
