// epoll_run.cpp: the operations on the epoll backend: each io_uring SQE read back into the syscall
// it stands for (field meanings as liburing's io_uring_prep_* write them).
//
// Three ways to run an operation:
// - direct: it cannot block (socket, shutdown, close, nop).
// - readiness: try the non-blocking form (MSG_DONTWAIT, RWF_NOWAIT, a non-blocking listener);
//   on EAGAIN wait in the worker's epoll (epoll_backend.hpp) and try again. The non-blocking forms
//   are per call, so the fd's own O_NONBLOCK flag is left as the user set it (except for accept
//   and connect, which have no per-call form).
// - pool: what epoll cannot wait for (file system calls; reads and writes of regular files that
//   would block) runs blocking on the scheduler's BlockingPool; the fiber waits for its result.
#include "epoll_backend.hpp"
#include "op_wait.hpp"

#include <weft/sched/blocking_pool.hpp>
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

using Clock = std::chrono::steady_clock;

int sys(long r) { return r < 0 ? -errno : static_cast<int>(r); }
void* ptr(std::uint64_t v) { return reinterpret_cast<void*>(static_cast<std::uintptr_t>(v)); }
const char* str(std::uint64_t v) { return static_cast<const char*>(ptr(v)); }
off_t offset_of(std::uint64_t off) { return off == ~std::uint64_t{0} ? -1 : static_cast<off_t>(off); }

// Readiness: what a non-blocking attempt that got EAGAIN waits for.
struct Readiness {
  int fd = -1;  // -1: do not wait (the caller asked for EAGAIN itself, e.g. MSG_DONTWAIT)
  std::uint32_t events = 0;
};

// run_blocking: the blocking form of an operation, on a pool thread.
int run_blocking(const io_uring_sqe& s) {
  switch (s.opcode) {
    case IORING_OP_OPENAT: return sys(::openat(s.fd, str(s.addr), static_cast<int>(s.open_flags), s.len));
    case IORING_OP_STATX:
      return sys(::statx(s.fd, str(s.addr), static_cast<int>(s.statx_flags), s.len,
                         static_cast<struct statx*>(ptr(s.off))));
    case IORING_OP_FSYNC: return sys((s.fsync_flags & IORING_FSYNC_DATASYNC) ? ::fdatasync(s.fd) : ::fsync(s.fd));
    case IORING_OP_FALLOCATE:
      return sys(::fallocate(s.fd, static_cast<int>(s.len), static_cast<off_t>(s.off), static_cast<off_t>(s.addr)));
    case IORING_OP_RENAMEAT:
      return sys(::renameat2(s.fd, str(s.addr), static_cast<int>(s.len), str(s.off), s.rename_flags));
    case IORING_OP_UNLINKAT: return sys(::unlinkat(s.fd, str(s.addr), static_cast<int>(s.unlink_flags)));
    case IORING_OP_MKDIRAT: return sys(::mkdirat(s.fd, str(s.addr), s.len));
    case IORING_OP_SYMLINKAT: return sys(::symlinkat(str(s.addr), s.fd, str(s.off)));
    case IORING_OP_LINKAT:
      return sys(::linkat(s.fd, str(s.addr), static_cast<int>(s.len), str(s.off), static_cast<int>(s.hardlink_flags)));
    case IORING_OP_READ: {
      iovec iov{ptr(s.addr), s.len};
      return sys(::preadv2(s.fd, &iov, 1, offset_of(s.off), 0));
    }
    case IORING_OP_WRITE: {
      iovec iov{ptr(s.addr), s.len};
      return sys(::pwritev2(s.fd, &iov, 1, offset_of(s.off), 0));
    }
    case IORING_OP_READV:
      return sys(::preadv2(s.fd, static_cast<const iovec*>(ptr(s.addr)), static_cast<int>(s.len), offset_of(s.off), 0));
    case IORING_OP_WRITEV:
      return sys(::pwritev2(s.fd, static_cast<const iovec*>(ptr(s.addr)), static_cast<int>(s.len), offset_of(s.off), 0));
    case IORING_OP_SPLICE: {
      loff_t in = static_cast<loff_t>(s.splice_off_in), out = static_cast<loff_t>(s.off);
      return sys(::splice(s.splice_fd_in, s.splice_off_in == ~std::uint64_t{0} ? nullptr : &in, s.fd,
                          s.off == ~std::uint64_t{0} ? nullptr : &out, s.len, s.splice_flags));
    }
    case IORING_OP_TEE: return sys(::tee(s.splice_fd_in, s.fd, s.len, s.splice_flags));
    default: return -EOPNOTSUPP;
  }
}

