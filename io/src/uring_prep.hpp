// uring_prep.hpp: the io_uring translation of an OpDesc (op_desc.hpp): one liburing prep helper per
// kind. Inline so a call site whose kind is a constant (every operation in ops.cpp) compiles to its
// one prep, with no switch left on the hot path.
//
// Thread-safety: writes only the SQE it is given (the ring owner's).
#pragma once

#include "op_desc.hpp"

#include <liburing.h>

#include <utility>

namespace weft::io {

// prep_sqe: fills `s` with the operation `d` describes. Not for what runs_inline(d) runs directly.
[[gnu::always_inline]] inline void prep_sqe(io_uring_sqe* s, const OpDesc& d) noexcept {
  switch (d.kind) {
    case OpKind::nop: return io_uring_prep_nop(s);
    case OpKind::read: return io_uring_prep_read(s, d.fd, d.buffer.data, d.buffer.len, d.buffer.offset);
    case OpKind::write: return io_uring_prep_write(s, d.fd, d.buffer.data, d.buffer.len, d.buffer.offset);
    case OpKind::readv: return io_uring_prep_readv(s, d.fd, d.vector.iov, d.vector.count, d.vector.offset);
    case OpKind::writev: return io_uring_prep_writev(s, d.fd, d.vector.iov, d.vector.count, d.vector.offset);
    case OpKind::recv: return io_uring_prep_recv(s, d.fd, d.buffer.data, d.buffer.len, d.buffer.flags);
    case OpKind::send: return io_uring_prep_send(s, d.fd, d.buffer.data, d.buffer.len, d.buffer.flags);
    case OpKind::recvmsg:
      return io_uring_prep_recvmsg(s, d.fd, d.message.msg, static_cast<unsigned>(d.message.flags));
    case OpKind::sendmsg:
      return io_uring_prep_sendmsg(s, d.fd, d.message.msg, static_cast<unsigned>(d.message.flags));
    case OpKind::accept: return io_uring_prep_accept(s, d.fd, d.accept.addr, d.accept.addr_len, d.accept.flags);
    case OpKind::connect: return io_uring_prep_connect(s, d.fd, d.address.addr, d.address.len);
    case OpKind::poll: return io_uring_prep_poll_add(s, d.fd, d.value);
    case OpKind::shutdown: return io_uring_prep_shutdown(s, d.fd, static_cast<int>(d.value));
    case OpKind::socket:
      return io_uring_prep_socket(s, d.socket.domain, d.socket.type, d.socket.protocol, 0);
    case OpKind::splice:
      return io_uring_prep_splice(s, d.splice.fd_in, static_cast<std::int64_t>(d.splice.off_in), d.fd,
                                  static_cast<std::int64_t>(d.splice.off_out), d.splice.len, d.splice.flags);
    case OpKind::tee: return io_uring_prep_tee(s, d.splice.fd_in, d.fd, d.splice.len, d.splice.flags);
    case OpKind::statx:
      return io_uring_prep_statx(s, d.fd, d.path.path, d.path.flags, d.path.mode, d.path.statx_out);
    case OpKind::fallocate: return io_uring_prep_fallocate(s, d.fd, d.range.mode, d.range.offset, d.range.len);
    case OpKind::openat:
      return io_uring_prep_openat(s, d.fd, d.path.path, d.path.flags, d.path.mode);
    case OpKind::unlinkat: return io_uring_prep_unlinkat(s, d.fd, d.path.path, d.path.flags);
    case OpKind::mkdirat: return io_uring_prep_mkdirat(s, d.fd, d.path.path, d.path.mode);
    case OpKind::renameat:
      return io_uring_prep_renameat(s, d.fd, d.paths.old_path, d.paths.new_dirfd, d.paths.new_path, d.paths.flags);
    case OpKind::linkat:
      return io_uring_prep_linkat(s, d.fd, d.paths.old_path, d.paths.new_dirfd, d.paths.new_path,
                                  static_cast<int>(d.paths.flags));
    case OpKind::symlinkat: return io_uring_prep_symlinkat(s, d.paths.old_path, d.fd, d.paths.new_path);
    case OpKind::close: return io_uring_prep_close(s, d.fd);
    case OpKind::fsync: return io_uring_prep_fsync(s, d.fd, 0);
    case OpKind::fdatasync: return io_uring_prep_fsync(s, d.fd, IORING_FSYNC_DATASYNC);
    case OpKind::bind:
    case OpKind::listen:
    case OpKind::ftruncate: break;  // runs_inline: never submitted
  }
  std::unreachable();
}

}  // namespace weft::io
