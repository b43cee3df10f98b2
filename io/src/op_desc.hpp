// op_desc.hpp: OpDesc, the one description of an IO operation, which every backend translates:
// io_uring into an SQE (uring_prep.hpp), epoll into a readiness wait plus the non-blocking syscall
// (epoll_run.cpp), the blocking pool and the operations that never wait into the blocking syscall
// (blocking_syscall.cpp). It says what to do, not how: no backend's field packing, no liburing.
//
// Shape: a kind tag, the file it runs on, and one small struct per family of kinds in a union
// (trivial types only, so an OpDesc is a plain value that lives wherever its operation waits: the
// fiber's stack, a select branch). The public io::Op (weft/io/link.hpp, what users put in chains and
// select branches) is translated into it once, by to_desc(). What a backend needs beyond the
// description (io_uring's linked-timeout time, epoll's place in a wait list) is that backend's wait
// state, not part of the description. Later kinds (multishot accept/recv, provided-buffer receives,
// SEND_ZC, a registered-file index) add a kind or a field here and a case in each translation.
//
// Invariants: every pointer in an OpDesc (buffers, iovecs, addresses, paths, result structs) stays
// valid until the operation's final completion (io_op.hpp); lengths are already clamped to
// kMaxIoLen.
//
// Thread-safety: a plain value.
#pragma once

#include <weft/io/link.hpp>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <algorithm>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <span>

namespace weft::io {

// kMaxIoLen: the most bytes one read, write, recv, send, splice or tee asks for: INT_MAX rounded
// down to a 4 KiB page, Linux's MAX_RW_COUNT. An SQE's length has 32 bits (4 GiB would read as 0),
// io_uring refuses a read or write longer than INT_MAX with EINVAL, and the kernel shortens every
// transfer to MAX_RW_COUNT anyway (less on bigger pages), so a longer buffer makes a short transfer,
// which callers handle already. Every backend reads the length from the description.
inline constexpr std::size_t kMaxIoLen = INT_MAX & ~std::size_t{4095};

// clamp_len: a buffer's length as a description's, at most kMaxIoLen.
inline unsigned clamp_len(std::size_t n) noexcept { return static_cast<unsigned>(std::min(n, kMaxIoLen)); }

// kAtPosition: the offset that means "at the file position" (read, write, readv, writev, splice).
inline constexpr std::uint64_t kAtPosition = ~std::uint64_t{0};

enum class OpKind : std::uint8_t {
  nop,
  read, write,          // Buffer
  readv, writev,        // Vector
  recv, send,           // Buffer (flags)
  recvmsg, sendmsg,     // Message
  accept,               // Accept
  connect, bind,        // Address
  listen,               // value: the backlog
  shutdown,             // value: how
  poll,                 // value: the events
  socket,               // Socket
  splice, tee,          // Splice (fd: the output)
  statx,                // Path + out
  fallocate,            // Range
  ftruncate,            // Range (len)
  openat, unlinkat, mkdirat,  // Path (fd: the directory)
  renameat, linkat, symlinkat,  // TwoPaths (fd: the old directory; symlinkat: the new one)
  close,
  fsync, fdatasync,
};

struct OpDesc {
  struct Buffer {  // read, write (offset kAtPosition: the file position), recv, send (flags)
    std::byte* data;
    unsigned len;
    int flags;
    std::uint64_t offset;
  };
  struct Vector {  // readv, writev
    const iovec* iov;
    unsigned count;
    std::uint64_t offset;
  };
  struct Message {  // recvmsg, sendmsg
    msghdr* msg;
    int flags;
  };
  struct Accept {
    sockaddr* addr;
    socklen_t* addr_len;
    int flags;
  };
  struct Address {  // connect, bind
    const sockaddr* addr;
    socklen_t len;
  };
  struct Socket {
    int domain, type, protocol;
  };
  struct Splice {  // splice, tee (no offsets); fd is the output
    int fd_in;
    unsigned len, flags;
    std::uint64_t off_in, off_out;  // kAtPosition: the file position (or a pipe)
  };
  struct Path {  // openat, unlinkat, mkdirat, statx
    const char* path;
    int flags;
    unsigned mode;         // openat, mkdirat; statx: the mask
    struct statx* statx_out;
  };
  struct TwoPaths {  // renameat, linkat (old at fd, new at new_dirfd), symlinkat (target, new at fd)
    const char* old_path;
    int new_dirfd;
    const char* new_path;
    unsigned flags;
  };
  struct Range {  // fallocate, ftruncate (len only)
    int mode;
    std::uint64_t offset, len;
  };

