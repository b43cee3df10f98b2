#include <weft/io/ops.hpp>
#include <weft/io/unix.hpp>

#include "errno_result.hpp"

#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <cstddef>
#include <cstring>

namespace weft::io {
namespace {

struct UnixAddress {
  sockaddr_un sun{};
  socklen_t len = 0;
  const sockaddr* get() const noexcept { return reinterpret_cast<const sockaddr*>(&sun); }
};

// unix_address: `path`, or an abstract name for "@name" (its leading NUL replaces the '@').
Result<UnixAddress> unix_address(std::string_view path) {
  UnixAddress a;
  if (path.empty()) return fail(std::errc::invalid_argument);
  const bool abstract = path.front() == '@';
  // A filesystem path needs room for its terminating NUL; an abstract name is counted exactly.
  if (path.size() + (abstract ? 0 : 1) > sizeof a.sun.sun_path) return fail(std::errc::filename_too_long);
  a.sun.sun_family = AF_UNIX;
  std::memcpy(a.sun.sun_path, path.data(), path.size());
  if (abstract) a.sun.sun_path[0] = '\0';
  a.len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + (abstract ? 0 : 1));
  return a;
}

}  // namespace

Result<UnixStream> UnixStream::connect(std::string_view path) {
  return connect_until(path, std::chrono::steady_clock::time_point::max());
}

Result<UnixStream> UnixStream::connect_until(std::string_view path, std::chrono::steady_clock::time_point deadline) {
  auto addr = unix_address(path);
  if (!addr) return fail(addr.error());
  auto fd = io::socket(AF_UNIX, SOCK_STREAM);
  if (!fd) return fail(fd.error());
  UnixStream s(*fd);
  if (auto r = io::connect_until(*fd, addr->get(), addr->len, deadline); !r) return fail(r.error());
  return s;
}

Result<std::pair<UnixStream, UnixStream>> UnixStream::pair() {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    return fail(errno_error());
  }
  return std::pair<UnixStream, UnixStream>(UnixStream(fds[0]), UnixStream(fds[1]));
}

Result<UnixListener> UnixListener::bind(std::string_view path, int backlog) {
  auto addr = unix_address(path);
  if (!addr) return fail(addr.error());
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail(errno_error());
  UnixListener l(fd);
  if (auto r = io::bind(fd, addr->get(), addr->len); !r) return fail(r.error());
  if (auto r = io::listen(fd, backlog); !r) return fail(r.error());
  return l;
}

Result<UnixStream> UnixListener::accept() { return accept_until(std::chrono::steady_clock::time_point::max()); }

Result<UnixStream> UnixListener::accept_until(std::chrono::steady_clock::time_point deadline) {
  auto fd = io::accept_until(fd_.get(), deadline);
  if (!fd) return fail(fd.error());
  return UnixStream(*fd);
}

}  // namespace weft::io
