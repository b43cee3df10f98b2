// weft/io/owned_fd.hpp: sole ownership of a file descriptor (RAII, move-only).
//
// The one place weft's IO types (TcpListener, TcpStream, UdpSocket, File, Pipe) keep their fd:
// moving transfers it, assigning over or destroying an OwnedFd closes what it held. Closing first
// ends the operations of fibers blocked on the fd, on every worker (they return EBADF instead of
// waiting forever; docs/io.md, Closing); a socket created with `shutdown_on_close` is then shut
// down, so the peer and other holders of the socket see its end. close() always closes (directly,
// not through the ring: it must happen exactly once, even in a cancelled task or on a plain
// thread).
//
// Thread-safety: like an int. Closing while other fibers are blocked on the fd ends their
// operations; closing while another fiber is starting one is the caller's race. close() suspends
// a fiber (blocks a plain thread) until every worker holding operations has ended its part.
//
//   weft::io::OwnedFd fd{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), true};
//   if (auto r = fd.close(); !r) { /* r.error(): the errno of close(2) */ }
#pragma once

#include <weft/sched/error.hpp>

#include <utility>

namespace weft::io {

class OwnedFd {
 public:
  OwnedFd() noexcept = default;
  explicit OwnedFd(int fd, bool shutdown_on_close = false) noexcept : fd_(fd), shutdown_(shutdown_on_close) {}
  OwnedFd(OwnedFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)), shutdown_(o.shutdown_) {}
  OwnedFd& operator=(OwnedFd&& o) noexcept {
    if (this != &o) {
      (void)close();
      fd_ = std::exchange(o.fd_, -1);
      shutdown_ = o.shutdown_;
    }
    return *this;
  }
  ~OwnedFd() { (void)close(); }

  // close: ends the operations blocked on the fd (EBADF), shuts a socket down when asked to, then
  // closes; the errno of close(2) on error.
  // Idempotent.
  Result<void> close() noexcept;
  int get() const noexcept { return fd_; }
  // release: gives the fd up without closing it.
  int release() noexcept { return std::exchange(fd_, -1); }
  explicit operator bool() const noexcept { return fd_ >= 0; }

 private:
  int fd_ = -1;
  bool shutdown_ = false;
};

}  // namespace weft::io