  OpKind kind = OpKind::nop;
  int fd = -1;  // the file it runs on; -1: none (nop, socket)
  union {
    Buffer buffer;
    Vector vector;
    Message message;
    Accept accept;
    Address address;
    Socket socket;
    Splice splice;
    Path path;
    TwoPaths paths;
    Range range;
    unsigned value;  // listen: the backlog; shutdown: how; poll: the events
  };

  OpDesc() noexcept : value(0) {}
  OpDesc(OpKind k, int f) noexcept : kind(k), fd(f), value(0) {}
};

// names_fd: whether `d` runs on `fd` (its file, a directory it resolves paths in, or splice's and
// tee's input): what a close of `fd` ends (io_op.hpp, "Closing an fd").
inline bool names_fd(const OpDesc& d, int fd) noexcept {
  if (fd < 0) return false;
  if (d.kind == OpKind::splice || d.kind == OpKind::tee) return d.fd == fd || d.splice.fd_in == fd;
  return d.fd == fd;
}

// runs_inline: whether `d` never waits (binding an address, listening, truncating a file), so it
// runs as its syscall at once, on any thread, on every backend (IORING_OP_BIND, LISTEN and
// FTRUNCATE need a newer liburing than Debian 12's 2.3; when one is native it leaves this list).
inline bool runs_inline(const OpDesc& d) noexcept {
  return d.kind == OpKind::bind || d.kind == OpKind::listen || d.kind == OpKind::ftruncate;
}

// asked_len: the bytes a transfer asked for (read, write, recv, send; 0 for other kinds): fewer
// breaks a soft-linked chain, as io_uring counts a short transfer as a failure.
inline unsigned asked_len(const OpDesc& d) noexcept {
  switch (d.kind) {
    case OpKind::read:
    case OpKind::write:
    case OpKind::recv:
    case OpKind::send: return d.buffer.len;
    default: return 0;
  }
}

// ---- builders: one per kind, as the operations in weft/io/ops.hpp take their arguments ---------

inline OpDesc desc_buffer(OpKind k, int fd, std::byte* data, std::size_t len, std::uint64_t offset, int flags) {
  OpDesc d(k, fd);
  d.buffer = {data, clamp_len(len), flags, offset};
  return d;
}
inline OpDesc desc_read(int fd, std::span<std::byte> buf, std::uint64_t offset = kAtPosition) {
  return desc_buffer(OpKind::read, fd, buf.data(), buf.size(), offset, 0);
}
inline OpDesc desc_write(int fd, std::span<const std::byte> buf, std::uint64_t offset = kAtPosition) {
  return desc_buffer(OpKind::write, fd, const_cast<std::byte*>(buf.data()), buf.size(), offset, 0);
}
inline OpDesc desc_recv(int fd, std::span<std::byte> buf, int flags) {
  return desc_buffer(OpKind::recv, fd, buf.data(), buf.size(), 0, flags);
}
inline OpDesc desc_send(int fd, std::span<const std::byte> buf, int flags) {
  return desc_buffer(OpKind::send, fd, const_cast<std::byte*>(buf.data()), buf.size(), 0, flags);
}
inline OpDesc desc_fsync(int fd, bool data_only = false) {
  return OpDesc(data_only ? OpKind::fdatasync : OpKind::fsync, fd);
}

// to_desc: the public description of a chain's or a select branch's operation, translated.
inline OpDesc to_desc(const Op& op) {
  switch (op.kind) {
    case Op::Kind::nop: return OpDesc();
    case Op::Kind::read: return desc_buffer(OpKind::read, op.fd, static_cast<std::byte*>(op.buf), op.len, op.offset, 0);
    case Op::Kind::write:
      return desc_buffer(OpKind::write, op.fd, static_cast<std::byte*>(op.buf), op.len, op.offset, 0);
    case Op::Kind::recv: return desc_buffer(OpKind::recv, op.fd, static_cast<std::byte*>(op.buf), op.len, 0, op.flags);
    case Op::Kind::send: return desc_buffer(OpKind::send, op.fd, static_cast<std::byte*>(op.buf), op.len, 0, op.flags);
    case Op::Kind::fsync: return desc_fsync(op.fd);
  }
  return OpDesc();
}

}  // namespace weft::io
