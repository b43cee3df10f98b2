// io_op.hpp: IoOp, one operation in flight, and IoBackend, what each backend gives the op protocol.
//
// The op protocol, shared by both backends (why a buffer on a fiber's stack is never written after
// the fiber moved on):
// - Every reference a backend holds to an op counts in op.pending: on io_uring each SQE naming it
//   (the op, its linked timeout, a cancel aimed at it) until its CQE; on epoll its place in a
//   readiness wait list, or its job on the blocking pool, and each cancel request.
// - The one who drops the last reference (release_refs) wakes the fiber and only then sets `done`
//   (release); the fiber leaves when it sees `done` (acquire). Everything the backend wrote (res,
//   timed_out) happened before, and nothing touches the op or the task afterwards, so no reference
//   counting is needed on the hot path. A fiber that runs while pending is 0 but `done` is not yet
//   set (woken early by a cancel) yields until the last two instructions are through.
// - Cancellation is a request to the op's backend, which only its owner thread carries out: a
//   request from another thread (the fiber woken on another worker, a timer) is posted to the
//   owner and the owner unparked. The request holds its own reference, so the op outlives it.
//
// Thread-safety: IoOp fields other than pending/done belong to whoever holds the last reference;
// IoBackend::cancel is safe from any thread.
#pragma once

#include <weft/sched/driver.hpp>
#include <weft/sched/select_branch.hpp>
#include <weft/sched/task.hpp>
#include <weft/sched/waker.hpp>

#include <linux/time_types.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <vector>

namespace weft::io {

class IoBackend;
struct Deferred;

struct IoOp {
  sched::Task* task = nullptr;
  std::atomic<int> pending{0};
  std::atomic<bool> done{false};
  int res = 0;               // the result: a value >= 0 or -errno (-ECANCELED when cancelled)
  bool timed_out = false;    // the op's deadline fired (set by whoever observed it)
  bool cancel_sent = false;  // the fiber requested cancellation (fiber only)
  IoBackend* backend = nullptr;
  // io_uring: the absolute deadline its linked timeout reads.
  __kernel_timespec deadline{};
  // io_uring: the unit it waits in for room under the ring's in-flight cap (owner thread only).
  Deferred* deferred = nullptr;
  // epoll: the readiness wait, owned by the backend's thread while `waiting`.
  int fd = -1;
  std::uint32_t events = 0;
  bool waiting = false;
  std::uint64_t epoch = 0;  // the close epoch when it started waiting (epoll_driver.hpp)
  IoOp* prev = nullptr;
  IoOp* next = nullptr;
  // select: an op armed as a select branch completes by claiming the select (settle_select)
  // instead of waking its task directly.
  sched::SelectState* select = nullptr;
  std::uint32_t select_index = 0;
  sched::Waker select_waker;
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

// Driver::kind() tags of the two backends.
extern const char kUringKind;
extern const char kEpollKind;

// IoBackend: a worker's driver that runs IO operations.
class IoBackend : public sched::Driver {
 public:
  // cancel: carries out a cancel request for `op` (which op.pending already counts) on the owner
  // thread: at once when called there, else posted to it. Any thread.
  void cancel(IoOp& op);

 protected:
  explicit IoBackend(const void* kind) noexcept : sched::Driver(kind) {}
  // cancel_local: owner thread; must eventually release the request's reference.
  virtual void cancel_local(IoOp& op) = 0;
  // drain_posted_cancels: owner thread, before it waits or polls. Returns whether it carried out
  // any request (which may have woken a task onto this worker: the caller must not then sleep).
  bool drain_posted_cancels();
  // bump: adds n to a counter only the owner thread writes: a relaxed load and store, no locked
  // instruction on the hot path; other threads' relaxed loads (io_counters) see a recent value.
  static void bump(std::atomic<std::uint64_t>& c, std::uint64_t n = 1) noexcept {
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }

 private:
  std::mutex posted_mu_;
  std::vector<IoOp*> posted_;
  std::atomic<bool> has_posted_{false};
};

// current_backend: the backend of the worker running the calling fiber; nullptr elsewhere (a
// plain thread, or a scheduler whose workers have no IO backend).
IoBackend* current_backend() noexcept;

}  // namespace weft::io
