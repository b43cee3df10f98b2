#include <weft/io/ops.hpp>
#include <weft/io/stream_socket.hpp>

#include <sys/socket.h>

#include "write_all.hpp"

namespace weft::io {

Result<std::size_t> StreamSocket::read(std::span<std::byte> buf) { return io::recv(fd_.get(), buf); }
Result<std::size_t> StreamSocket::read_until(std::span<std::byte> buf, Clock::time_point deadline) {
  return io::recv_until(fd_.get(), buf, deadline);
}
Result<std::size_t> StreamSocket::write(std::span<const std::byte> buf) {
  return io::send(fd_.get(), buf, MSG_NOSIGNAL);
}
Result<std::size_t> StreamSocket::write_until(std::span<const std::byte> buf, Clock::time_point deadline) {
  return io::send_until(fd_.get(), buf, deadline, MSG_NOSIGNAL);
}

Result<void> StreamSocket::read_exact(std::span<std::byte> buf) { return read_exact_until(buf, Clock::time_point::max()); }
Result<void> StreamSocket::read_exact_until(std::span<std::byte> buf, Clock::time_point deadline) {
  while (!buf.empty()) {
    auto n = io::recv_until(fd_.get(), buf, deadline);
    if (!n) return fail(n.error());
    if (*n == 0) return fail(std::errc::connection_aborted);
    buf = buf.subspan(*n);
  }
  return {};
}

Result<void> StreamSocket::write_all(std::span<const std::byte> buf) { return write_all_until(buf, Clock::time_point::max()); }
Result<void> StreamSocket::write_all_until(std::span<const std::byte> buf, Clock::time_point deadline) {
  return io::write_all(buf, [&](std::span<const std::byte> rest) { return write_until(rest, deadline); });
}

Result<void> StreamSocket::shutdown(int how) { return io::shutdown(fd_.get(), how); }
Result<void> StreamSocket::close() { return fd_.close(); }

}  // namespace weft::io
