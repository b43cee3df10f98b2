// ops.cpp: every operation is a description (op_desc.hpp) run through the dispatch point
// (dispatch.hpp); the op protocol is argued in io_op.hpp.
#include <weft/io/ops.hpp>

#include "blocking_syscall.hpp"
#include "dispatch.hpp"
#include "errno_result.hpp"
#include "positional.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>

namespace weft::io {
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
bool has_no_position(int fd) {
  return offsets_need_position_check() && ::lseek(fd, 0, SEEK_CUR) < 0 && errno == ESPIPE;
}

const std::error_code kEspipe = errno_error(ESPIPE);

OpDesc desc_vector(OpKind k, int fd, std::span<const iovec> iov, std::int64_t offset) {
  OpDesc d(k, fd);
  // The kernel refuses more than UIO_MAXIOV iovecs with EINVAL; a count past 32 bits would wrap.
  d.vector = {iov.data(), static_cast<unsigned>(std::min<std::size_t>(iov.size(), UINT_MAX)),
              static_cast<std::uint64_t>(offset)};
  return d;
}
OpDesc desc_message(OpKind k, int fd, const msghdr* msg, int flags) {
  OpDesc d(k, fd);
  d.message = {const_cast<msghdr*>(msg), flags};
  return d;
}
OpDesc desc_value(OpKind k, int fd, unsigned value) {
  OpDesc d(k, fd);
  d.value = value;
  return d;
}
OpDesc desc_address(OpKind k, int fd, const sockaddr* addr, socklen_t len) {
  OpDesc d(k, fd);
  d.address = {addr, len};
  return d;
}
OpDesc desc_path(OpKind k, int dirfd, const char* path, int flags, unsigned mode, struct statx* out = nullptr) {
  OpDesc d(k, dirfd);
  d.path = {path, flags, mode, out};
  return d;
}
OpDesc desc_paths(OpKind k, int dirfd, const char* old_path, int new_dirfd, const char* new_path, unsigned flags) {
  OpDesc d(k, dirfd);
  d.paths = {old_path, new_dirfd, new_path, flags};
  return d;
}
OpDesc desc_range(OpKind k, int fd, int mode, std::uint64_t offset, std::uint64_t len) {
  OpDesc d(k, fd);
  d.range = {mode, offset, len};
  return d;
}
OpDesc desc_splice(OpKind k, int fd_in, std::int64_t off_in, int fd_out, std::int64_t off_out, std::size_t len,
                   unsigned flags) {
  OpDesc d(k, fd_out);
  d.splice = {fd_in, clamp_len(len), flags, static_cast<std::uint64_t>(off_in), static_cast<std::uint64_t>(off_out)};
  return d;
}

}  // namespace

Result<void> nop() { return as_void(run_op(OpDesc())); }

Result<std::size_t> read(int fd, std::span<std::byte> buf) { return read_until(fd, buf, kNoDeadline); }
Result<std::size_t> read_until(int fd, std::span<std::byte> buf, Clock::time_point deadline) {
  return as_size(run_op(desc_read(fd, buf), deadline));
}
Result<std::size_t> read_at(int fd, std::span<std::byte> buf, std::uint64_t offset) {
  if (has_no_position(fd)) return fail(kEspipe);
  return read_at_unchecked(fd, buf, offset);
}
Result<std::size_t> read_at_unchecked(int fd, std::span<std::byte> buf, std::uint64_t offset) {
  return as_size(run_op(desc_read(fd, buf, offset)));
}

Result<std::size_t> write(int fd, std::span<const std::byte> buf) { return write_until(fd, buf, kNoDeadline); }
Result<std::size_t> write_until(int fd, std::span<const std::byte> buf, Clock::time_point deadline) {
  return as_size(run_op(desc_write(fd, buf), deadline));
}
Result<std::size_t> write_at(int fd, std::span<const std::byte> buf, std::uint64_t offset) {
  if (has_no_position(fd)) return fail(kEspipe);
  return write_at_unchecked(fd, buf, offset);
}
Result<std::size_t> write_at_unchecked(int fd, std::span<const std::byte> buf, std::uint64_t offset) {
  return as_size(run_op(desc_write(fd, buf, offset)));
}