Result<int> on_pool(const io_uring_sqe& s, sched::Task* self) {
  EpollBackend* ep = current_epoll();
  if (!ep) return fail(std::errc::function_not_supported);
  IoOp op;
  op.task = self;
  op.backend = ep;
  PoolJob job;
  if (!pool_submit(*ep, op, job, s)) return fail(std::errc::function_not_supported);
  // No deadline here: a syscall running on a thread cannot be interrupted, so the op returns its
  // own result (a cancel request is noted and released by the backend).
  wait_for_completion(std::span(&op, 1), self);
  return op_result(op);
}

// Outcome of waiting for readiness.
enum class Wait { ready, not_pollable, timed_out, cancelled };

Wait await_ready(const Readiness& r, Clock::time_point deadline, sched::Task* self, int& error) {
  EpollBackend* ep = current_epoll();
  IoOp op;
  op.task = self;
  op.backend = ep;
  op.fd = r.fd;
  op.events = r.events;
  op.pending.store(1, std::memory_order_relaxed);
  if (const int rc = ep->add_waiter(op); rc < 0) {
    if (rc == -EPERM) return Wait::not_pollable;
    error = -rc;
    return Wait::ready;  // retrying reports the fd's own error (e.g. EBADF)
  }
  wait_for_completion(std::span(&op, 1), self, deadline);
  if (op.res >= 0) return Wait::ready;
  if (op.res == -EBADF) {  // evicted: the fd is being closed
    error = EBADF;
    return Wait::ready;
  }
  return op.timed_out ? Wait::timed_out : Wait::cancelled;
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
    wait = Readiness{-2, 0};  // to the pool
    return -EAGAIN;
  }
  int on = 1;
  ::ioctl(fd, FIONBIO, &on);
  return sys(write ? ::pwritev2(fd, iov, n, off, 0) : ::preadv2(fd, iov, n, off, 0));
}

