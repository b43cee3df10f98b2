// io_backend.cpp: what both backends share: posting cancel requests to the owner thread, and
// waiting for an op's final completion (op_wait.hpp).
#include "io_op.hpp"
#include "op_wait.hpp"

#include <weft/sched/this_fiber.hpp>

#include <cerrno>

namespace weft::io {

const char kUringKind = 0;
const char kEpollKind = 0;

IoBackend* current_backend() noexcept {
  sched::Driver* d = sched::current_driver();
  if (!d || (d->kind() != &kUringKind && d->kind() != &kEpollKind)) return nullptr;
  return static_cast<IoBackend*>(d);
}

void IoBackend::cancel(IoOp& op) {
  if (current_backend() == this) return cancel_local(op);
  {
    std::lock_guard lock(posted_mu_);
    posted_.push_back(&op);
  }
  // release pairs with drain_posted_cancels' acquire: the owner sees the request.
  has_posted_.store(true, std::memory_order_release);
  unpark();
}

bool IoBackend::drain_posted_cancels() {
  if (!has_posted_.load(std::memory_order_acquire)) return false;
  std::vector<IoOp*> ops;
  {
    std::lock_guard lock(posted_mu_);
    ops.swap(posted_);
    has_posted_.store(false, std::memory_order_relaxed);
  }
  for (IoOp* op : ops) cancel_local(*op);
  return !ops.empty();
}

bool request_cancel(IoOp& op) {
  // Only while a reference is still held: an op whose count reached zero is done (or about to be),
  // and a request taken on it then would outlive it.
  int p = op.pending.load(std::memory_order_acquire);
  while (p > 0) {
    if (op.pending.compare_exchange_weak(p, p + 1, std::memory_order_acq_rel, std::memory_order_acquire)) {
      op.cancel_sent = true;
      op.backend->cancel(op);
      return true;
    }
  }
  return false;
}

void settle_select(IoOp& op) noexcept {
  // The select's frame (and this op in it) may go once `done` is seen: take the Waker out first,
  // claim, publish, then wake through our own handle (sched/select_branch.hpp, settled()).
  sched::Waker w = std::move(op.select_waker);
  op.select->try_claim(op.select_index);
  op.done.store(true, std::memory_order_release);  // pairs with IoBranch::settled's acquire
  w.wake();
}

void wait_for_completion(std::span<IoOp> ops, sched::Task* self, Clock::time_point deadline) {
  bool cancel_sent = false;
  for (;;) {
    bool all_done = true, settling = false;
    for (const IoOp& op : ops) {
      // acquire pairs with release_refs' release of `done`: res and timed_out are visible.
      if (op.done.load(std::memory_order_acquire)) continue;
      all_done = false;
      if (op.pending.load(std::memory_order_acquire) == 0) settling = true;
    }
    if (all_done) return;
    if (settling) {
      this_fiber::yield();  // a releaser is between its last decrement and `done`
      continue;
    }
    if (!cancel_sent && self->cancel_requested()) {
      cancel_sent = true;
      for (IoOp& op : ops) request_cancel(op);
    }
    if (cancel_sent || deadline == Clock::time_point::max()) {
      sched::park();
    } else if (!sched::park_until(deadline)) {
      // The deadline passed (epoll: the fiber keeps its own deadlines, on its worker's timers).
      cancel_sent = true;
      for (IoOp& op : ops) {
        // Marked first: the owner may complete the cancel at once; only this fiber reads it.
        if (op.pending.load(std::memory_order_acquire) != 0) op.timed_out = true;
        request_cancel(op);
      }
    }
  }
}

Result<int> op_result(const IoOp& op, bool cancelled_by_chain) {
  if (op.res >= 0) return op.res;
  if (op.res == -ECANCELED && op.timed_out) return fail(std::errc::timed_out);
  if (op.res == -ECANCELED && (op.cancel_sent || cancelled_by_chain)) return fail(errc::cancelled);
  return fail(std::error_code(-op.res, std::system_category()));
}

}  // namespace weft::io
