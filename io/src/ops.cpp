// ops.cpp: every operation is a prep function run through submit() (the op protocol is argued in
// uring_driver.hpp).
#include <weft/io/ops.hpp>
#include <weft/sched/this_fiber.hpp>

#include "op_wait.hpp"
#include "uring_driver.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <poll.h>

#include <climits>

namespace weft::io {
namespace {

constexpr auto kNoDeadline = Clock::time_point::max();

unsigned clamp_len(std::size_t n) { return n > UINT_MAX ? UINT_MAX : static_cast<unsigned>(n); }

// submit: runs one operation, prepared by `prep` on an SQE, to its final completion. Returns the
// CQE result (>= 0) or the error.
template <class Prep>
Result<int> submit(Prep&& prep, Clock::time_point deadline = kNoDeadline) {
  sched::Task* self = sched::current_task();
  if (!self) return fail(errc::not_in_fiber);
  UringDriver* ring = current_uring();
  if (!ring) return fail(std::errc::function_not_supported);
  if (self->cancel_requested()) return fail(errc::cancelled);

  UringOp op;
  op.task = self;
  op.ring = ring;
  const bool timed = deadline != kNoDeadline;
  ring->reserve(timed ? 2 : 1);  // a linked pair must not be split by a submit in between
  io_uring_sqe* s = ring->sqe();
  prep(s);
  io_uring_sqe_set_data64(s, reinterpret_cast<std::uint64_t>(&op) | UringDriver::kTagMain);
  if (timed) {
    s->flags |= IOSQE_IO_LINK;
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(deadline.time_since_epoch()).count();
    op.deadline = __kernel_timespec{ns / 1'000'000'000, ns % 1'000'000'000};
    io_uring_sqe* t = ring->sqe();
    io_uring_prep_link_timeout(t, &op.deadline, IORING_TIMEOUT_ABS);  // steady_clock = CLOCK_MONOTONIC
    io_uring_sqe_set_data64(t, reinterpret_cast<std::uint64_t>(&op) | UringDriver::kTagTimeout);
  }
  op.pending.store(timed ? 2 : 1, std::memory_order_relaxed);
  ring->note_queued(timed ? 2 : 1);
  wait_for_completion(std::span(&op, 1), self);
  return op_result(op);
}

// request_cancel: one more SQE names the op (the cancel), submitted by the op's ring owner.
void request_cancel(UringOp& op) {
  op.cancel_sent = true;
  op.pending.fetch_add(1, std::memory_order_acq_rel);
  if (current_uring() == op.ring) {
    op.ring->queue_cancel(&op);
  } else {
    op.ring->post_cancel(&op);  // only the ring's owner submits to it
  }
}

}  // namespace

void wait_for_completion(std::span<UringOp> ops, sched::Task* self) {
  bool cancel_sent = false;
  for (;;) {
    bool all_done = true, settling = false;
    for (const UringOp& op : ops) {
      // acquire pairs with the reaper's release of `done`: res and timed_out are visible.
      if (op.done.load(std::memory_order_acquire)) continue;
      all_done = false;
      if (op.pending.load(std::memory_order_acquire) == 0) settling = true;
    }
    if (all_done) return;
    if (settling) {
      this_fiber::yield();  // a reaper is between its last decrement and `done`
      continue;
    }
    if (!cancel_sent && self->cancel_requested()) {
      cancel_sent = true;
      for (UringOp& op : ops) {
        if (op.pending.load(std::memory_order_acquire) != 0) request_cancel(op);
      }
    }
    sched::park();
  }
}

Result<int> op_result(const UringOp& op, bool cancelled_by_chain) {
  if (op.res >= 0) return op.res;
  if (op.res == -ECANCELED && op.timed_out) return fail(std::errc::timed_out);
  if (op.res == -ECANCELED && (op.cancel_sent || cancelled_by_chain)) return fail(errc::cancelled);
  return fail(std::error_code(-op.res, std::system_category()));
}

namespace {

Result<std::size_t> as_size(Result<int> r) {
  if (!r) return fail(r.error());
  return static_cast<std::size_t>(*r);
}
Result<void> as_void(Result<int> r) {
  if (!r) return fail(r.error());
  return {};
}

}  // namespace

Result<void> nop() {
  return as_void(submit([](io_uring_sqe* s) { io_uring_prep_nop(s); }));
}

Result<std::size_t> read(int fd, std::span<std::byte> buf) { return read_until(fd, buf, kNoDeadline); }
Result<std::size_t> read_until(int fd, std::span<std::byte> buf, Clock::time_point deadline) {
  return as_size(submit([&](io_uring_sqe* s) { io_uring_prep_read(s, fd, buf.data(), clamp_len(buf.size()), -1); },
                        deadline));
}
Result<std::size_t> read_at(int fd, std::span<std::byte> buf, std::uint64_t offset) {
  return as_size(submit([&](io_uring_sqe* s) { io_uring_prep_read(s, fd, buf.data(), clamp_len(buf.size()), offset); }));
}

Result<std::size_t> write(int fd, std::span<const std::byte> buf) { return write_until(fd, buf, kNoDeadline); }
Result<std::size_t> write_until(int fd, std::span<const std::byte> buf, Clock::time_point deadline) {
  return as_size(submit([&](io_uring_sqe* s) { io_uring_prep_write(s, fd, buf.data(), clamp_len(buf.size()), -1); },
                        deadline));
}
Result<std::size_t> write_at(int fd, std::span<const std::byte> buf, std::uint64_t offset) {
  return as_size(
      submit([&](io_uring_sqe* s) { io_uring_prep_write(s, fd, buf.data(), clamp_len(buf.size()), offset); }));
}

Result<std::size_t> readv(int fd, std::span<const iovec> iov, std::int64_t offset) {
  return as_size(submit([&](io_uring_sqe* s) {
    io_uring_prep_readv(s, fd, iov.data(), clamp_len(iov.size()), static_cast<std::uint64_t>(offset));
  }));
}
Result<std::size_t> writev(int fd, std::span<const iovec> iov, std::int64_t offset) {
  return as_size(submit([&](io_uring_sqe* s) {
    io_uring_prep_writev(s, fd, iov.data(), clamp_len(iov.size()), static_cast<std::uint64_t>(offset));
  }));
}

Result<std::size_t> recv(int fd, std::span<std::byte> buf, int flags) {
  return recv_until(fd, buf, kNoDeadline, flags);
}
Result<std::size_t> recv_until(int fd, std::span<std::byte> buf, Clock::time_point deadline, int flags) {
  return as_size(submit([&](io_uring_sqe* s) { io_uring_prep_recv(s, fd, buf.data(), buf.size(), flags); }, deadline));
}
Result<std::size_t> send(int fd, std::span<const std::byte> buf, int flags) {
  return send_until(fd, buf, kNoDeadline, flags);
}
Result<std::size_t> send_until(int fd, std::span<const std::byte> buf, Clock::time_point deadline, int flags) {
  return as_size(submit([&](io_uring_sqe* s) { io_uring_prep_send(s, fd, buf.data(), buf.size(), flags); }, deadline));
}

Result<int> accept(int fd, sockaddr* addr, socklen_t* len) { return accept_until(fd, kNoDeadline, addr, len); }
Result<int> accept_until(int fd, Clock::time_point deadline, sockaddr* addr, socklen_t* len) {
  return submit([&](io_uring_sqe* s) { io_uring_prep_accept(s, fd, addr, len, SOCK_CLOEXEC); }, deadline);
}
Result<void> connect(int fd, const sockaddr* addr, socklen_t len) { return connect_until(fd, addr, len, kNoDeadline); }
Result<void> connect_until(int fd, const sockaddr* addr, socklen_t len, Clock::time_point deadline) {
  return as_void(submit([&](io_uring_sqe* s) { io_uring_prep_connect(s, fd, addr, len); }, deadline));
}

Result<unsigned> poll(int fd, unsigned events) { return poll_until(fd, events, kNoDeadline); }
Result<unsigned> poll_until(int fd, unsigned events, Clock::time_point deadline) {
  auto r = submit([&](io_uring_sqe* s) { io_uring_prep_poll_add(s, fd, events); }, deadline);
  if (!r) return fail(r.error());
  return static_cast<unsigned>(*r);
}

Result<std::size_t> recvmsg(int fd, msghdr* msg, int flags) { return recvmsg_until(fd, msg, kNoDeadline, flags); }
Result<std::size_t> recvmsg_until(int fd, msghdr* msg, Clock::time_point deadline, int flags) {
  return as_size(
      submit([&](io_uring_sqe* s) { io_uring_prep_recvmsg(s, fd, msg, static_cast<unsigned>(flags)); }, deadline));
}
Result<std::size_t> sendmsg(int fd, const msghdr* msg, int flags) {
  return as_size(submit([&](io_uring_sqe* s) { io_uring_prep_sendmsg(s, fd, msg, static_cast<unsigned>(flags)); }));
}

Result<int> socket(int domain, int type, int protocol) {
  return submit([&](io_uring_sqe* s) { io_uring_prep_socket(s, domain, type | SOCK_CLOEXEC, protocol, 0); });
}
Result<void> bind(int fd, const sockaddr* addr, socklen_t len) {
  if (::bind(fd, addr, len) != 0) return fail(std::error_code(errno, std::system_category()));
  return {};
}
Result<void> listen(int fd, int backlog) {
  if (::listen(fd, backlog) != 0) return fail(std::error_code(errno, std::system_category()));
  return {};
}
Result<void> shutdown(int fd, int how) {
  return as_void(submit([&](io_uring_sqe* s) { io_uring_prep_shutdown(s, fd, how); }));
}

Result<std::size_t> splice(int fd_in, std::int64_t off_in, int fd_out, std::int64_t off_out, std::size_t len,
                           unsigned flags) {
  return as_size(submit([&](io_uring_sqe* s) {
    io_uring_prep_splice(s, fd_in, off_in, fd_out, off_out, clamp_len(len), flags);
  }));
}
Result<std::size_t> tee(int fd_in, int fd_out, std::size_t len, unsigned flags) {
  return as_size(submit([&](io_uring_sqe* s) { io_uring_prep_tee(s, fd_in, fd_out, clamp_len(len), flags); }));
}

Result<void> statx(int dirfd, const char* path, int flags, unsigned mask, struct statx* out) {
  return as_void(submit([&](io_uring_sqe* s) { io_uring_prep_statx(s, dirfd, path, flags, mask, out); }));
}
Result<void> fallocate(int fd, int mode, std::uint64_t offset, std::uint64_t len) {
  return as_void(submit([&](io_uring_sqe* s) { io_uring_prep_fallocate(s, fd, mode, offset, len); }));
}
Result<void> ftruncate(int fd, std::uint64_t len) {
  // IORING_OP_FTRUNCATE needs a newer liburing than Debian 12 ships; truncating does not wait on
  // the network or a peer, so it runs directly.
  if (::ftruncate(fd, static_cast<off_t>(len)) != 0) return fail(std::error_code(errno, std::system_category()));
  return {};
}
Result<void> renameat(int olddirfd, const char* oldpath, int newdirfd, const char* newpath, unsigned flags) {
  return as_void(submit([&](io_uring_sqe* s) { io_uring_prep_renameat(s, olddirfd, oldpath, newdirfd, newpath, flags); }));
}
Result<void> unlinkat(int dirfd, const char* path, int flags) {
  return as_void(submit([&](io_uring_sqe* s) { io_uring_prep_unlinkat(s, dirfd, path, flags); }));
}
Result<void> mkdirat(int dirfd, const char* path, unsigned mode) {
  return as_void(submit([&](io_uring_sqe* s) { io_uring_prep_mkdirat(s, dirfd, path, mode); }));
}
Result<void> symlinkat(const char* target, int newdirfd, const char* linkpath) {
  return as_void(submit([&](io_uring_sqe* s) { io_uring_prep_symlinkat(s, target, newdirfd, linkpath); }));
}
Result<void> linkat(int olddirfd, const char* oldpath, int newdirfd, const char* newpath, int flags) {
  return as_void(submit([&](io_uring_sqe* s) { io_uring_prep_linkat(s, olddirfd, oldpath, newdirfd, newpath, flags); }));
}

Result<int> openat(int dirfd, const char* path, int flags, unsigned mode) {
  return submit([&](io_uring_sqe* s) { io_uring_prep_openat(s, dirfd, path, flags, mode); });
}
Result<void> close(int fd) {
  // A cancelled task still closes: a close that did not happen would leak the fd, and one that
  // might have happened cannot be retried (the number may be reused).
  if (sched::Task* self = sched::current_task(); self && self->cancel_requested()) {
    if (::close(fd) != 0) return fail(std::error_code(errno, std::system_category()));
    return {};
  }
  return as_void(submit([&](io_uring_sqe* s) { io_uring_prep_close(s, fd); }));
}
Result<void> fsync(int fd) {
  return as_void(submit([&](io_uring_sqe* s) { io_uring_prep_fsync(s, fd, 0); }));
}
Result<void> fdatasync(int fd) {
  return as_void(submit([&](io_uring_sqe* s) { io_uring_prep_fsync(s, fd, IORING_FSYNC_DATASYNC); }));
}

}  // namespace weft::io
