#include <weft/io/file.hpp>
#include <weft/io/ops.hpp>

#include "errno_result.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include "positional.hpp"
#include "write_all.hpp"

#include <cerrno>
#include <utility>

namespace weft::io {

Result<File> File::open(const char* path, int flags, unsigned mode) {
  auto fd = io::openat(AT_FDCWD, path, flags | O_CLOEXEC, mode);
  if (!fd) return fail(fd.error());
  // Asked once (ops.cpp, has_no_position): a FIFO or a tty opened here has no position for good.
  const bool stream = ::lseek(*fd, 0, SEEK_CUR) < 0 && errno == ESPIPE;
  return File(*fd, stream);
}

Result<std::size_t> File::read(std::span<std::byte> buf) { return io::read(fd_.get(), buf); }
Result<std::size_t> File::write(std::span<const std::byte> buf) { return io::write(fd_.get(), buf); }
Result<std::size_t> File::read_at(std::span<std::byte> buf, std::uint64_t offset) {
  if (stream_) return fail(errno_error(ESPIPE));
  return read_at_unchecked(fd_.get(), buf, offset);
}
Result<std::size_t> File::write_at(std::span<const std::byte> buf, std::uint64_t offset) {
  if (stream_) return fail(errno_error(ESPIPE));
  return write_at_unchecked(fd_.get(), buf, offset);
}

Result<void> File::read_exact_at(std::span<std::byte> buf, std::uint64_t offset) {
  while (!buf.empty()) {
    auto n = read_at(buf, offset);
    if (!n) return fail(n.error());
    if (*n == 0) return fail(std::errc::io_error);
    buf = buf.subspan(*n);
    offset += *n;
  }
  return {};
}

Result<void> File::write_all_at(std::span<const std::byte> buf, std::uint64_t offset) {
  return io::write_all(buf, [&](std::span<const std::byte> rest) {
    auto n = write_at(rest, offset);
    if (n) offset += *n;
    return n;
  });
}

Result<std::uint64_t> File::size() const {
  struct statx st {};
  if (auto r = io::statx(fd_.get(), "", AT_EMPTY_PATH, STATX_SIZE, &st); !r) return fail(r.error());
  return st.stx_size;
}

Result<void> File::truncate(std::uint64_t len) { return io::ftruncate(fd_.get(), len); }
Result<void> File::sync() { return io::fsync(fd_.get()); }
Result<void> File::sync_data() { return io::fdatasync(fd_.get()); }

Result<void> File::close() { return fd_.close(); }

}  // namespace weft::io
