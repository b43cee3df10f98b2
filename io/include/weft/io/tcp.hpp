// weft/io/tcp.hpp: TCP listeners and streams for fibers (RAII, move-only).
//
// Every blocking member suspends only the calling fiber (see weft/io/ops.hpp for batching,
// deadlines and cancellation) and returns weft::Result. close() ends the operations of fibers
// blocked in accept/read on it first (they return EBADF instead of waiting forever), then shuts
// the socket down and closes it; completions are keyed by operation, never by fd number, so an fd
// reused after close cannot receive a stale completion. The destructor closes.
//
// Thread-safety: one object may be used by several fibers at once (e.g. a reader and a writer);
// moving or closing it while others use it is a race, as with any fd.
//
//   auto l = weft::io::TcpListener::bind("127.0.0.1", 0).value();
//   weft::io::TcpStream c = l.accept().value();
//   c.write_all(std::as_bytes(std::span("hi", 2))).value();
#pragma once

#include <weft/io/owned_fd.hpp>
#include <weft/io/stream_socket.hpp>
#include <weft/sched/error.hpp>

#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace weft::io {

// SocketAddress: an IPv4 or IPv6 address and port.
struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t len = 0;

  // parse: "127.0.0.1" or "::1" with a port; std::errc::invalid_argument for anything else.
  static Result<SocketAddress> parse(std::string_view ip, std::uint16_t port);
  std::uint16_t port() const noexcept;
  std::string to_string() const;  // "127.0.0.1:8080" / "[::1]:8080"
  const sockaddr* get() const noexcept { return reinterpret_cast<const sockaddr*>(&storage); }
};

class TcpStream;

// TcpListener: a listening socket.
class TcpListener {
 public:
  TcpListener() noexcept = default;

  // bind: socket + SO_REUSEADDR + bind + listen. Port 0 picks a free port (see local_address()).
  // Errors: std::errc::invalid_argument for a bad address, else the errno (EADDRINUSE, EACCES...).
  static Result<TcpListener> bind(std::string_view ip, std::uint16_t port, int backlog = 1024);

  // accept: waits for a connection (TCP_NODELAY is set on it); the peer's address in *peer.
  Result<TcpStream> accept(SocketAddress* peer = nullptr);
  Result<TcpStream> accept_until(std::chrono::steady_clock::time_point deadline, SocketAddress* peer = nullptr);

  Result<SocketAddress> local_address() const;
  // close: fibers blocked in accept() wake with EBADF; then shuts down and closes. Idempotent.
  Result<void> close();
  int fd() const noexcept { return fd_.get(); }
  explicit operator bool() const noexcept { return bool(fd_); }

 private:
  explicit TcpListener(int fd) noexcept : fd_(fd, /*shutdown_on_close=*/true) {}
  OwnedFd fd_;
};

// TcpStream: a connected TCP socket (TCP_NODELAY); reading and writing: StreamSocket.
class TcpStream : public StreamSocket {
 public:
  TcpStream() noexcept = default;
  explicit TcpStream(int fd) noexcept : StreamSocket(fd) {}  // adopts a connected socket

  // connect: to ip:port, with TCP_NODELAY. Errors: ECONNREFUSED, std::errc::timed_out (the
  // _until form), std::errc::invalid_argument for a bad address, errc::cancelled.
  static Result<TcpStream> connect(std::string_view ip, std::uint16_t port);
  static Result<TcpStream> connect_until(std::string_view ip, std::uint16_t port,
                                         std::chrono::steady_clock::time_point deadline);
  Result<SocketAddress> peer_address() const;
};

}  // namespace weft::io
