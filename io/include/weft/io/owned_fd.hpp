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
// Thread-safety: get() may run while another thread closes (the fd is an atomic, read relaxed: a
// fiber that read the fd and then blocked on it is ended by the close, which is the point).
// Closing while other fibers are blocked on the fd ends their operations; closing while another
// fiber is starting one is the caller's race (it may see -1 and get EBADF, or start an op on the
// closed number). Moving and assigning are like an int's: not concurrent with anything else. close() suspends
// a fiber (blocks a plain thread) until every worker holding operations has ended its part.
//
//   weft::io::OwnedFd fd{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), true};
//   if (auto r = fd.close(); !r) { /* r.error(): the errno of close(2) */ }
#pragma once

#include <weft/sched/error.hpp>

#include <atomic>
#include <utility>

namespace weft::io {

class OwnedFd {
 public:
  OwnedFd() noexcept = default;
  explicit OwnedFd(int fd, bool shutdown_on_close = false) noexcept : fd_(fd), shutdown_(shutdown_on_close) {}
  OwnedFd(OwnedFd&& o) noexcept : fd_(o.release()), shutdown_(o.shutdown_) {}
  OwnedFd& operator=(OwnedFd&& o) noexcept {
    if (this != &o) {
      (void)close();
      fd_.store(o.release(), std::memory_order_relaxed);
      shutdown_ = o.shutdown_;
    }
    return *this;
  }
  ~OwnedFd() { (void)close(); }

  // close: ends the operations blocked on the fd (EBADF), shuts a socket down when asked to, then
  // closes; the errno of close(2) on error.
  // Idempotent.
  Result<void> close() noexcept;
  int get() const noexcept { return fd_.load(std::memory_order_relaxed); }
  // release: gives the fd up without closing it.
  int release() noexcept { return fd_.exchange(-1, std::memory_order_relaxed); }
  explicit operator bool() const noexcept { return get() >= 0; }

 private:
  std::atomic<int> fd_{-1};
  bool shutdown_ = false;
};

}  // namespace weft::io
