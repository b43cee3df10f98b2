// op_desc.hpp: an io::Op (weft/io/link.hpp, the public description of one operation) as an SQE,
// the description both backends run (epoll_driver.hpp). Used by linked chains and select branches.
#pragma once

#include <weft/io/link.hpp>

#include <liburing.h>

namespace weft::io {

inline void prep_op(io_uring_sqe* s, const Op& op) {
  const unsigned len = op.len > 0xFFFFFFFFu ? 0xFFFFFFFFu : static_cast<unsigned>(op.len);
  switch (op.kind) {
    case Op::Kind::nop: io_uring_prep_nop(s); break;
    case Op::Kind::read: io_uring_prep_read(s, op.fd, op.buf, len, op.offset); break;
    case Op::Kind::write: io_uring_prep_write(s, op.fd, op.buf, len, op.offset); break;
    case Op::Kind::recv: io_uring_prep_recv(s, op.fd, op.buf, op.len, op.flags); break;
    case Op::Kind::send: io_uring_prep_send(s, op.fd, op.buf, op.len, op.flags); break;
    case Op::Kind::fsync: io_uring_prep_fsync(s, op.fd, 0); break;
  }
}

}  // namespace weft::io