// attempt: the non-blocking try of a readiness-based operation; -EAGAIN with `wait` set means
// "wait for that, then try again".
int attempt(const io_uring_sqe& s, Readiness& wait) {
  wait = Readiness{s.fd, EPOLLIN};
  const int dontwait = static_cast<int>(s.msg_flags) & MSG_DONTWAIT;
  switch (s.opcode) {
    case IORING_OP_READ: {
      iovec iov{ptr(s.addr), s.len};
      return nowait_rw(false, s.fd, &iov, 1, offset_of(s.off), wait);
    }
    case IORING_OP_READV:
      return nowait_rw(false, s.fd, static_cast<const iovec*>(ptr(s.addr)), static_cast<int>(s.len), offset_of(s.off), wait);
    case IORING_OP_WRITE: {
      wait.events = EPOLLOUT;
      iovec iov{ptr(s.addr), s.len};
      return nowait_rw(true, s.fd, &iov, 1, offset_of(s.off), wait);
    }
    case IORING_OP_WRITEV:
      wait.events = EPOLLOUT;
      return nowait_rw(true, s.fd, static_cast<const iovec*>(ptr(s.addr)), static_cast<int>(s.len), offset_of(s.off), wait);
    case IORING_OP_RECV:
      if (dontwait) wait.fd = -1;
      return sys(::recv(s.fd, ptr(s.addr), s.len, static_cast<int>(s.msg_flags) | MSG_DONTWAIT));
    case IORING_OP_SEND:
      if (dontwait) wait.fd = -1;
      wait.events = EPOLLOUT;
      return sys(::send(s.fd, ptr(s.addr), s.len, static_cast<int>(s.msg_flags) | MSG_DONTWAIT));
    case IORING_OP_RECVMSG:
      if (dontwait) wait.fd = -1;
      return sys(::recvmsg(s.fd, static_cast<msghdr*>(ptr(s.addr)), static_cast<int>(s.msg_flags) | MSG_DONTWAIT));
    case IORING_OP_SENDMSG:
      if (dontwait) wait.fd = -1;
      wait.events = EPOLLOUT;
      return sys(::sendmsg(s.fd, static_cast<const msghdr*>(ptr(s.addr)), static_cast<int>(s.msg_flags) | MSG_DONTWAIT));
    case IORING_OP_ACCEPT: {
      int on = 1;  // accept4 has no per-call non-blocking flag
      if (::ioctl(s.fd, FIONBIO, &on) != 0) return -errno;
      return sys(::accept4(s.fd, static_cast<sockaddr*>(ptr(s.addr)), static_cast<socklen_t*>(ptr(s.off)),
                           static_cast<int>(s.accept_flags)));
    }
    case IORING_OP_POLL_ADD: {
      // poll(2) skips a negative fd (and -1 would read as "do not wait" here); io_uring says EBADF.
      if (s.fd < 0) return -EBADF;
      pollfd p{s.fd, static_cast<short>(s.poll32_events), 0};
      wait.events = s.poll32_events;
      const int r = ::poll(&p, 1, 0);
      if (r < 0) return -errno;
      if (p.revents & POLLNVAL) return -EBADF;
      return r > 0 ? p.revents : -EAGAIN;
    }
    case IORING_OP_SPLICE:
    case IORING_OP_TEE: {
      loff_t in = static_cast<loff_t>(s.splice_off_in), out = static_cast<loff_t>(s.off);
      const bool tee = s.opcode == IORING_OP_TEE;
      const long r = tee ? ::tee(s.splice_fd_in, s.fd, s.len, s.splice_flags | SPLICE_F_NONBLOCK)
                         : ::splice(s.splice_fd_in, s.splice_off_in == ~std::uint64_t{0} ? nullptr : &in, s.fd,
                                    s.off == ~std::uint64_t{0} ? nullptr : &out, s.len,
                                    s.splice_flags | SPLICE_F_NONBLOCK);
      if (r >= 0 || errno != EAGAIN) return sys(r);
      // Which side is not ready? Wait for that one; if both look ready, a file side blocks.
      pollfd p[2] = {{s.splice_fd_in, POLLIN, 0}, {s.fd, POLLOUT, 0}};
      ::poll(p, 2, 0);
      if (!(p[0].revents & (POLLIN | POLLHUP | POLLERR))) {
        wait = Readiness{s.splice_fd_in, EPOLLIN};
      } else if (!(p[1].revents & (POLLOUT | POLLERR))) {
        wait = Readiness{s.fd, EPOLLOUT};
      } else {
        wait = Readiness{-2, 0};  // to the pool
      }
      return -EAGAIN;
    }
    default: return -EOPNOTSUPP;
  }
}

// connect_op: connect has no per-call non-blocking form: make the socket non-blocking for the
// call, wait for writability on EINPROGRESS, then read the outcome from SO_ERROR.
Result<int> connect_op(const io_uring_sqe& s, Clock::time_point deadline, sched::Task* self) {
  const int flags = ::fcntl(s.fd, F_GETFL);
  if (flags < 0) return fail(std::error_code(errno, std::system_category()));
  if (!(flags & O_NONBLOCK) && ::fcntl(s.fd, F_SETFL, flags | O_NONBLOCK) != 0) {
    return fail(std::error_code(errno, std::system_category()));
  }
  int r = sys(::connect(s.fd, static_cast<const sockaddr*>(ptr(s.addr)), static_cast<socklen_t>(s.off)));
  if (!(flags & O_NONBLOCK)) ::fcntl(s.fd, F_SETFL, flags);
  if (r == 0) return 0;
  if (r != -EINPROGRESS && r != -EAGAIN) return fail(std::error_code(-r, std::system_category()));
  int error = 0;
  switch (await_ready(Readiness{s.fd, EPOLLOUT}, deadline, self, error)) {
    case Wait::timed_out: return fail(std::errc::timed_out);
    case Wait::cancelled: return fail(errc::cancelled);
    case Wait::not_pollable: return fail(std::errc::not_a_socket);
    case Wait::ready: break;
  }
  if (error) return fail(std::error_code(error, std::system_category()));
  socklen_t len = sizeof error;
  if (::getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &error, &len) != 0) error = errno;
  if (error) return fail(std::error_code(error, std::system_category()));
  return 0;
}

