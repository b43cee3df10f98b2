// weft/io/ops.hpp: IO operations as blocking-style calls for fibers.
//
// Each call fills an SQE on the ring of the worker running the fiber and suspends the fiber; the
// worker submits everything queued during its tick with one io_uring_enter. Results come back as
// weft::Result<T>: the value, or the errno of the operation in std::system_category().
//
// Deadlines: the _until/_for forms take a steady_clock deadline (IORING_OP_LINK_TIMEOUT with an
// absolute time) and fail with std::errc::timed_out when it passes first.
// Cancellation: every call is a cancellation point. When the task is cancelled while the call is
// in flight, weft asks the kernel to cancel it (on the ring it was submitted to, even if the fiber
// has been woken on another worker) and returns errc::cancelled only after the kernel's final
// completion, so the buffers you passed are never written after the call returned. An operation
// that completed before the cancel took effect returns its result: no data is lost.
// Outside a fiber, or on a runtime whose workers have no io_uring ring, the calls fail with
// errc::not_in_fiber / std::errc::function_not_supported.
//
// Thread-safety: call from any fiber; buffers must stay valid until the call returns (they are on
// your stack or heap as with any blocking call).
//
//   std::array<std::byte, 4096> buf;
//   weft::Result<std::size_t> n = weft::io::read(fd, buf);
//   auto m = weft::io::read_for(fd, buf, 100ms);   // std::errc::timed_out after 100 ms
#pragma once

#include <weft/sched/error.hpp>
#include <weft/sched/waker.hpp>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>

