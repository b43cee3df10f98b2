// epoll_run.cpp: the epoll translation of an operation's description (op_desc.hpp), run in the
// calling fiber. Three ways to run one:
// - direct: it cannot block (socket, shutdown, close, nop): its blocking syscall at once.
// - readiness: try the non-blocking form (MSG_DONTWAIT, RWF_NOWAIT, a non-blocking listener);
//   on EAGAIN wait in the worker's epoll (epoll_backend.hpp) and try again. The non-blocking forms
//   are per call, so the fd's own O_NONBLOCK flag is left as the user set it (except for accept
//   and connect, which have no per-call form).
// - pool: what epoll cannot wait for (file system calls; reads and writes of regular files that
//   would block) runs blocking on the scheduler's BlockingPool; the fiber waits for its result.
// A fiber may move to another worker at every wait, so each wait looks up the epoll backend of the
// worker it runs on then. Results go into the op's common core as the ring leaves them (io_op.hpp):
// res, and timed_out / cancel_sent for an op that ended with -ECANCELED.
#include "blocking_syscall.hpp"
#include "epoll_backend.hpp"
#include "op_wait.hpp"

#include <weft/sched/scheduler.hpp>

#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>

namespace weft::io {
namespace {

int sys(long r) { return r < 0 ? -errno : static_cast<int>(r); }
off_t offset_of(std::uint64_t off) { return off == kAtPosition ? -1 : static_cast<off_t>(off); }

// begin_wait: makes `op` (finished with any earlier wait) ready for the next one on `ep`.
void begin_wait(IoOp& op, EpollBackend& ep) noexcept {
  op.backend = &ep;
  op.backend_state = nullptr;
  op.done.store(false, std::memory_order_relaxed);
}

int on_pool(const OpDesc& d, IoOp& op) {
  EpollBackend& ep = *current_epoll();  // the worker it runs on now
  begin_wait(op, ep);
  PoolJob job;
  if (!pool_submit(ep, op, job, d)) return -ENOSYS;
  // No deadline here: a syscall running on a thread cannot be interrupted, so the op returns its
  // own result (a cancel request is noted and released by the backend).
  wait_for_completion(std::span(&op, 1), op.task);
  return op.res;
}

// await_ready: waits for `r`; returns 0 when ready (try again), else -errno: the error arming it
// (-EPERM: the fd cannot be waited for, the pool runs it), -EBADF (its fd is being closed), or
// -ECANCELED (cancelled or timed out, as the op's flags say).
int await_ready(const Readiness& r, IoOp& op, Clock::time_point deadline) {
  EpollBackend& ep = *current_epoll();  // the worker it runs on now
  begin_wait(op, ep);
  EpollWaiter w{.op = &op, .fd = r.fd, .events = r.events};
  op.pending.store(1, std::memory_order_relaxed);
  if (const int rc = ep.add_waiter(w); rc < 0) {
    op.pending.store(0, std::memory_order_relaxed);
    return rc;
  }
  wait_for_completion(std::span(&op, 1), op.task, deadline);
  op.backend_state = nullptr;
  return op.res >= 0 ? 0 : op.res;
}

// nowait_rw: preadv2/pwritev2 with RWF_NOWAIT; a file type that does not support it
// (EOPNOTSUPP: older kernels' pipes, ttys) is switched to O_NONBLOCK once, as Go does. A file
// (regular, block device, directory) without it goes to the pool: readiness says nothing about
// whether its IO blocks, and one whose poll says "always ready" (/proc, /sys) would spin.
int nowait_rw(bool write, int fd, const iovec* iov, int n, off_t off, Readiness& wait) {
  long r = write ? ::pwritev2(fd, iov, n, off, RWF_NOWAIT) : ::preadv2(fd, iov, n, off, RWF_NOWAIT);
  if (r >= 0 || errno != EOPNOTSUPP) return sys(r);
  struct stat st {};
  if (::fstat(fd, &st) == 0 && (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode) || S_ISDIR(st.st_mode))) {
    wait = Readiness{Readiness::kOnPool, 0};
    return -EAGAIN;
  }
  int on = 1;
  ::ioctl(fd, FIONBIO, &on);
  return sys(write ? ::pwritev2(fd, iov, n, off, 0) : ::preadv2(fd, iov, n, off, 0));
}

// connect_op: connect has no per-call non-blocking form: make the socket non-blocking for the
// call, wait for writability on EINPROGRESS, then read the outcome from SO_ERROR.
int connect_op(const OpDesc& d, IoOp& op, Clock::time_point deadline) {
  const int flags = ::fcntl(d.fd, F_GETFL);
  if (flags < 0) return -errno;
  if (!(flags & O_NONBLOCK) && ::fcntl(d.fd, F_SETFL, flags | O_NONBLOCK) != 0) return -errno;
  const int r = sys(::connect(d.fd, d.address.addr, d.address.len));
  if (!(flags & O_NONBLOCK)) ::fcntl(d.fd, F_SETFL, flags);
  if (r == 0) return 0;
  if (r != -EINPROGRESS && r != -EAGAIN) return r;
  if (const int rc = await_ready(Readiness{d.fd, EPOLLOUT}, op, deadline); rc < 0) {
    return rc == -EPERM ? -ENOTSOCK : rc;
  }
  int error = 0;
  socklen_t len = sizeof error;
  if (::getsockopt(d.fd, SOL_SOCKET, SO_ERROR, &error, &len) != 0) error = errno;
  return -error;
}

// readiness_op: attempt, wait for readiness, attempt again, until it does not say EAGAIN.
int readiness_op(const OpDesc& d, IoOp& op, Clock::time_point deadline) {
  for (;;) {
    Readiness wait;
    const int r = epoll_attempt(d, wait);
    if (r != -EAGAIN || wait.fd == Readiness::kDontWait) return r;
    if (wait.fd == Readiness::kOnPool) return on_pool(d, op);
    if (op.task->cancel_requested()) {
      op.cancel_sent = true;
      return -ECANCELED;
    }
    if (deadline != kNoDeadline && Clock::now() >= deadline) {
      op.timed_out = true;
      return -ECANCELED;
    }
    const int rc = await_ready(wait, op, deadline);
    if (rc == -EPERM) return on_pool(d, op);  // a regular file whose data is not cached
    if (rc < 0) return rc;
  }
}

// execute: runs one operation to its result (-errno on failure).
int execute(const OpDesc& d, IoOp& op, Clock::time_point deadline) {
  switch (d.kind) {
    case OpKind::nop:
    case OpKind::socket:
    case OpKind::shutdown:
    case OpKind::close:  // its waiters were ended already (io::close, cancel_fd_everywhere)
    case OpKind::bind:
    case OpKind::listen:
    case OpKind::ftruncate: return blocking_syscall(d);
    case OpKind::connect: return connect_op(d, op, deadline);
    case OpKind::openat:
    case OpKind::statx:
    case OpKind::fsync:
    case OpKind::fdatasync:
    case OpKind::fallocate:
    case OpKind::renameat:
    case OpKind::unlinkat:
    case OpKind::mkdirat:
    case OpKind::symlinkat:
    case OpKind::linkat: return on_pool(d, op);
    default: return readiness_op(d, op, deadline);
  }
}

}  // namespace

