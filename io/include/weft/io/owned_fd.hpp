// weft/io/owned_fd.hpp: sole ownership of a file descriptor (RAII, move-only).
//
// The one place weft's IO types (TcpListener, TcpStream, UdpSocket, File, Pipe) keep their fd:
// moving transfers it, assigning over or destroying an OwnedFd closes what it held. A socket
// created with `shutdown_on_close` is shut down before it is closed, so fibers blocked in
// accept/read on it wake instead of waiting forever. close() always closes (directly, not through
// the ring: it must happen exactly once, even in a cancelled task or on a plain thread).
//
// Thread-safety: like an int; closing while other fibers use the fd is the caller's race.
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

  // close: shuts a socket down first when asked to, then closes; the errno of close(2) on error.
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
