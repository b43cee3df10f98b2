// weft/io/file.hpp: a file opened for fiber IO (RAII, move-only).
//
// Reads and writes go through the worker's ring (see weft/io/ops.hpp); positional forms do not
// move the file position, so several fibers may use one File at different offsets. The
// destructor closes.
//
// Thread-safety: positional calls from several fibers at once are fine; moving or closing the
// File while others use it is a race.
//
//   auto f = weft::io::File::open("/tmp/x", O_RDWR | O_CREAT, 0644).value();
//   f.write_all_at(std::as_bytes(std::span("data", 4)), 0).value();
//   std::uint64_t n = f.size().value();
#pragma once

#include <weft/io/owned_fd.hpp>
#include <weft/sched/error.hpp>

#include <fcntl.h>

#include <cstddef>
#include <cstdint>
#include <span>

namespace weft::io {

class File {
 public:
  File() noexcept = default;

  // open: openat(AT_FDCWD, path, flags | O_CLOEXEC, mode). Errors: the errno (ENOENT, EACCES,
  // EISDIR for writing a directory, ...).
  static Result<File> open(const char* path, int flags, unsigned mode = 0644);

  Result<std::size_t> read(std::span<std::byte> buf);                        // at the position
  Result<std::size_t> write(std::span<const std::byte> buf);                 // at the position
  // read_at / write_at: at `offset`; ESPIPE when the file has no position (a FIFO, a tty).
  Result<std::size_t> read_at(std::span<std::byte> buf, std::uint64_t offset);
  Result<std::size_t> write_at(std::span<const std::byte> buf, std::uint64_t offset);
  // read_exact_at: fills buf; std::errc::io_error (EIO) if the file ends first.
  Result<void> read_exact_at(std::span<std::byte> buf, std::uint64_t offset);
  // write_all_at: all of buf; EIO when a write takes nothing (it would be retried forever).
  Result<void> write_all_at(std::span<const std::byte> buf, std::uint64_t offset);
  // size: bytes in the file (statx).
  Result<std::uint64_t> size() const;
  Result<void> truncate(std::uint64_t len);
  Result<void> sync();       // fsync
  Result<void> sync_data();  // fdatasync
  // close: idempotent; always closes the fd.
  Result<void> close();
  int fd() const noexcept { return fd_.get(); }
  explicit operator bool() const noexcept { return bool(fd_); }

 private:
  File(int fd, bool stream) noexcept : fd_(fd), stream_(stream) {}
  OwnedFd fd_;
  bool stream_ = false;  // no file position: positional calls fail with ESPIPE (asked once, at open)
};

}  // namespace weft::io
