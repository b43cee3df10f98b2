// ops.cpp: every operation is a prep function run through submit() (the op protocol is argued in
// io_op.hpp).
#include <weft/io/ops.hpp>
#include <weft/sched/this_fiber.hpp>

#include "epoll_backend.hpp"
#include "op_desc.hpp"
#include "op_wait.hpp"
#include "positional.hpp"
#include "uring_backend.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <poll.h>

#include <algorithm>
#include <climits>

namespace weft::io {
namespace {

constexpr auto kNoDeadline = Clock::time_point::max();

// iov_count: an iovec count as an SQE's (the kernel refuses more than UIO_MAXIOV with EINVAL).
unsigned iov_count(std::span<const iovec> iov) {
  return static_cast<unsigned>(std::min<std::size_t>(iov.size(), UINT_MAX));
}

// submit_uring: the op's SQE (and its linked timeout) on the worker's ring, or, when the ring is at
// its in-flight cap, in the ring's queue for room (uring_backend.hpp); then the wait.
template <class Prep>
Result<int> submit_uring(UringBackend& ring, Prep& prep, Clock::time_point deadline, sched::Task* self) {
  IoOp op;
  op.task = self;
  op.backend = &ring;
  const bool timed = deadline != kNoDeadline;
  const unsigned slots = timed ? 2 : 1;
  op.pending.store(static_cast<int>(slots), std::memory_order_relaxed);
  auto fill = [&](io_uring_sqe* s, io_uring_sqe* t) {
    prep(s);
    io_uring_sqe_set_data64(s, reinterpret_cast<std::uint64_t>(&op) | UringBackend::kTagMain);
    if (!timed) return;
    s->flags |= IOSQE_IO_LINK;
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(deadline.time_since_epoch()).count();
    op.deadline = __kernel_timespec{ns / 1'000'000'000, ns % 1'000'000'000};
    io_uring_prep_link_timeout(t, &op.deadline, IORING_TIMEOUT_ABS);  // steady_clock = CLOCK_MONOTONIC
    io_uring_sqe_set_data64(t, reinterpret_cast<std::uint64_t>(&op) | UringBackend::kTagTimeout);
  };
  if (ring.has_room(slots)) {
    ring.reserve(slots);  // a linked pair must not be split by a submit in between
    io_uring_sqe* s = ring.sqe();
    fill(s, timed ? ring.sqe() : nullptr);
    ring.note_queued(slots);
    wait_for_completion(std::span(&op, 1), self);
    return op_result(op);
  }
  SqeImages<2> images;
  io_uring_sqe* s = images.next();
  fill(s, timed ? images.next() : nullptr);
  Deferred d{.ops = std::span(&op, 1), .sqes = images.data(), .slots = slots, .timed = timed ? &op : nullptr};
  ring.defer(d);
  // The linked timeout only starts once the SQEs reach the kernel: the fiber keeps the deadline
  // meanwhile (when it passes first, the cancel takes the op out of the queue).
  wait_for_completion(std::span(&op, 1), self, deadline);
  return op_result(op);
}

// submit: runs one operation, described by `prep` on an SQE, to its final completion on the
// calling worker's backend: on io_uring the SQE goes to the ring; on epoll it is interpreted
// (epoll_backend.hpp). Returns the result (>= 0) or the error.
template <class Prep>
Result<int> submit(Prep&& prep, Clock::time_point deadline = kNoDeadline) {
  sched::Task* self = sched::current_task();
  if (!self) return fail(errc::not_in_fiber);
  if (self->cancel_requested()) return fail(errc::cancelled);
  if (UringBackend* ring = current_uring()) return submit_uring(*ring, prep, deadline, self);
  if (current_epoll()) {
    io_uring_sqe sqe{};
    prep(&sqe);
    return epoll_execute(sqe, deadline, self);
  }
  return fail(std::errc::function_not_supported);
}

}  // namespace

namespace {

Result<std::size_t> as_size(Result<int> r) {
  if (!r) return fail(r.error());
  return static_cast<std::size_t>(*r);
}
Result<void> as_void(Result<int> r) {
  if (!r) return fail(r.error());
  return {};
}

// has_no_position: whether a positional operation on `fd` must fail with ESPIPE before it runs.
// pread(2)/pwrite(2) refuse an fd without a file position (a pipe, FIFO, socket, tty), and so do
// epoll's preadv2/pwritev2; io_uring ignores the offset there and reads or writes the stream,
// taking the data. So on io_uring a positional operation asks lseek(fd, 0, SEEK_CUR) first, which
// fails with ESPIPE for exactly those (nonseekable_open and stream_open clear FMODE_LSEEK with
// FMODE_PREAD and FMODE_PWRITE). One syscall per call, paid only on io_uring and only on raw fds:
// File asks once when it opens. Cheaper checks do not hold: the result comes too late (the data is
// taken by then), and a cache by fd number goes stale when the number is closed (raw close(2)
// included) and reused.
bool has_no_position(int fd) { return current_uring() && ::lseek(fd, 0, SEEK_CUR) < 0 && errno == ESPIPE; }

const std::error_code kEspipe(ESPIPE, std::system_category());

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
  if (has_no_position(fd)) return fail(kEspipe);
  return read_at_unchecked(fd, buf, offset);
}
Result<std::size_t> read_at_unchecked(int fd, std::span<std::byte> buf, std::uint64_t offset) {
  return as_size(submit([&](io_uring_sqe* s) { io_uring_prep_read(s, fd, buf.data(), clamp_len(buf.size()), offset); }));
}

Result<std::size_t> write(int fd, std::span<const std::byte> buf) { return write_until(fd, buf, kNoDeadline); }
Result<std::size_t> write_until(int fd, std::span<const std::byte> buf, Clock::time_point deadline) {
  return as_size(submit([&](io_uring_sqe* s) { io_uring_prep_write(s, fd, buf.data(), clamp_len(buf.size()), -1); },
                        deadline));
}
Result<std::size_t> write_at(int fd, std::span<const std::byte> buf, std::uint64_t offset) {
  if (has_no_position(fd)) return fail(kEspipe);
  return write_at_unchecked(fd, buf, offset);
}
Result<std::size_t> write_at_unchecked(int fd, std::span<const std::byte> buf, std::uint64_t offset) {
  return as_size(
      submit([&](io_uring_sqe* s) { io_uring_prep_write(s, fd, buf.data(), clamp_len(buf.size()), offset); }));
}

Result<std::size_t> readv(int fd, std::span<const iovec> iov, std::int64_t offset) {
  if (offset >= 0 && has_no_position(fd)) return fail(kEspipe);
  return as_size(submit([&](io_uring_sqe* s) {
    io_uring_prep_readv(s, fd, iov.data(), iov_count(iov), static_cast<std::uint64_t>(offset));
  }));
}
Result<std::size_t> writev(int fd, std::span<const iovec> iov, std::int64_t offset) {
  if (offset >= 0 && has_no_position(fd)) return fail(kEspipe);
  return as_size(submit([&](io_uring_sqe* s) {
    io_uring_prep_writev(s, fd, iov.data(), iov_count(iov), static_cast<std::uint64_t>(offset));
  }));
}

Result<std::size_t> recv(int fd, std::span<std::byte> buf, int flags) {
  return recv_until(fd, buf, kNoDeadline, flags);
}
Result<std::size_t> recv_until(int fd, std::span<std::byte> buf, Clock::time_point deadline, int flags) {
  return as_size(submit([&](io_uring_sqe* s) { io_uring_prep_recv(s, fd, buf.data(), clamp_len(buf.size()), flags); }, deadline));
}
Result<std::size_t> send(int fd, std::span<const std::byte> buf, int flags) {
  return send_until(fd, buf, kNoDeadline, flags);
}
Result<std::size_t> send_until(int fd, std::span<const std::byte> buf, Clock::time_point deadline, int flags) {
  return as_size(submit([&](io_uring_sqe* s) { io_uring_prep_send(s, fd, buf.data(), clamp_len(buf.size()), flags); }, deadline));
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
  sched::Task* self = sched::current_task();
  if (!self) return fail(errc::not_in_fiber);  // before ending anything: like every operation
  cancel_fd_everywhere(fd);  // the ops waiting on it end first, with EBADF (io_op.hpp)
  // A cancelled task still closes: a close that did not happen would leak the fd, and one that
  // might have happened cannot be retried (the number may be reused).
  if (self->cancel_requested()) {
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

Result<void> eventfd_notify(int fd, std::uint64_t n) {
  // A write of 0 would wake nobody. EINVAL in system_category, as the kernel's own EINVAL (ops.hpp).
  if (n == 0) return fail(std::error_code(EINVAL, std::system_category()));
  auto r = write(fd, std::as_bytes(std::span(&n, 1)));
  if (!r) return fail(r.error());
  return {};
}
Result<std::uint64_t> eventfd_wait(int fd) { return eventfd_wait_until(fd, kNoDeadline); }
Result<std::uint64_t> eventfd_wait_until(int fd, Clock::time_point deadline) {
  std::uint64_t v = 0;
  auto r = read_until(fd, std::as_writable_bytes(std::span(&v, 1)), deadline);
  if (!r) return fail(r.error());
  if (*r != sizeof v) return fail(std::error_code(EINVAL, std::system_category()));  // not an eventfd
  return v;
}

}  // namespace weft::io
