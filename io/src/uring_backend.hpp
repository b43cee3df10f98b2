// uring_backend.hpp: UringBackend, the ring of one worker, the io_uring backend of the op protocol
// (io_op.hpp), and UringUnit, its wait state for one submission.
//
// Submitting (submit(), the one place SQEs of operations are written): each operation's SQE is its
// description translated (uring_prep.hpp), tagged with its op; a chain's SQEs are linked (hard or
// soft) and reserved together, since a submit in between would split the chain; a deadline adds a
// linked IORING_OP_LINK_TIMEOUT with an absolute CLOCK_MONOTONIC time, read by the kernel from the
// UringUnit, which lives with the ops until their final completion. The SQEs are only queued: the
// owner submits everything its fibers queued during a tick with one io_uring_enter (poll()/park()).
//
// How the protocol maps onto the ring: every SQE that names an op (the op itself, its linked
// timeout, a cancel aimed at it) adds one to op.pending before it is queued, and its CQE releases
// it. user_data is the op's address with a tag in the low bits (IoOp is 8-byte aligned) saying which
// of the three the CQE belongs to. Only the owner thread submits: a cancel from elsewhere is posted
// (IoBackend::cancel) and queued by the owner.
//
// Wake-ups (unpark, from any thread). A read on the EventSource is always armed, so an eventfd
// write always ends the owner's wait; that is how a plain thread wakes a ring. A thread that owns a
// ring itself (owned_ring(), set by the constructor on the owner thread) instead queues an
// IORING_OP_MSG_RING on its own ring, which posts a CQE tagged kWakeMsg into the target's CQ: that
// ends the target's io_uring_enter wait (DEFER_TASKRUN included: the kernel queues it as the
// target's task work and wakes the waiter) and saves the target re-arming a read. The waker's own
// ring sees no CQE for it (IOSQE_CQE_SKIP_SUCCESS) unless it failed, and then the CQE names the
// target (kTagWakeFailed) and its eventfd is written instead: no wake-up is lost. The MSG_RING is
// submitted at once (io_uring_submit, which never reaps, so a wake-up sent from inside reap() is
// safe): the waker may run fibers for a long while before its next io_uring_enter.
//
// The in-flight cap. in_flight() counts op SQEs queued or in flight; an op (or chain) whose SQEs
// would take it over max_in_flight_, or that finds others already waiting, is not put in the ring:
// its UringUnit joins a FIFO queue (the descriptions stay with it; its SQEs are written when it is
// admitted), and the fiber waits for its final completion as usual, keeping the deadline itself
// meanwhile (the linked timeout only starts in the kernel). Each op keeps the references its SQEs
// will hold, so the protocol does not change: after every reap the owner moves the queue's head
// into the ring while it fits (admit_deferred), and a cancel of a deferred op (cancel_local) unlinks
// its whole unit and completes every op of it with -ECANCELED. Cancels themselves never wait (they free room), so the
// cap may be passed by the cancels in flight. The owner thread alone touches the queue.
//
// Closing an fd (io_op.hpp, "Closing an fd"): close_local completes the queued units with an op
// that names the fd (they never reached the kernel; left there, they would run on a closed or
// reused number), then submits IORING_OP_ASYNC_CANCEL(FD | ALL) at once: the kernel looks the
// number up as it issues the cancel, and SQEs are issued in order, so every op queued before it on
// this ring is found, and the closer may close the number as soon as the submit returned. The
// cancel holds no op reference (kCloseCancel, not counted in in_flight()); each op it ends
// completes with -ECANCELED through the usual CQE. Needs Linux 5.19 (CANCEL_FD | CANCEL_ALL);
// an older kernel fails the cancel with EINVAL and the ops wait as before (for their deadline).
#pragma once

#include "io_backend.hpp"
#include "op_wait.hpp"
#include "submission.hpp"
#include "uring_prep.hpp"

#include <weft/io/uring_driver.hpp>
#include <weft/sched/event_source.hpp>
#include <weft/sched/timespec.hpp>

#include <liburing.h>

#include <atomic>
#include <chrono>
#include <cstdint>

