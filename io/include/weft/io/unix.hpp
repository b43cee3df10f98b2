// weft/io/unix.hpp: Unix domain stream sockets for fibers (RAII, move-only): UnixListener and
// UnixStream (reading and writing: StreamSocket, weft/io/stream_socket.hpp).
//
// Paths are filesystem paths (at most 107 bytes; longer is std::errc::filename_too_long); a path
// starting with '@' names an abstract socket (Linux: no file, gone with its last fd). The listener
// does not unlink its path: remove it yourself (io::unlinkat) when you are done, as with any file.
//
// Thread-safety: as for TCP (weft/io/tcp.hpp).
//
//   auto l = weft::io::UnixListener::bind("@weft-demo").value();
//   auto c = weft::io::UnixStream::connect("@weft-demo").value();
//   auto [a, b] = weft::io::UnixStream::pair().value();   // connected, like socketpair(2)
#pragma once

#include <weft/io/owned_fd.hpp>
#include <weft/io/stream_socket.hpp>
#include <weft/sched/error.hpp>

#include <chrono>
#include <string_view>
#include <utility>

namespace weft::io {

// UnixStream: a connected Unix stream socket.
class UnixStream : public StreamSocket {
 public:
  UnixStream() noexcept = default;
  explicit UnixStream(int fd) noexcept : StreamSocket(fd) {}  // adopts a connected socket

  // connect: to the socket at `path`. Errors: ENOENT / ECONNREFUSED (nobody listens),
  // std::errc::filename_too_long, std::errc::timed_out (the _until form), errc::cancelled.
  static Result<UnixStream> connect(std::string_view path);
  static Result<UnixStream> connect_until(std::string_view path, std::chrono::steady_clock::time_point deadline);
  // pair: two connected sockets (socketpair(AF_UNIX, SOCK_STREAM)).
  static Result<std::pair<UnixStream, UnixStream>> pair();
};

// UnixListener: a listening Unix stream socket.
class UnixListener {
 public:
  UnixListener() noexcept = default;

  // bind: socket + bind to `path` + listen. Errors: EADDRINUSE (the path exists), ENOENT (no such
  // directory), std::errc::filename_too_long, std::errc::invalid_argument (an empty path).
  static Result<UnixListener> bind(std::string_view path, int backlog = 1024);
  // accept: waits for a connection.
  Result<UnixStream> accept();
  Result<UnixStream> accept_until(std::chrono::steady_clock::time_point deadline);
  // close: fibers blocked in accept() wake with EBADF; then shuts down and closes. Idempotent.
  Result<void> close() { return fd_.close(); }
  int fd() const noexcept { return fd_.get(); }
  explicit operator bool() const noexcept { return bool(fd_); }

 private:
  explicit UnixListener(int fd) noexcept : fd_(fd, /*shutdown_on_close=*/true) {}
  OwnedFd fd_;
};

}  // namespace weft::io