bool pool_submit(EpollBackend& ep, IoOp& op, PoolJob& job, const OpDesc& desc) {
  sched::Scheduler* sch = sched::Scheduler::current();  // the calling fiber's: valid while it waits
  if (!sch) return false;
  op.pending.store(1, std::memory_order_relaxed);
  job.op = &op;
  job.desc = &desc;
  ep.count_pool_op();
  sch->blocking_pool().submit(job);
  return true;
}

void PoolJob::run() noexcept {
  op->res = blocking_syscall(*desc);
  release_refs(*op, 1);  // the last touch: the fiber may return at once
}

int epoll_attempt(const OpDesc& d, Readiness& wait) {
  wait = Readiness{d.fd, EPOLLIN};
  switch (d.kind) {
    case OpKind::read: {
      iovec iov{d.buffer.data, d.buffer.len};
      return nowait_rw(false, d.fd, &iov, 1, offset_of(d.buffer.offset), wait);
    }
    case OpKind::readv:
      return nowait_rw(false, d.fd, d.vector.iov, static_cast<int>(d.vector.count), offset_of(d.vector.offset), wait);
    case OpKind::write: {
      wait.events = EPOLLOUT;
      iovec iov{d.buffer.data, d.buffer.len};
      return nowait_rw(true, d.fd, &iov, 1, offset_of(d.buffer.offset), wait);
    }
    case OpKind::writev:
      wait.events = EPOLLOUT;
      return nowait_rw(true, d.fd, d.vector.iov, static_cast<int>(d.vector.count), offset_of(d.vector.offset), wait);
    case OpKind::recv:
      if (d.buffer.flags & MSG_DONTWAIT) wait.fd = Readiness::kDontWait;
      return sys(::recv(d.fd, d.buffer.data, d.buffer.len, d.buffer.flags | MSG_DONTWAIT));
    case OpKind::send:
      if (d.buffer.flags & MSG_DONTWAIT) wait.fd = Readiness::kDontWait;
      wait.events = EPOLLOUT;
      return sys(::send(d.fd, d.buffer.data, d.buffer.len, d.buffer.flags | MSG_DONTWAIT));
    case OpKind::recvmsg:
      if (d.message.flags & MSG_DONTWAIT) wait.fd = Readiness::kDontWait;
      return sys(::recvmsg(d.fd, d.message.msg, d.message.flags | MSG_DONTWAIT));
    case OpKind::sendmsg:
      if (d.message.flags & MSG_DONTWAIT) wait.fd = Readiness::kDontWait;
      wait.events = EPOLLOUT;
      return sys(::sendmsg(d.fd, d.message.msg, d.message.flags | MSG_DONTWAIT));
    case OpKind::accept: {
      int on = 1;  // accept4 has no per-call non-blocking flag
      if (::ioctl(d.fd, FIONBIO, &on) != 0) return -errno;
      return sys(::accept4(d.fd, d.accept.addr, d.accept.addr_len, d.accept.flags));
    }
    case OpKind::poll: {
      // poll(2) skips a negative fd (and -1 would read as "do not wait" here); io_uring says EBADF.
      if (d.fd < 0) return -EBADF;
      pollfd p{d.fd, static_cast<short>(d.value), 0};
      wait.events = d.value;
      const int r = ::poll(&p, 1, 0);
      if (r < 0) return -errno;
      if (p.revents & POLLNVAL) return -EBADF;
      return r > 0 ? p.revents : -EAGAIN;
    }
    case OpKind::splice:
    case OpKind::tee: {
      OpDesc nonblocking = d;
      nonblocking.splice.flags |= SPLICE_F_NONBLOCK;
      const int r = blocking_syscall(nonblocking);
      if (r != -EAGAIN) return r;
      // Which side is not ready? Wait for that one; if both look ready, a file side blocks.
      pollfd p[2] = {{d.splice.fd_in, POLLIN, 0}, {d.fd, POLLOUT, 0}};
      ::poll(p, 2, 0);
      if (!(p[0].revents & (POLLIN | POLLHUP | POLLERR))) {
        wait = Readiness{d.splice.fd_in, EPOLLIN};
      } else if (!(p[1].revents & (POLLOUT | POLLERR))) {
        wait = Readiness{d.fd, EPOLLOUT};
      } else {
        wait = Readiness{Readiness::kOnPool, 0};
      }
      return -EAGAIN;
    }
    default: return -EOPNOTSUPP;
  }
}

void epoll_run(const Submission& sub) {
  bool broken = false;
  for (std::size_t i = 0; i < sub.ops.size(); ++i) {
    const OpDesc& d = sub.descs[i];
    IoOp& op = sub.ops[i];
    if (broken) {  // a soft chain stopped: the rest are cancelled, as the kernel cancels them
      op.res = -ECANCELED;
      continue;
    }
    if (op.task->cancel_requested()) {
      op.cancel_sent = true;
      op.res = -ECANCELED;
    } else {
      op.res = execute(d, op, i + 1 == sub.ops.size() ? sub.deadline : kNoDeadline);
    }
    broken = sub.mode == LinkMode::soft && (op.res < 0 || static_cast<unsigned>(op.res) < asked_len(d));
  }
}

}  // namespace weft::io
