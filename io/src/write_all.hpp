// write_all.hpp: the one loop behind every write_all (StreamSocket, Pipe, File).
#pragma once

#include "errno_result.hpp"

#include <cerrno>
#include <cstddef>
#include <span>
#include <system_error>

namespace weft::io {

// write_all: calls write(rest) (returning Result<std::size_t>) until all of `buf` went. A write
// that takes nothing from a non-empty buffer would be retried forever (a file that ignores the
// write, a length the kernel read as 0): it ends the loop with EIO instead.
template <class Write>
Result<void> write_all(std::span<const std::byte> buf, Write&& write) {
  while (!buf.empty()) {
    auto n = write(buf);
    if (!n) return fail(n.error());
    if (*n == 0) return fail(errno_error(EIO));
    buf = buf.subspan(*n);
  }
  return {};
}

}  // namespace weft::io
