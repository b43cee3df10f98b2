// io_op.hpp: IoOp, the waiting fiber's part of one operation in flight, common to every backend,
// and the op reference protocol that makes it safe.
//
// The op reference protocol (why a buffer on a fiber's stack is never written after the fiber moved
// on):
// - Every reference a backend holds to an op counts in op.pending: on io_uring each SQE naming it
//   (the op, its linked timeout, a cancel aimed at it) until its CQE, or its place in the queue for
//   room; on epoll its place in a readiness wait list, or its job on the blocking pool; and each
//   cancel request.
// - The one who drops the last reference (release_refs) wakes the fiber and only then sets `done`
//   (release); the fiber leaves when it sees `done` (acquire). Everything the backend wrote (res,
//   timed_out) happened before, and nothing touches the op or the task afterwards, so no reference
//   counting is needed on the hot path. A fiber that runs while pending is 0 but `done` is not yet
//   set (woken early by a cancel) yields until the last two instructions are through.
// - Cancellation is a request to the op's backend, which only its owner thread carries out: a
//   request from another thread (the fiber woken on another worker, a timer) is posted to the
//   owner and the owner unparked (io_backend.hpp). The request holds its own reference, so the op
//   outlives it (request_cancel takes it only while another reference is held).
// - A select branch's op (`select` set) claims the select with its last reference instead of
//   waking its task (settle_select), so "the branch completed" and "the op's final completion
//   arrived" are one moment.
//
// What is common is only this core. A backend keeps the rest of its wait state itself, next to
// the op on the waiting fiber's stack, and points `backend_state` at it while it needs to find it
// from the op (io_uring: its UringUnit while it waits for room under the cap; epoll: its
// EpollWaiter while it is in a wait list).
//
// Thread-safety: pending and done are atomics (above); res and timed_out are written by the holder
// of a reference before it drops it; cancel_sent and select by the fiber; backend_state by the
// backend's owner thread (the fiber sets it only while it runs there, before the op is visible).
#pragma once

#include <weft/sched/select_branch.hpp>
#include <weft/sched/task.hpp>
#include <weft/sched/waker.hpp>

#include <atomic>
#include <cstdint>

namespace weft::io {

class IoBackend;

// SelectHook: what an op armed as a select branch completes into (io_branch.cpp).
struct SelectHook {
  sched::SelectState* state = nullptr;
  std::uint32_t index = 0;
  sched::Waker waker;  // the select's, taken out before the claim (settle_select)
};

struct IoOp {
  sched::Task* task = nullptr;
  IoBackend* backend = nullptr;  // where a cancel request goes
  void* backend_state = nullptr;  // the backend's wait state for this op, when it must find it (above)
  SelectHook* select = nullptr;   // set: completes a select branch instead of waking `task`
  std::atomic<int> pending{0};
  std::atomic<bool> done{false};
  bool timed_out = false;    // the op's deadline fired (set by whoever observed it)
  bool cancel_sent = false;  // the fiber requested cancellation (fiber only)
  int res = 0;               // the result: a value >= 0 or -errno (-ECANCELED when cancelled)
};

// settle_select: the last reference of a select branch's op: claim, publish done, wake.
void settle_select(IoOp& op) noexcept;

// release_refs: drops `n` references; the last one wakes the fiber, then publishes `done`.
inline void release_refs(IoOp& op, int n) noexcept {
  // acq_rel: the last releaser sees every other releaser's writes to res/timed_out.
  if (op.pending.fetch_sub(n, std::memory_order_acq_rel) != n) return;
  if (op.select) return settle_select(op);
  // To the back of the run queue, not the LIFO slot: the completions of one reap are queued in
  // completion order behind the fibers already runnable (sched/src/run_queue.hpp, the order
  // promise), so the last one reaped does not jump ahead of everyone waiting.
  sched::wake_task(op.task, /*lifo=*/false);
  op.done.store(true, std::memory_order_release);  // pairs with wait_for_completion's acquire
}

}  // namespace weft::io