Result<std::size_t> readv(int fd, std::span<const iovec> iov, std::int64_t offset) {
  if (offset >= 0 && has_no_position(fd)) return fail(kEspipe);
  return as_size(run_op(desc_vector(OpKind::readv, fd, iov, offset)));
}
Result<std::size_t> writev(int fd, std::span<const iovec> iov, std::int64_t offset) {
  if (offset >= 0 && has_no_position(fd)) return fail(kEspipe);
  return as_size(run_op(desc_vector(OpKind::writev, fd, iov, offset)));
}

Result<std::size_t> recv(int fd, std::span<std::byte> buf, int flags) {
  return recv_until(fd, buf, kNoDeadline, flags);
}
Result<std::size_t> recv_until(int fd, std::span<std::byte> buf, Clock::time_point deadline, int flags) {
  return as_size(run_op(desc_recv(fd, buf, flags), deadline));
}
Result<std::size_t> send(int fd, std::span<const std::byte> buf, int flags) {
  return send_until(fd, buf, kNoDeadline, flags);
}
Result<std::size_t> send_until(int fd, std::span<const std::byte> buf, Clock::time_point deadline, int flags) {
  return as_size(run_op(desc_send(fd, buf, flags), deadline));
}

Result<int> accept(int fd, sockaddr* addr, socklen_t* len) { return accept_until(fd, kNoDeadline, addr, len); }
Result<int> accept_until(int fd, Clock::time_point deadline, sockaddr* addr, socklen_t* len) {
  OpDesc d(OpKind::accept, fd);
  d.accept = {addr, len, SOCK_CLOEXEC};
  return run_op(d, deadline);
}
Result<void> connect(int fd, const sockaddr* addr, socklen_t len) { return connect_until(fd, addr, len, kNoDeadline); }
Result<void> connect_until(int fd, const sockaddr* addr, socklen_t len, Clock::time_point deadline) {
  return as_void(run_op(desc_address(OpKind::connect, fd, addr, len), deadline));
}

Result<unsigned> poll(int fd, unsigned events) { return poll_until(fd, events, kNoDeadline); }
Result<unsigned> poll_until(int fd, unsigned events, Clock::time_point deadline) {
  auto r = run_op(desc_value(OpKind::poll, fd, events), deadline);
  if (!r) return fail(r.error());
  return static_cast<unsigned>(*r);
}

Result<std::size_t> recvmsg(int fd, msghdr* msg, int flags) { return recvmsg_until(fd, msg, kNoDeadline, flags); }
Result<std::size_t> recvmsg_until(int fd, msghdr* msg, Clock::time_point deadline, int flags) {
  return as_size(run_op(desc_message(OpKind::recvmsg, fd, msg, flags), deadline));
}
Result<std::size_t> sendmsg(int fd, const msghdr* msg, int flags) {
  return as_size(run_op(desc_message(OpKind::sendmsg, fd, msg, flags)));
}

Result<int> socket(int domain, int type, int protocol) {
  OpDesc d(OpKind::socket, -1);
  d.socket = {domain, type | SOCK_CLOEXEC, protocol};
  return run_op(d);
}
Result<void> bind(int fd, const sockaddr* addr, socklen_t len) {
  return as_void(run_op(desc_address(OpKind::bind, fd, addr, len)));
}
Result<void> listen(int fd, int backlog) {
  return as_void(run_op(desc_value(OpKind::listen, fd, static_cast<unsigned>(backlog))));
}
Result<void> shutdown(int fd, int how) { return as_void(run_op(desc_value(OpKind::shutdown, fd, static_cast<unsigned>(how)))); }

