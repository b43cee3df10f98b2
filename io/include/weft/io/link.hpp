// weft/io/link.hpp: linked chains of operations, submitted together and run in order by the kernel.
//
// weft::io::link(a, b, c) runs a, then b, then c (IOSQE_IO_LINK) with one submission and one
// suspension of the fiber. With a soft link, a failing operation (an error, or a short read/write)
// cancels the rest: they report errc::cancelled. link_hard (IOSQE_IO_HARDLINK) runs every
// operation whatever the others returned. link_until ends the chain with a linked timeout, which
// io_uring attaches to the chain's last operation: if that one is still running at the deadline,
// it fails with std::errc::timed_out. The call returns after the kernel's final completion of every operation, so the
// buffers may live on the fiber's stack; it is a cancellation point like every IO call.
//
// Thread-safety: as for every IO operation (weft/io/ops.hpp).
//
//   auto [w, r] = weft::io::link(weft::io::op_write(fd, out, 0), weft::io::op_read(fd, in, 0));
//   if (!w || !r) { /* each has its own error */ }
#pragma once

#include <weft/sched/error.hpp>

#include <array>
#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>

namespace weft::io {

// Op: one operation of a chain, described (not yet run). Build with the op_* functions.
struct Op {
  enum class Kind : std::uint8_t { nop, read, write, recv, send, fsync };
  Kind kind = Kind::nop;
  int fd = -1;
  void* buf = nullptr;
  std::size_t len = 0;
  std::uint64_t offset = ~std::uint64_t{0};  // ~0: the file position
  int flags = 0;
};

inline Op op_nop() { return Op{}; }
inline Op op_read(int fd, std::span<std::byte> buf, std::uint64_t offset = ~std::uint64_t{0}) {
  return Op{Op::Kind::read, fd, buf.data(), buf.size(), offset, 0};
}
inline Op op_write(int fd, std::span<const std::byte> buf, std::uint64_t offset = ~std::uint64_t{0}) {
  return Op{Op::Kind::write, fd, const_cast<std::byte*>(buf.data()), buf.size(), offset, 0};
}
inline Op op_recv(int fd, std::span<std::byte> buf, int flags = 0) {
  return Op{Op::Kind::recv, fd, buf.data(), buf.size(), 0, flags};
}
inline Op op_send(int fd, std::span<const std::byte> buf, int flags = 0) {
  return Op{Op::Kind::send, fd, const_cast<std::byte*>(buf.data()), buf.size(), 0, flags};
}
inline Op op_fsync(int fd) { return Op{Op::Kind::fsync, fd, nullptr, 0, 0, 0}; }

enum class LinkMode : std::uint8_t { soft, hard };

// run_chain: the engine behind link(); out[i] receives ops[i]'s result. out.size() == ops.size()
// (at most 64 operations).
void run_chain(std::span<const Op> ops, std::span<Result<std::size_t>> out, LinkMode mode,
               std::chrono::steady_clock::time_point deadline);

// link: a soft-linked chain (a failure cancels the rest).
template <std::same_as<Op>... Ops>
std::array<Result<std::size_t>, sizeof...(Ops)> link(Ops... ops) {
  const std::array<Op, sizeof...(Ops)> in{ops...};
  std::array<Result<std::size_t>, sizeof...(Ops)> out;
  run_chain(in, out, LinkMode::soft, std::chrono::steady_clock::time_point::max());
  return out;
}

// link_hard: every operation runs whatever the others returned.
template <std::same_as<Op>... Ops>
std::array<Result<std::size_t>, sizeof...(Ops)> link_hard(Ops... ops) {
  const std::array<Op, sizeof...(Ops)> in{ops...};
  std::array<Result<std::size_t>, sizeof...(Ops)> out;
  run_chain(in, out, LinkMode::hard, std::chrono::steady_clock::time_point::max());
  return out;
}

// link_until: a soft chain whose last operation is timed out at `deadline`.
template <std::same_as<Op>... Ops>
std::array<Result<std::size_t>, sizeof...(Ops)> link_until(std::chrono::steady_clock::time_point deadline,
                                                           Ops... ops) {
  const std::array<Op, sizeof...(Ops)> in{ops...};
  std::array<Result<std::size_t>, sizeof...(Ops)> out;
  run_chain(in, out, LinkMode::soft, deadline);
  return out;
}

}  // namespace weft::io
