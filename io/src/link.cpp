// link.cpp: linked chains (weft/io/link.hpp): the public Ops translated into descriptions and run
// as one Submission through the dispatch point, under the same op protocol as single operations.
// On io_uring the kernel runs the chain; on epoll the fiber runs it in order with the same
// semantics (epoll_run).
#include <weft/io/link.hpp>

#include "dispatch.hpp"
#include "op_wait.hpp"

#include <array>

namespace weft::io {
namespace {

constexpr std::size_t kMaxChain = 64;

void fill(std::span<Result<std::size_t>> out, std::error_code ec) {
  for (auto& r : out) r = fail(ec);
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
  const std::size_t n = ops.size();
  std::array<OpDesc, kMaxChain> descs;
  std::array<IoOp, kMaxChain> uops;
  for (std::size_t i = 0; i < n; ++i) {
    descs[i] = to_desc(ops[i]);
    uops[i].task = self;
  }
  const Submission sub{.descs = std::span(descs.data(), n), .ops = std::span(uops.data(), n), .mode = mode,
                       .deadline = deadline};
  if (!run_submission(sub)) return fill(out, std::make_error_code(std::errc::function_not_supported));
  for (std::size_t i = 0; i < n; ++i) {
    // In a soft chain, an op after a failure completes with -ECANCELED: the chain broke.
    const Result<int> r = op_result(uops[i], /*cancelled_by_chain=*/mode == LinkMode::soft && i > 0);
    out[i] = r ? Result<std::size_t>(static_cast<std::size_t>(*r)) : Result<std::size_t>(fail(r.error()));
  }
}

}  // namespace weft::io
