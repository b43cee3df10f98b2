#include <weft/io/ops.hpp>
#include <weft/io/udp.hpp>

#include "errno_result.hpp"

#include <unistd.h>

#include <cerrno>
#include <utility>

namespace weft::io {

Result<UdpSocket> UdpSocket::bind(std::string_view ip, std::uint16_t port) {
  auto addr = SocketAddress::parse(ip, port);
  if (!addr) return fail(addr.error());
  const int fd = ::socket(addr->storage.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail(errno_error());
  UdpSocket s(fd);
  if (auto r = io::bind(fd, addr->get(), addr->len); !r) return fail(r.error());
  return s;
}

Result<std::size_t> UdpSocket::send_to(std::span<const std::byte> buf, const SocketAddress& to) {
  iovec iov{const_cast<std::byte*>(buf.data()), buf.size()};
  msghdr msg{};
  msg.msg_name = const_cast<sockaddr*>(to.get());
  msg.msg_namelen = to.len;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  return io::sendmsg(fd_.get(), &msg);
}

Result<std::size_t> UdpSocket::recv_from(std::span<std::byte> buf, SocketAddress* from) {
  return recv_from_until(buf, std::chrono::steady_clock::time_point::max(), from);
}

Result<std::size_t> UdpSocket::recv_from_until(std::span<std::byte> buf, std::chrono::steady_clock::time_point deadline,
                                               SocketAddress* from) {
  SocketAddress a;
  iovec iov{buf.data(), buf.size()};
  msghdr msg{};
  msg.msg_name = &a.storage;
  msg.msg_namelen = sizeof a.storage;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  auto n = io::recvmsg_until(fd_.get(), &msg, deadline);
  if (!n) return fail(n.error());
  a.len = msg.msg_namelen;
  if (from) *from = a;
  return *n;
}

Result<SocketAddress> UdpSocket::local_address() const {
  SocketAddress a;
  a.len = sizeof a.storage;
  if (::getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&a.storage), &a.len) != 0) {
    return fail(errno_error());
  }
  return a;
}

Result<void> UdpSocket::close() { return fd_.close(); }

}  // namespace weft::io
