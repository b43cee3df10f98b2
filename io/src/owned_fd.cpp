#include <weft/io/owned_fd.hpp>

#include "errno_result.hpp"
#include "io_backend.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace weft::io {

Result<void> OwnedFd::close() noexcept {
  // One exchange: two racing closes close the fd once.
  const int f = release();
  if (f < 0) return {};
  // First: the fibers blocked on f end with EBADF (io_op.hpp). A shutdown first would race with it
  // and hand some of them end of stream (a read) or EINVAL (an accept) instead.
  cancel_fd_everywhere(f);
  // Then the shutdown, for whoever else holds the socket: the peer sees it end even while a dup or
  // a child's copy keeps it open, and fibers blocked on such a copy see end of stream. ENOTCONN (a
  // listener, an unconnected socket) is fine.
  if (shutdown_) ::shutdown(f, SHUT_RDWR);
  if (::close(f) != 0) return fail(errno_error());
  return {};
}

}  // namespace weft::io
