// blocking_syscall.cpp: the blocking form of each operation (blocking_syscall.hpp).
#include "blocking_syscall.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>

namespace weft::io {
namespace {

int sys(long r) { return r < 0 ? -errno : static_cast<int>(r); }
// offset_of: a description's offset as preadv2's (-1: the file position).
off_t offset_of(std::uint64_t off) { return off == kAtPosition ? -1 : static_cast<off_t>(off); }
loff_t* splice_offset(std::uint64_t off, loff_t& storage) {
  storage = static_cast<loff_t>(off);
  return off == kAtPosition ? nullptr : &storage;
}

}  // namespace

int blocking_syscall(const OpDesc& d) noexcept {
  switch (d.kind) {
    case OpKind::nop: return 0;
    case OpKind::read: {
      iovec iov{d.buffer.data, d.buffer.len};
      return sys(::preadv2(d.fd, &iov, 1, offset_of(d.buffer.offset), 0));
    }
    case OpKind::write: {
      iovec iov{d.buffer.data, d.buffer.len};
      return sys(::pwritev2(d.fd, &iov, 1, offset_of(d.buffer.offset), 0));
    }
    case OpKind::readv:
      return sys(::preadv2(d.fd, d.vector.iov, static_cast<int>(d.vector.count), offset_of(d.vector.offset), 0));
    case OpKind::writev:
      return sys(::pwritev2(d.fd, d.vector.iov, static_cast<int>(d.vector.count), offset_of(d.vector.offset), 0));
    case OpKind::splice: {
      loff_t in = 0, out = 0;
      return sys(::splice(d.splice.fd_in, splice_offset(d.splice.off_in, in), d.fd, splice_offset(d.splice.off_out, out),
                          d.splice.len, d.splice.flags));
    }
    case OpKind::tee: return sys(::tee(d.splice.fd_in, d.fd, d.splice.len, d.splice.flags));
    case OpKind::socket: return sys(::socket(d.socket.domain, d.socket.type, d.socket.protocol));
    case OpKind::bind: return sys(::bind(d.fd, d.address.addr, d.address.len));
    case OpKind::listen: return sys(::listen(d.fd, static_cast<int>(d.value)));
    case OpKind::shutdown: return sys(::shutdown(d.fd, static_cast<int>(d.value)));
    case OpKind::close: return sys(::close(d.fd));
    case OpKind::ftruncate: return sys(::ftruncate(d.fd, static_cast<off_t>(d.range.len)));
    case OpKind::fallocate:
      return sys(::fallocate(d.fd, d.range.mode, static_cast<off_t>(d.range.offset), static_cast<off_t>(d.range.len)));
    case OpKind::fsync: return sys(::fsync(d.fd));
    case OpKind::fdatasync: return sys(::fdatasync(d.fd));
    case OpKind::openat: return sys(::openat(d.fd, d.path.path, d.path.flags, d.path.mode));
    case OpKind::statx: return sys(::statx(d.fd, d.path.path, d.path.flags, d.path.mode, d.path.statx_out));
    case OpKind::unlinkat: return sys(::unlinkat(d.fd, d.path.path, d.path.flags));
    case OpKind::mkdirat: return sys(::mkdirat(d.fd, d.path.path, d.path.mode));
    case OpKind::renameat:
      return sys(::renameat2(d.fd, d.paths.old_path, d.paths.new_dirfd, d.paths.new_path, d.paths.flags));
    case OpKind::linkat:
      return sys(::linkat(d.fd, d.paths.old_path, d.paths.new_dirfd, d.paths.new_path, static_cast<int>(d.paths.flags)));
    case OpKind::symlinkat: return sys(::symlinkat(d.paths.old_path, d.fd, d.paths.new_path));
    case OpKind::recv:
    case OpKind::send:
    case OpKind::recvmsg:
    case OpKind::sendmsg:
    case OpKind::accept:
    case OpKind::connect:
    case OpKind::poll: break;
  }
  return -EOPNOTSUPP;
}

}  // namespace weft::io
