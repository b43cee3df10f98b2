#include <weft/io/ops.hpp>
#include <weft/io/pipe.hpp>

#include "errno_result.hpp"

#include <fcntl.h>
#include <unistd.h>

#include "write_all.hpp"

#include <array>
#include <cerrno>

namespace weft::io {

Result<std::pair<Pipe, Pipe>> Pipe::create() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return fail(errno_error());
  return std::pair<Pipe, Pipe>{Pipe(fds[0]), Pipe(fds[1])};
}

Result<std::size_t> Pipe::read(std::span<std::byte> buf) { return io::read(fd_.get(), buf); }

// A write without readers fails with EPIPE: the Runtime ignores SIGPIPE (see runtime.hpp).
Result<std::size_t> Pipe::write(std::span<const std::byte> buf) { return io::write(fd_.get(), buf); }

Result<void> Pipe::write_all(std::span<const std::byte> buf) {
  return io::write_all(buf, [this](std::span<const std::byte> rest) { return write(rest); });
}

Result<std::string> Pipe::read_to_end() {
  std::string out;
  std::array<std::byte, 16 * 1024> buf;
  for (;;) {
    auto n = io::read(fd_.get(), buf);
    if (!n) return fail(n.error());
    if (*n == 0) return out;
    out.append(reinterpret_cast<const char*>(buf.data()), *n);
  }
}

Result<void> Pipe::close() { return fd_.close(); }

}  // namespace weft::io
