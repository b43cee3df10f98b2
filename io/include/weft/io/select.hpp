// weft/io/select.hpp: an IO operation as a branch of weft::select, beside channel operations and
// timers: wait for whichever comes first, e.g. data on a socket, a message, or a deadline.
//
//   std::array<std::byte, 512> buf;
//   auto taken = weft::select(weft::io::on_io(weft::io::op_recv(fd, buf), [&](weft::Result<std::size_t> n) { ... }),
//                             weft::on_recv(quit_rx, [&](int) { ... }),
//                             weft::after(5s, [&] { ... }));
//
// The operation is one io::Op (weft/io/link.hpp: op_read, op_write, op_recv, op_send, op_fsync,
// op_nop) and the handler receives its Result<std::size_t>. When another branch wins, the operation
// is cancelled and select returns only after its final completion, so `buf` may live on the stack.
//
// How it waits, per backend:
// - io_uring: the operation is submitted when select arms the branch and wins by completing. A
//   losing operation that completed before its cancel took effect keeps its result: result()
//   tells (e.g. bytes a losing recv read into the buffer).
// - epoll: the branch wins when the fd is *ready* (or at once when the non-blocking try
//   succeeded), and the operation then runs when the handler is called; a losing branch consumed
//   nothing. If another reader drained the fd in between, the operation waits again, like a
//   plain io::recv.
// Errors: the handler gets the operation's errno, errc::not_in_fiber outside a fiber, or
// std::errc::function_not_supported on a runtime without an IO backend.
//
// Thread-safety: a branch object belongs to one select at a time; the operation's buffers must
// stay valid until select returns.
#pragma once

#include <weft/io/link.hpp>
#include <weft/sched/error.hpp>
#include <weft/sched/select_branch.hpp>

#include <memory>
#include <type_traits>
#include <utility>

namespace weft::io {
namespace detail {

// IoBranchOp: the operation's state while armed (io/src/io_branch.cpp). Heap-allocated so the
// header needs no backend types; a select on IO costs one allocation per branch.
struct IoBranchOp;
struct IoBranchOpDeleter {
  void operator()(IoBranchOp* p) const noexcept;
};
using IoBranchOpPtr = std::unique_ptr<IoBranchOp, IoBranchOpDeleter>;

IoBranchOpPtr io_branch_make(const Op& op);
void io_branch_arm(IoBranchOp& b, sched::SelectState& sel, std::uint32_t index);
void io_branch_disarm(IoBranchOp& b) noexcept;
bool io_branch_settled(const IoBranchOp& b) noexcept;
// io_branch_result: the operation's result once settled (on epoll, runs the operation when only
// readiness was observed and `run` is set).
Result<std::size_t> io_branch_result(IoBranchOp& b, bool run);

}  // namespace detail

// IoBranch: made by on_io; see the file comment.
template <class F>
class IoBranch final : public sched::SelectBranch {
 public:
  IoBranch(const Op& op, F f) : op_(detail::io_branch_make(op)), f_(std::move(f)) {}

  bool try_complete(sched::SelectState&, std::uint32_t) override { return false; }  // arm tries
  void arm(sched::SelectState& sel, std::uint32_t index) override { detail::io_branch_arm(*op_, sel, index); }
  void disarm(sched::SelectState&) noexcept override { detail::io_branch_disarm(*op_); }
  bool settled() const noexcept override { return detail::io_branch_settled(*op_); }

  // fire: runs the handler with the operation's result (select calls it on the winner).
  Result<void> fire() {
    f_(detail::io_branch_result(*op_, /*run=*/true));
    return {};
  }
  // result: the operation's result after a select in which this branch lost (io_uring: it may
  // have completed before its cancel; epoll: always errc::cancelled, nothing was consumed).
  Result<std::size_t> result() { return detail::io_branch_result(*op_, /*run=*/false); }

 private:
  detail::IoBranchOpPtr op_;
  F f_;
};

// on_io: a select branch that runs `op` and calls f(Result<std::size_t>) when it wins.
template <class F>
  requires std::is_invocable_v<std::decay_t<F>&, Result<std::size_t>>
IoBranch<std::decay_t<F>> on_io(const Op& op, F&& f) {
  return IoBranch<std::decay_t<F>>(op, std::forward<F>(f));
}

}  // namespace weft::io
