// op_desc.hpp: an io::Op (weft/io/link.hpp, the public description of one operation) as an SQE,
// the description both backends run (epoll_backend.hpp). Used by linked chains and select branches.
#pragma once

#include <weft/io/link.hpp>

#include <liburing.h>

#include <algorithm>
#include <climits>
#include <cstddef>

namespace weft::io {

// kMaxIoLen: the most bytes one read, write, recv, send, splice or tee asks for: INT_MAX rounded
// down to a 4 KiB page, Linux's MAX_RW_COUNT. An SQE's length has 32 bits (4 GiB would read as 0),
// io_uring refuses a read or write longer than INT_MAX with EINVAL, and the kernel shortens every
// transfer to MAX_RW_COUNT anyway (less on bigger pages), so a longer buffer makes a short transfer,
// which callers handle already. Both backends read the length from the SQE.
inline constexpr std::size_t kMaxIoLen = INT_MAX & ~std::size_t{4095};

// clamp_len: a buffer's length as an SQE's, at most kMaxIoLen.
inline unsigned clamp_len(std::size_t n) noexcept { return static_cast<unsigned>(std::min(n, kMaxIoLen)); }

inline void prep_op(io_uring_sqe* s, const Op& op) {
  const unsigned len = clamp_len(op.len);
  switch (op.kind) {
    case Op::Kind::nop: io_uring_prep_nop(s); break;
    case Op::Kind::read: io_uring_prep_read(s, op.fd, op.buf, len, op.offset); break;
    case Op::Kind::write: io_uring_prep_write(s, op.fd, op.buf, len, op.offset); break;
    case Op::Kind::recv: io_uring_prep_recv(s, op.fd, op.buf, len, op.flags); break;
    case Op::Kind::send: io_uring_prep_send(s, op.fd, op.buf, len, op.flags); break;
    case Op::Kind::fsync: io_uring_prep_fsync(s, op.fd, 0); break;
  }
}

}  // namespace weft::io