namespace weft::io {

// UringUnit: io_uring's wait state for one submission: what the kernel reads besides the SQEs (the
// linked timeout's time) and the unit's place in the queue for room. Lives with the submission
// (the fiber's stack, a select branch) until every op's final completion. Owner thread only.
struct UringUnit {
  const Submission* sub = nullptr;
  __kernel_timespec deadline{};
  UringUnit* next = nullptr;  // in the queue for room
};

class UringBackend final : public IoBackend {
 public:
  // user_data tags in the low bits of an op's address.
  static constexpr std::uint64_t kTagMain = 0, kTagTimeout = 1, kTagCancel = 2, kTagMask = 7;
  static constexpr std::uint64_t kWakeRead = 1;  // the EventSource read (not an op address)
  static constexpr std::uint64_t kWakeMsg = 2;   // a MSG_RING wake-up from another ring
  static constexpr std::uint64_t kTagWakeFailed = 3;  // low bits of a failed MSG_RING: target | 3
  static constexpr std::uint64_t kCloseCancel = 5;    // a close's ASYNC_CANCEL(FD | ALL) (not an op)

  UringBackend(const UringOptions& options);  // throws std::system_error
  ~UringBackend() override;

  void park(std::chrono::steady_clock::time_point deadline) override;
  void unpark() noexcept override;
  void poll() override;

  // submit, run and write_sqes are always inlined: on the hot path of every operation, where the
  // kind of a single op is a constant that folds prep_sqe's switch away (w7_nop measures it: out
  // of line, the generic chain code cost a NOP about a third more of its user time).

  // submit: owner; queues the SQEs of `sub` (each op's references counted first), or, when the
  // ring is at its cap or others wait ahead, queues `unit` for room (see above). Returns whether it
  // was queued for room: the fiber then keeps the deadline itself until the ops reach the kernel.
  bool submit(const Submission& sub, UringUnit& unit);
  // run: submits `sub` and waits for the final completion of every op (op_wait.hpp).
  void run(const Submission& sub);

  // stats: the counters; any thread (relaxed loads of owner-written counters).
  UringStats stats() const noexcept;
  sched::IoCounters io_counters() const noexcept override;
  unsigned setup_flags() const noexcept { return setup_flags_; }
  int ring_fd() const noexcept { return ring_.ring_fd; }

 protected:
  // cancel_local: queues an ASYNC_CANCEL for `op` (its CQE releases the request's reference).
  void cancel_local(IoOp& op) override;
  // close_local: completes the queued units naming `fd`, then submits ASYNC_CANCEL(FD | ALL) for
  // it at once (see "Closing an fd" above).
  void close_local(int fd) override;

 private:
  // reserve: `n` free SQEs, submitting queued ones first when the SQ is short (make_room).
  void reserve(unsigned n) {
    if (io_uring_sq_space_left(&ring_) < n) make_room(n);
  }
  void make_room(unsigned n);
  // defer: queues `unit` (its ops' references counted) until room frees.
  void defer(UringUnit& unit) noexcept;
  // has_room: whether `n` more op SQEs may go into the ring now: under the cap with nobody waiting
  // ahead. A unit bigger than the cap fits an empty ring.
  bool has_room(unsigned n) const noexcept {
    return !deferred_head_ && (in_flight() + n <= max_in_flight_ || in_flight() == 0);
  }
  // write_sqes: the unit's SQEs into the ring, reserved together.
  void write_sqes(UringUnit& unit);
  void enter(bool wait, const __kernel_timespec* timeout);
  void reap();
  void arm_wake_read();
  // admit_deferred: moves waiting units into the ring, in order, while they fit.
  void admit_deferred();
  // cancel_deferred: takes a waiting unit out of the queue and completes its ops: those naming
  // `closed_fd` with -EBADF (closing it ended them), the others with -ECANCELED.
  void cancel_deferred(UringUnit& unit, int closed_fd = -1) noexcept;
  // submit_now: submits every queued SQE before returning (reaping when the CQ is full).
  void submit_now();
  // send_wake: owner of this ring: submits a MSG_RING wake-up of `target`. False when it could not
  // (SQ full, submit refused): the caller writes the eventfd instead.
  bool send_wake(UringBackend& target) noexcept;