Result<int> readiness_op(const io_uring_sqe& s, Clock::time_point deadline, sched::Task* self) {
  for (;;) {
    Readiness wait;
    const int r = attempt(s, wait);
    if (r != -EAGAIN || wait.fd == -1) {
      if (r >= 0) return r;
      return fail(std::error_code(-r, std::system_category()));
    }
    if (wait.fd == -2) return on_pool(s, self);
    if (self->cancel_requested()) return fail(errc::cancelled);
    if (deadline != Clock::time_point::max() && Clock::now() >= deadline) return fail(std::errc::timed_out);
    int error = 0;
    switch (await_ready(wait, deadline, self, error)) {
      case Wait::ready: break;
      case Wait::not_pollable: return on_pool(s, self);  // a regular file whose data is not cached
      case Wait::timed_out: return fail(std::errc::timed_out);
      case Wait::cancelled: return fail(errc::cancelled);
    }
    if (error) return fail(std::error_code(error, std::system_category()));
  }
}

}  // namespace

bool pool_submit(EpollBackend& ep, IoOp& op, PoolJob& job, const io_uring_sqe& sqe) {
  sched::Scheduler* sch = sched::Scheduler::current();  // the calling fiber's: valid while it waits
  if (!sch) return false;
  op.pending.store(1, std::memory_order_relaxed);
  job.op = &op;
  job.sqe = &sqe;
  ep.count_pool_op();
  sch->blocking_pool().submit(job);
  return true;
}

void PoolJob::run() noexcept {
  op->res = run_blocking(*sqe);
  release_refs(*op, 1);  // the last touch: the fiber may return at once
}

int epoll_attempt(const io_uring_sqe& sqe, int& wait_fd, std::uint32_t& wait_events) {
  Readiness r;
  const int res = attempt(sqe, r);
  wait_fd = r.fd;
  wait_events = r.events;
  return res;
}

Result<int> epoll_execute(const io_uring_sqe& s, Clock::time_point deadline, sched::Task* self) {
  switch (s.opcode) {
    case IORING_OP_NOP: return 0;
    case IORING_OP_SOCKET: {
      const int fd = ::socket(s.fd, static_cast<int>(s.off), static_cast<int>(s.len));
      if (fd < 0) return fail(std::error_code(errno, std::system_category()));
      return fd;
    }
    case IORING_OP_SHUTDOWN:
      if (::shutdown(s.fd, static_cast<int>(s.len)) != 0) return fail(std::error_code(errno, std::system_category()));
      return 0;
    case IORING_OP_CLOSE:  // its waiters were ended already (io::close, cancel_fd_everywhere)
      if (::close(s.fd) != 0) return fail(std::error_code(errno, std::system_category()));
      return 0;
    case IORING_OP_CONNECT: return connect_op(s, deadline, self);
    case IORING_OP_OPENAT:
    case IORING_OP_STATX:
    case IORING_OP_FSYNC:
    case IORING_OP_FALLOCATE:
    case IORING_OP_RENAMEAT:
    case IORING_OP_UNLINKAT:
    case IORING_OP_MKDIRAT:
    case IORING_OP_SYMLINKAT:
    case IORING_OP_LINKAT: return on_pool(s, self);
    default: return readiness_op(s, deadline, self);
  }
}

}  // namespace weft::io