Result<std::size_t> splice(int fd_in, std::int64_t off_in, int fd_out, std::int64_t off_out, std::size_t len,
                           unsigned flags) {
  return as_size(run_op(desc_splice(OpKind::splice, fd_in, off_in, fd_out, off_out, len, flags)));
}
Result<std::size_t> tee(int fd_in, int fd_out, std::size_t len, unsigned flags) {
  return as_size(run_op(desc_splice(OpKind::tee, fd_in, -1, fd_out, -1, len, flags)));
}

Result<void> statx(int dirfd, const char* path, int flags, unsigned mask, struct statx* out) {
  return as_void(run_op(desc_path(OpKind::statx, dirfd, path, flags, mask, out)));
}
Result<void> fallocate(int fd, int mode, std::uint64_t offset, std::uint64_t len) {
  return as_void(run_op(desc_range(OpKind::fallocate, fd, mode, offset, len)));
}
Result<void> ftruncate(int fd, std::uint64_t len) {
  return as_void(run_op(desc_range(OpKind::ftruncate, fd, 0, 0, len)));
}
Result<void> renameat(int olddirfd, const char* oldpath, int newdirfd, const char* newpath, unsigned flags) {
  return as_void(run_op(desc_paths(OpKind::renameat, olddirfd, oldpath, newdirfd, newpath, flags)));
}
Result<void> unlinkat(int dirfd, const char* path, int flags) {
  return as_void(run_op(desc_path(OpKind::unlinkat, dirfd, path, flags, 0)));
}
Result<void> mkdirat(int dirfd, const char* path, unsigned mode) {
  return as_void(run_op(desc_path(OpKind::mkdirat, dirfd, path, 0, mode)));
}
Result<void> symlinkat(const char* target, int newdirfd, const char* linkpath) {
  return as_void(run_op(desc_paths(OpKind::symlinkat, newdirfd, target, newdirfd, linkpath, 0)));
}
Result<void> linkat(int olddirfd, const char* oldpath, int newdirfd, const char* newpath, int flags) {
  return as_void(run_op(desc_paths(OpKind::linkat, olddirfd, oldpath, newdirfd, newpath, static_cast<unsigned>(flags))));
}

Result<int> openat(int dirfd, const char* path, int flags, unsigned mode) {
  return run_op(desc_path(OpKind::openat, dirfd, path, flags, mode));
}
Result<void> close(int fd) {
  sched::Task* self = sched::current_task();
  if (!self) return fail(errc::not_in_fiber);  // before ending anything: like every operation
  cancel_fd_everywhere(fd);  // the ops waiting on it end first, with EBADF (io_backend.hpp)
  const OpDesc d(OpKind::close, fd);
  // A cancelled task still closes: a close that did not happen would leak the fd, and one that
  // might have happened cannot be retried (the number may be reused).
  if (self->cancel_requested()) return as_void(syscall_result(blocking_syscall(d)));
  return as_void(run_op(d));
}
Result<void> fsync(int fd) { return as_void(run_op(desc_fsync(fd))); }
Result<void> fdatasync(int fd) { return as_void(run_op(desc_fsync(fd, /*data_only=*/true))); }

Result<void> eventfd_notify(int fd, std::uint64_t n) {
  // A write of 0 would wake nobody. EINVAL in system_category, as the kernel's own EINVAL (ops.hpp).
  if (n == 0) return fail(errno_error(EINVAL));
  auto r = write(fd, std::as_bytes(std::span(&n, 1)));
  if (!r) return fail(r.error());
  return {};
}
Result<std::uint64_t> eventfd_wait(int fd) { return eventfd_wait_until(fd, kNoDeadline); }
Result<std::uint64_t> eventfd_wait_until(int fd, Clock::time_point deadline) {
  std::uint64_t v = 0;
  auto r = read_until(fd, std::as_writable_bytes(std::span(&v, 1)), deadline);
  if (!r) return fail(r.error());
  if (*r != sizeof v) return fail(errno_error(EINVAL));  // not an eventfd
  return v;
}

}  // namespace weft::io
