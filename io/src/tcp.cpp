#include <weft/io/ops.hpp>
#include <weft/io/tcp.hpp>

#include "errno_result.hpp"

#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

namespace weft::io {
namespace {


void set_nodelay(int fd) {
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

Result<SocketAddress> sockname(int fd, bool peer) {
  SocketAddress a;
  a.len = sizeof a.storage;
  auto* sa = reinterpret_cast<sockaddr*>(&a.storage);
  if ((peer ? ::getpeername(fd, sa, &a.len) : ::getsockname(fd, sa, &a.len)) != 0) {
    return fail(errno_error());
  }
  return a;
}

}  // namespace

Result<SocketAddress> SocketAddress::parse(std::string_view ip, std::uint16_t port) {
  SocketAddress a;
  const std::string s(ip);
  auto* v4 = reinterpret_cast<sockaddr_in*>(&a.storage);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.storage);
  if (::inet_pton(AF_INET, s.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    a.len = sizeof *v4;
  } else if (::inet_pton(AF_INET6, s.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    a.len = sizeof *v6;
  } else {
    return fail(std::errc::invalid_argument);
  }
  return a;
}

std::uint16_t SocketAddress::port() const noexcept {
  if (storage.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&storage)->sin_port);
  if (storage.ss_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_port);
  return 0;
}

std::string SocketAddress::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  std::string out;
  if (storage.ss_family == AF_INET) {
    ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage)->sin_addr, buf, sizeof buf);
    out.append(buf);
  } else {
    ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_addr, buf, sizeof buf);
    out.append("[").append(buf).append("]");
  }
  return out.append(":").append(std::to_string(port()));
}

// ---- TcpListener -------------------------------------------------------------------------------

Result<TcpListener> TcpListener::bind(std::string_view ip, std::uint16_t port, int backlog) {
  auto addr = SocketAddress::parse(ip, port);
  if (!addr) return fail(addr.error());
  const int fd = ::socket(addr->storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail(errno_error());
  TcpListener l(fd);
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (auto r = io::bind(fd, addr->get(), addr->len); !r) return fail(r.error());
  if (auto r = io::listen(fd, backlog); !r) return fail(r.error());
  return l;
}

Result<TcpStream> TcpListener::accept(SocketAddress* peer) {
  return accept_until(std::chrono::steady_clock::time_point::max(), peer);
}

Result<TcpStream> TcpListener::accept_until(std::chrono::steady_clock::time_point deadline, SocketAddress* peer) {
  SocketAddress a;
  a.len = sizeof a.storage;
  auto fd = io::accept_until(fd_.get(), deadline, reinterpret_cast<sockaddr*>(&a.storage), &a.len);
  if (!fd) return fail(fd.error());
  set_nodelay(*fd);
  if (peer) *peer = a;
  return TcpStream(*fd);
}

Result<SocketAddress> TcpListener::local_address() const { return sockname(fd_.get(), false); }
Result<void> TcpListener::close() { return fd_.close(); }

// ---- TcpStream ---------------------------------------------------------------------------------

Result<TcpStream> TcpStream::connect(std::string_view ip, std::uint16_t port) {
  return connect_until(ip, port, std::chrono::steady_clock::time_point::max());
}

Result<TcpStream> TcpStream::connect_until(std::string_view ip, std::uint16_t port,
                                           std::chrono::steady_clock::time_point deadline) {
  auto addr = SocketAddress::parse(ip, port);
  if (!addr) return fail(addr.error());
  auto fd = io::socket(addr->storage.ss_family, SOCK_STREAM);
  if (!fd) return fail(fd.error());
  TcpStream s(*fd);
  if (auto r = io::connect_until(*fd, addr->get(), addr->len, deadline); !r) return fail(r.error());
  set_nodelay(*fd);
  return s;
}

Result<SocketAddress> TcpStream::peer_address() const { return sockname(fd(), true); }

}  // namespace weft::io
