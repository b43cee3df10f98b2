// weft/io/stream_socket.hpp: StreamSocket, a connected stream socket for fibers (RAII, move-only):
// what TcpStream and UnixStream share.
//
// Every blocking member suspends only the calling fiber (weft/io/ops.hpp: batching, deadlines,
// cancellation) and returns weft::Result. Writes never raise SIGPIPE (MSG_NOSIGNAL): a peer that
// went away is EPIPE. close() first ends the operations of fibers blocked on it (they return EBADF
// instead of waiting forever), then shuts the socket down (the peer sees end of stream) and closes
// it. The destructor closes.
//
// Thread-safety: one reader and one writer fiber may use it at once; moving or closing it while
// others use it is a race, as with any fd.
//
//   weft::io::TcpStream s = weft::io::TcpStream::connect("127.0.0.1", 8080).value();
//   s.write_all(std::as_bytes(std::span("ping", 4))).value();
//   std::array<std::byte, 4> pong; s.read_exact(pong).value();
#pragma once

#include <weft/io/owned_fd.hpp>
#include <weft/sched/error.hpp>

#include <chrono>
#include <cstddef>
#include <span>

namespace weft::io {

class StreamSocket {
 public:
  using Clock = std::chrono::steady_clock;

  StreamSocket() noexcept = default;
  explicit StreamSocket(int fd) noexcept : fd_(fd, /*shutdown_on_close=*/true) {}  // adopts a connected socket

  // read: up to buf.size() bytes; 0 at end of stream.
  Result<std::size_t> read(std::span<std::byte> buf);
  Result<std::size_t> read_until(std::span<std::byte> buf, Clock::time_point deadline);
  // write: some of buf (at least one byte unless buf is empty).
  Result<std::size_t> write(std::span<const std::byte> buf);
  Result<std::size_t> write_until(std::span<const std::byte> buf, Clock::time_point deadline);
  // read_exact: exactly buf.size() bytes; std::errc::connection_aborted if the stream ends first.
  Result<void> read_exact(std::span<std::byte> buf);
  Result<void> read_exact_until(std::span<std::byte> buf, Clock::time_point deadline);
  // write_all: all of buf (std::errc::timed_out from the _until form leaves an unknown prefix sent);
  // EIO when a send takes nothing, which would otherwise be retried forever.
  Result<void> write_all(std::span<const std::byte> buf);
  Result<void> write_all_until(std::span<const std::byte> buf, Clock::time_point deadline);
  // shutdown: SHUT_RD, SHUT_WR or SHUT_RDWR.
  Result<void> shutdown(int how);
  // close: ends the operations blocked on it (EBADF), shuts down and closes; idempotent.
  Result<void> close();
  int fd() const noexcept { return fd_.get(); }
  explicit operator bool() const noexcept { return bool(fd_); }

 private:
  OwnedFd fd_;
};

}  // namespace weft::io