namespace weft::io {

using Clock = std::chrono::steady_clock;

// nop: a round trip through the ring (measures the runtime's own overhead).
Result<void> nop();

// read: reads up to buf.size() bytes at the file position (regular files, pipes, sockets).
Result<std::size_t> read(int fd, std::span<std::byte> buf);
Result<std::size_t> read_until(int fd, std::span<std::byte> buf, Clock::time_point deadline);
template <class R, class P>
Result<std::size_t> read_for(int fd, std::span<std::byte> buf, std::chrono::duration<R, P> d);
// read_at: reads at `offset` without moving the file position (pread). ESPIPE when fd has no
// position (a pipe, socket, FIFO), on both backends; on io_uring that costs an lseek per call.
Result<std::size_t> read_at(int fd, std::span<std::byte> buf, std::uint64_t offset);

// write: writes up to buf.size() bytes at the file position; returns how many were written.
Result<std::size_t> write(int fd, std::span<const std::byte> buf);
Result<std::size_t> write_until(int fd, std::span<const std::byte> buf, Clock::time_point deadline);
template <class R, class P>
Result<std::size_t> write_for(int fd, std::span<const std::byte> buf, std::chrono::duration<R, P> d);
// write_at: writes at `offset` without moving the file position (pwrite). ESPIPE as read_at.
Result<std::size_t> write_at(int fd, std::span<const std::byte> buf, std::uint64_t offset);

// readv / writev: scatter/gather at the file position (offset -1) or at `offset` (ESPIPE as
// read_at).
Result<std::size_t> readv(int fd, std::span<const iovec> iov, std::int64_t offset = -1);
Result<std::size_t> writev(int fd, std::span<const iovec> iov, std::int64_t offset = -1);

// recv / send: socket IO with MSG_* flags.
Result<std::size_t> recv(int fd, std::span<std::byte> buf, int flags = 0);
Result<std::size_t> recv_until(int fd, std::span<std::byte> buf, Clock::time_point deadline, int flags = 0);
Result<std::size_t> send(int fd, std::span<const std::byte> buf, int flags = 0);
Result<std::size_t> send_until(int fd, std::span<const std::byte> buf, Clock::time_point deadline, int flags = 0);

// accept: a connected socket (SOCK_CLOEXEC); the peer's address in *addr/*len when given.
Result<int> accept(int fd, sockaddr* addr = nullptr, socklen_t* len = nullptr);
Result<int> accept_until(int fd, Clock::time_point deadline, sockaddr* addr = nullptr, socklen_t* len = nullptr);
// connect: connects `fd` to `addr`.
Result<void> connect(int fd, const sockaddr* addr, socklen_t len);
Result<void> connect_until(int fd, const sockaddr* addr, socklen_t len, Clock::time_point deadline);

// poll: waits until `fd` has one of `events` (POLLIN, POLLOUT, ...); returns the revents.
Result<unsigned> poll(int fd, unsigned events);
Result<unsigned> poll_until(int fd, unsigned events, Clock::time_point deadline);

// recvmsg / sendmsg: scatter/gather socket IO with ancillary data.
Result<std::size_t> recvmsg(int fd, msghdr* msg, int flags = 0);
Result<std::size_t> recvmsg_until(int fd, msghdr* msg, Clock::time_point deadline, int flags = 0);
Result<std::size_t> sendmsg(int fd, const msghdr* msg, int flags = 0);

// socket: a new socket (SOCK_CLOEXEC is added). bind / listen never block: they run directly.
Result<int> socket(int domain, int type, int protocol = 0);
Result<void> bind(int fd, const sockaddr* addr, socklen_t len);
Result<void> listen(int fd, int backlog);
// shutdown: SHUT_RD, SHUT_WR or SHUT_RDWR.
Result<void> shutdown(int fd, int how);

// splice / tee: move bytes between fds without copying (one side must be a pipe). Offsets -1
// mean "the file position".
Result<std::size_t> splice(int fd_in, std::int64_t off_in, int fd_out, std::int64_t off_out, std::size_t len,
                           unsigned flags = 0);
Result<std::size_t> tee(int fd_in, int fd_out, std::size_t len, unsigned flags = 0);

// Filesystem operations, relative to `dirfd` (AT_FDCWD: the working directory).
Result<void> statx(int dirfd, const char* path, int flags, unsigned mask, struct statx* out);
Result<void> fallocate(int fd, int mode, std::uint64_t offset, std::uint64_t len);
Result<void> ftruncate(int fd, std::uint64_t len);
Result<void> renameat(int olddirfd, const char* oldpath, int newdirfd, const char* newpath, unsigned flags = 0);
Result<void> unlinkat(int dirfd, const char* path, int flags = 0);
Result<void> mkdirat(int dirfd, const char* path, unsigned mode);
Result<void> symlinkat(const char* target, int newdirfd, const char* linkpath);
Result<void> linkat(int olddirfd, const char* oldpath, int newdirfd, const char* newpath, int flags = 0);

// openat / close / fsync: files. openat returns the new fd (add O_CLOEXEC yourself). close first
// ends the operations blocked on the fd on every worker (they return EBADF; docs/io.md, Closing),
// then always closes, even in a cancelled task (then directly, not through the ring).
Result<int> openat(int dirfd, const char* path, int flags, unsigned mode = 0);
Result<void> close(int fd);
Result<void> fsync(int fd);
Result<void> fdatasync(int fd);

// eventfd_notify / eventfd_wait: an eventfd(2) counter as a cross-thread signal: notify adds `n`
// (never blocks unless the counter would overflow), wait takes the whole count (the semaphore
// flag: 1), waiting while it is 0. Errors: the errno (EINVAL: not an eventfd or n is 0).
Result<void> eventfd_notify(int fd, std::uint64_t n = 1);
Result<std::uint64_t> eventfd_wait(int fd);
Result<std::uint64_t> eventfd_wait_until(int fd, Clock::time_point deadline);

// ---- implementation of the _for forms (deadlines saturate instead of overflowing) ---------------
template <class R, class P>
Result<std::size_t> read_for(int fd, std::span<std::byte> buf, std::chrono::duration<R, P> d) {
  return read_until(fd, buf, sched::deadline_after(d));
}
template <class R, class P>
Result<std::size_t> write_for(int fd, std::span<const std::byte> buf, std::chrono::duration<R, P> d) {
  return write_until(fd, buf, sched::deadline_after(d));
}

}  // namespace weft::io
