// weft/io/pipe.hpp: one end of a pipe (or both), for fibers (RAII, move-only).
//
//   auto [r, w] = weft::io::Pipe::create().value();
//   w.write_all(bytes).value();  w.close();
//   std::string all = r.read_to_end().value();
#pragma once

#include <weft/io/owned_fd.hpp>
#include <weft/sched/error.hpp>

#include <cstddef>
#include <span>
#include <string>
#include <utility>

namespace weft::io {

class Pipe {
 public:
  Pipe() noexcept = default;
  explicit Pipe(int fd) noexcept : fd_(fd) {}  // adopts an fd

  // create: {read end, write end}, both O_CLOEXEC. Errors: EMFILE/ENFILE.
  static Result<std::pair<Pipe, Pipe>> create();

  Result<std::size_t> read(std::span<std::byte> buf);         // 0 when every writer closed
  Result<std::size_t> write(std::span<const std::byte> buf);  // EPIPE when every reader closed
  Result<void> write_all(std::span<const std::byte> buf);  // EIO when a write takes nothing
  // read_to_end: everything until every writer closed.
  Result<std::string> read_to_end();
  Result<void> close();  // idempotent
  int fd() const noexcept { return fd_.get(); }
  int release() noexcept { return fd_.release(); }
  explicit operator bool() const noexcept { return bool(fd_); }

 private:
  OwnedFd fd_;
};

}  // namespace weft::io
