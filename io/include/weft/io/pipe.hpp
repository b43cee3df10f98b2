// weft/io/pipe.hpp: one end of a pipe (or both), for fibers (RAII, move-only).
//
//   auto [r, w] = weft::io::Pipe::create().value();
//   w.write_all(bytes).value();  w.close();
//   std::string all = r.read_to_end().value();
#pragma once

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
  Pipe(Pipe&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Pipe& operator=(Pipe&& o) noexcept;
  ~Pipe();

  // create: {read end, write end}, both O_CLOEXEC. Errors: EMFILE/ENFILE.
  static Result<std::pair<Pipe, Pipe>> create();

  Result<std::size_t> read(std::span<std::byte> buf);         // 0 when every writer closed
  Result<std::size_t> write(std::span<const std::byte> buf);  // EPIPE when every reader closed
  Result<void> write_all(std::span<const std::byte> buf);
  // read_to_end: everything until every writer closed.
  Result<std::string> read_to_end();
  Result<void> close();  // idempotent
  int fd() const noexcept { return fd_; }
  int release() noexcept { return std::exchange(fd_, -1); }
  explicit operator bool() const noexcept { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

}  // namespace weft::io
