#include <weft/io/owned_fd.hpp>

#include "epoll_driver.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace weft::io {

Result<void> OwnedFd::close() noexcept {
  if (fd_ < 0) return {};
  const int f = std::exchange(fd_, -1);
  if (shutdown_) ::shutdown(f, SHUT_RDWR);  // ENOTCONN (a listener, an unconnected socket) is fine
  evict_fd_everywhere(f);                   // epoll: wake its waiters before the kernel forgets them
  if (::close(f) != 0) return fail(std::error_code(errno, std::system_category()));
  return {};
}

}  // namespace weft::io