  io_uring ring_{};
  unsigned setup_flags_ = 0;
  sched::EventSource wake_;
  std::uint64_t wake_buf_ = 0;
  bool wake_armed_ = false;
  bool msg_ring_ = false;  // options.msg_ring_wakeups and the kernel runs MSG_RING (probe)
  std::uint64_t max_in_flight_ = 0;
  UringUnit* deferred_head_ = nullptr;
  UringUnit* deferred_tail_ = nullptr;
  bool admitting_ = false;  // admit_deferred is running (its reserve() may reap and call it again)
  // Written only by the owner thread with bump() (relaxed load+store, no locked instruction), so
  // Runtime::metrics() may read them from another thread.
  std::atomic<std::uint64_t> enters_{0}, submitted_{0}, reaped_{0}, msg_ring_wakes_{0}, waited_{0}, cq_overflows_{0};
};

[[gnu::always_inline]] inline bool UringBackend::submit(const Submission& sub, UringUnit& unit) {
  unit.sub = &sub;
  unit.next = nullptr;
  for (IoOp& op : sub.ops) {
    op.backend = this;
    op.pending.store(1, std::memory_order_relaxed);  // its SQE
  }
  if (sub.timed()) {
    sub.ops.back().pending.store(2, std::memory_order_relaxed);  // and the linked timeout
    unit.deadline = sched::timespec_at<__kernel_timespec>(sub.deadline);
  }
  if (!has_room(static_cast<unsigned>(sub.ops.size()) + sub.timed())) {
    defer(unit);
    return true;
  }
  write_sqes(unit);
  return false;
}

[[gnu::always_inline]] inline void UringBackend::run(const Submission& sub) {
  UringUnit unit;
  const bool deferred = submit(sub, unit);
  // The linked timeout only starts once the SQEs reach the kernel: while the unit waits for room
  // the fiber keeps the deadline (when it passes first, the cancel takes the unit out of the queue).
  wait_for_completion(sub.ops, sub.ops.front().task, deferred ? sub.deadline : kNoDeadline);
}

[[gnu::always_inline]] inline void UringBackend::write_sqes(UringUnit& unit) {
  const Submission& sub = *unit.sub;
  const std::size_t n = sub.ops.size();
  const unsigned slots = static_cast<unsigned>(n) + sub.timed();
  const std::uint8_t link = sub.mode == LinkMode::hard ? IOSQE_IO_HARDLINK : IOSQE_IO_LINK;
  reserve(slots);  // all at once: a chain, or an op and its timeout, must not be split by a submit
  for (std::size_t i = 0; i < n; ++i) {
    io_uring_sqe* s = io_uring_get_sqe(&ring_);
    prep_sqe(s, sub.descs[i]);
    io_uring_sqe_set_data64(s, reinterpret_cast<std::uint64_t>(&sub.ops[i]) | kTagMain);
    if (i + 1 < n || sub.timed()) s->flags |= link;
  }
  if (sub.timed()) {
    io_uring_sqe* t = io_uring_get_sqe(&ring_);
    io_uring_prep_link_timeout(t, &unit.deadline, IORING_TIMEOUT_ABS);  // steady_clock = CLOCK_MONOTONIC
    io_uring_sqe_set_data64(t, reinterpret_cast<std::uint64_t>(&sub.ops.back()) | kTagTimeout);
  }
  add_in_flight(slots);
}

// owned_ring: the ring the calling thread owns (created, and alone submits to), nullptr when it
// owns none. Not inlined: a fiber must not keep a thread's value across a switch.
UringBackend* owned_ring() noexcept;

// current_uring: the ring of the worker running the calling fiber, nullptr elsewhere.
inline UringBackend* current_uring() noexcept {
  sched::Driver* d = sched::current_driver();
  return d && d->kind() == &kUringKind ? static_cast<UringBackend*>(d) : nullptr;
}

}  // namespace weft::io
