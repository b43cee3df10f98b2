// link.cpp: linked chains, run through the same op protocol as single operations (op_wait.hpp).
// On io_uring the kernel runs the chain; on epoll the fiber runs it in order with the same
// semantics: a soft chain stops at the first failure (error or short transfer) and the rest report
// errc::cancelled; the deadline applies to the last operation, as a linked timeout does.
#include <weft/io/link.hpp>
#include <weft/sched/waker.hpp>

#include "epoll_backend.hpp"
#include "op_desc.hpp"
#include "op_wait.hpp"
#include "uring_backend.hpp"

#include <array>
#include <memory>

namespace weft::io {
namespace {

constexpr std::size_t kMaxChain = 64;

void fill(std::span<Result<std::size_t>> out, std::error_code ec) {
  for (auto& r : out) r = fail(ec);
}

Result<std::size_t> as_size(Result<int> r) {
  return r ? Result<std::size_t>(static_cast<std::size_t>(*r)) : Result<std::size_t>(fail(r.error()));
}

// broke_chain: what stops a soft chain (IOSQE_IO_LINK): an error, or fewer bytes than asked.
bool broke_chain(const Op& op, const Result<int>& r) {
  if (!r) return true;
  switch (op.kind) {
    case Op::Kind::read:
    case Op::Kind::write:
    case Op::Kind::recv:
    case Op::Kind::send: return static_cast<std::size_t>(*r) < clamp_len(op.len);  // what it asked for
    default: return false;
  }
}

void run_chain_epoll(std::span<const Op> ops, std::span<Result<std::size_t>> out, LinkMode mode,
                     std::chrono::steady_clock::time_point deadline, sched::Task* self) {
  bool broken = false;
  for (std::size_t i = 0; i < ops.size(); ++i) {
    if (broken) {
      out[i] = fail(errc::cancelled);
      continue;
    }
    io_uring_sqe sqe{};
    prep_op(&sqe, ops[i]);
    const auto op_deadline = i + 1 == ops.size() ? deadline : std::chrono::steady_clock::time_point::max();
    Result<int> r = self->cancel_requested() ? Result<int>(fail(errc::cancelled)) : epoll_execute(sqe, op_deadline, self);
    out[i] = as_size(r);
    broken = mode == LinkMode::soft && broke_chain(ops[i], r);
  }
}

}  // namespace

void run_chain(std::span<const Op> ops, std::span<Result<std::size_t>> out, LinkMode mode,
               std::chrono::steady_clock::time_point deadline) {
  sched::Task* self = sched::current_task();
  if (ops.size() != out.size() || ops.empty() || ops.size() > kMaxChain) {
    return fill(out, std::make_error_code(std::errc::invalid_argument));
  }
  if (!self) return fill(out, make_error_code(errc::not_in_fiber));
  if (self->cancel_requested()) return fill(out, make_error_code(errc::cancelled));
  if (current_epoll()) return run_chain_epoll(ops, out, mode, deadline, self);
  UringBackend* ring = current_uring();
  if (!ring) return fill(out, std::make_error_code(std::errc::function_not_supported));

  std::array<IoOp, kMaxChain> uops;
  const std::size_t n = ops.size();
  const bool timed = deadline != std::chrono::steady_clock::time_point::max();
  const unsigned slots = static_cast<unsigned>(n + (timed ? 1 : 0));
  const unsigned link_flag = mode == LinkMode::hard ? IOSQE_IO_HARDLINK : IOSQE_IO_LINK;
  // fill: the chain's SQEs, each from next(): the ring's, or images while it waits for room.
  auto fill = [&](auto next) {
    for (std::size_t i = 0; i < n; ++i) {
      IoOp& u = uops[i];
      u.task = self;
      u.backend = ring;
      u.pending.store(1, std::memory_order_relaxed);
      io_uring_sqe* s = next();
      prep_op(s, ops[i]);
      io_uring_sqe_set_data64(s, reinterpret_cast<std::uint64_t>(&u) | UringBackend::kTagMain);
      if (i + 1 < n || timed) s->flags |= link_flag;
    }
    if (timed) {
      IoOp& last = uops[n - 1];
      const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(deadline.time_since_epoch()).count();
      last.deadline = __kernel_timespec{ns / 1'000'000'000, ns % 1'000'000'000};
      io_uring_sqe* t = next();
      io_uring_prep_link_timeout(t, &last.deadline, IORING_TIMEOUT_ABS);
      io_uring_sqe_set_data64(t, reinterpret_cast<std::uint64_t>(&last) | UringBackend::kTagTimeout);
      last.pending.store(2, std::memory_order_relaxed);
    }
  };
  if (ring->has_room(slots)) {
    ring->reserve(slots);  // one chain must not be split
    fill([ring] { return ring->sqe(); });
    ring->note_queued(slots);
    wait_for_completion(std::span(uops.data(), n), self);
  } else {
    auto images = std::make_unique<SqeImages<kMaxChain + 1>>();  // 4 KiB: off the fiber's stack
    fill([&images] { return images->next(); });
    Deferred d{.ops = std::span(uops.data(), n), .sqes = images->data(), .slots = slots,
               .timed = timed ? &uops[n - 1] : nullptr};
    ring->defer(d);
    // The linked timeout starts when the chain reaches the kernel; until then the fiber keeps it.
    wait_for_completion(std::span(uops.data(), n), self, deadline);
  }
  for (std::size_t i = 0; i < n; ++i) {
    // In a soft chain, an op after a failure completes with -ECANCELED: the chain broke.
    out[i] = as_size(op_result(uops[i], /*cancelled_by_chain=*/mode == LinkMode::soft && i > 0));
  }
}

}  // namespace weft::io
