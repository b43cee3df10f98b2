// weft/io/udp.hpp: a UDP socket for fibers (RAII, move-only).
//
//   auto s = weft::io::UdpSocket::bind("127.0.0.1", 0).value();
//   s.send_to(bytes, peer).value();
//   weft::io::SocketAddress from;
//   std::size_t n = s.recv_from(buf, &from).value();
#pragma once

#include <weft/io/tcp.hpp>
#include <weft/io/owned_fd.hpp>
#include <weft/sched/error.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace weft::io {

class UdpSocket {
 public:
  UdpSocket() noexcept = default;

  // bind: a datagram socket bound to ip:port (port 0: any free port). Errors: invalid_argument
  // for a bad address, else the errno (EADDRINUSE, ...).
  static Result<UdpSocket> bind(std::string_view ip, std::uint16_t port);

  // send_to: one datagram to `to`; returns the bytes sent (EMSGSIZE when too large).
  Result<std::size_t> send_to(std::span<const std::byte> buf, const SocketAddress& to);
  // recv_from: one datagram (truncated to buf.size()); the sender's address in *from.
  Result<std::size_t> recv_from(std::span<std::byte> buf, SocketAddress* from = nullptr);
  Result<std::size_t> recv_from_until(std::span<std::byte> buf, std::chrono::steady_clock::time_point deadline,
                                      SocketAddress* from = nullptr);
  Result<SocketAddress> local_address() const;
  Result<void> close();  // idempotent
  int fd() const noexcept { return fd_.get(); }
  explicit operator bool() const noexcept { return bool(fd_); }

 private:
  explicit UdpSocket(int fd) noexcept : fd_(fd) {}
  OwnedFd fd_;
};

}  // namespace weft::io
