// uring_backend.cpp: the io_uring backend (protocol in uring_backend.hpp).
#include "uring_backend.hpp"


#include <weft/sched/timespec.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <span>
#include <system_error>

namespace weft::io {
namespace {

// msg_ring_works: whether this kernel runs IORING_OP_MSG_RING (5.18+; a ring restricted with
// IORING_REGISTER_RESTRICTIONS refuses it): one message from `ring` to itself, on the fresh ring
// (nothing else is in flight on it, so every CQE seen here is the probe's).
bool msg_ring_works(io_uring& ring) {
  constexpr std::uint64_t kProbe = 4;  // the sender's CQE; never an op address (0 | tag 4)
  io_uring_sqe* s = io_uring_get_sqe(&ring);
  io_uring_prep_msg_ring(s, ring.ring_fd, 0, UringBackend::kWakeMsg, 0);
  io_uring_sqe_set_data64(s, kProbe);
  if (io_uring_submit(&ring) != 1) return false;
  for (;;) {
    io_uring_cqe* cqe = nullptr;
    if (io_uring_wait_cqe(&ring, &cqe) != 0) return false;
    const std::uint64_t data = cqe->user_data;
    const int res = cqe->res;
    io_uring_cqe_seen(&ring, cqe);
    if (data == kProbe) return res >= 0;  // else the message itself (it may come first)
  }
}

}  // namespace

UringBackend* owned_ring() noexcept {
  IoBackend* b = owned_backend();
  return b && b->kind() == &kUringKind ? static_cast<UringBackend*>(b) : nullptr;
}

UringBackend::UringBackend(const UringOptions& options) : IoBackend(&kUringKind) {
  // Strongest first: one submitter thread (SINGLE_ISSUER), completions processed only when this
  // thread asks (DEFER_TASKRUN, no interrupting task work), no IPIs (COOP_TASKRUN).
  static constexpr unsigned kFlagSets[] = {
      IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
      IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN,
      IORING_SETUP_COOP_TASKRUN,
      0,
  };
  int rc = -EINVAL;
  const unsigned exact[] = {options.flags};
  const std::span<const unsigned> sets =
      options.flags == UringOptions::kAutoFlags ? std::span<const unsigned>(kFlagSets) : std::span<const unsigned>(exact);
  for (unsigned flags : sets) {
    io_uring_params p{};
    p.flags = flags | IORING_SETUP_CQSIZE;
    p.cq_entries = options.cq_entries ? options.cq_entries : UringOptions::kDefaultCqEntries;
    rc = io_uring_queue_init_params(options.entries, &ring_, &p);
    if (rc == 0) {
      setup_flags_ = p.flags;
      break;
    }
    if (rc != -EINVAL) break;  // EINVAL: flags this kernel lacks; anything else is final
  }
  if (rc != 0) throw std::system_error(-rc, std::system_category(), "weft: io_uring_setup");
  max_in_flight_ = options.max_in_flight ? options.max_in_flight : UINT64_MAX;
  if (options.msg_ring_wakeups) {
    static const bool works = msg_ring_works(ring_);  // once per process
    msg_ring_ = works;
  }
}

UringBackend::~UringBackend() { io_uring_queue_exit(&ring_); }

void UringBackend::make_room(unsigned n) {
  while (io_uring_sq_space_left(&ring_) < n) enter(false, nullptr);
}

void UringBackend::defer(UringUnit& unit) noexcept {
  for (IoOp& op : unit.sub->ops) op.backend_state = &unit;  // a cancel finds the unit through its op
  (deferred_tail_ ? deferred_tail_->next : deferred_head_) = &unit;
  deferred_tail_ = &unit;
  bump(waited_, unit.sub->ops.size());
}

void UringBackend::admit_deferred() {
  if (admitting_) return;
  admitting_ = true;
  while (UringUnit* u = deferred_head_) {
    const unsigned slots = static_cast<unsigned>(u->sub->ops.size()) + u->sub->timed();
    if (in_flight() + slots > max_in_flight_ && in_flight() != 0) break;
    deferred_head_ = u->next;
    if (!deferred_head_) deferred_tail_ = nullptr;
    for (IoOp& op : u->sub->ops) op.backend_state = nullptr;  // from now on a cancel is an ASYNC_CANCEL
    write_sqes(*u);
  }
  admitting_ = false;
}

void UringBackend::cancel_deferred(UringUnit& unit, int closed_fd) noexcept {
  UringUnit** p = &deferred_head_;
  UringUnit* prev = nullptr;
  while (*p != &unit) {
    prev = *p;
    p = &(*p)->next;
  }
  *p = unit.next;
  if (deferred_tail_ == &unit) deferred_tail_ = prev;
  // Each op drops the references of its SQEs that will now never exist. The unit lives on the
  // fiber's stack, and a close holds no reference of its own (a cancel request does): the fiber
  // may leave once the last op is released, so the submission is read into locals first and that
  // release is the last touch.
  const Submission& sub = *unit.sub;
  const std::span<const OpDesc> descs = sub.descs;
  const std::span<IoOp> ops = sub.ops;
  const bool timed = sub.timed();
  for (std::size_t i = 0; i < ops.size(); ++i) {
    IoOp& op = ops[i];
    op.backend_state = nullptr;
    op.res = names_fd(descs[i], closed_fd) ? -EBADF : -ECANCELED;
    release_refs(op, timed && i + 1 == ops.size() ? 2 : 1);
  }
}

void UringBackend::close_local(int fd) {
  for (UringUnit* u = deferred_head_; u;) {
    UringUnit* next = u->next;  // read first: a completed unit may be gone at once
    const std::span<const OpDesc> descs = u->sub->descs;
    if (std::any_of(descs.begin(), descs.end(), [fd](const OpDesc& d) { return names_fd(d, fd); })) {
      cancel_deferred(*u, fd);
    }
    u = next;
  }
  if (in_flight() == 0) return;
  reserve(1);
  io_uring_sqe* s = io_uring_get_sqe(&ring_);
  io_uring_prep_cancel_fd(s, fd, IORING_ASYNC_CANCEL_ALL);
  io_uring_sqe_set_data64(s, kCloseCancel);
  s->flags |= IOSQE_CQE_SKIP_SUCCESS;  // its result does not matter (ENOENT: nothing was left)
  submit_now();
}

void UringBackend::submit_now() {
  do {
    enter(false, nullptr);
  } while (io_uring_sq_ready(&ring_) > 0);  // EBUSY submitted nothing; admitted units queued more
}

void UringBackend::cancel_local(IoOp& op) {
  if (op.backend_state) {  // still waiting for room: it never reaches the kernel
    cancel_deferred(*static_cast<UringUnit*>(op.backend_state));
    return release_refs(op, 1);  // the cancel request's reference
  }
  reserve(1);
  io_uring_sqe* s = io_uring_get_sqe(&ring_);
  io_uring_prep_cancel64(s, reinterpret_cast<std::uint64_t>(&op) | kTagMain, 0);
  io_uring_sqe_set_data64(s, reinterpret_cast<std::uint64_t>(&op) | kTagCancel);
  add_in_flight(1);
}

void UringBackend::arm_wake_read() {
  reserve(1);
  io_uring_sqe* s = io_uring_get_sqe(&ring_);
  io_uring_prep_read(s, wake_.fd(), &wake_buf_, sizeof wake_buf_, 0);
  io_uring_sqe_set_data64(s, kWakeRead);
  wake_armed_ = true;
}

void UringBackend::enter(bool wait, const __kernel_timespec* timeout) {
  const unsigned queued = io_uring_sq_ready(&ring_);
  int rc;
  if (!wait) {
    rc = io_uring_submit_and_get_events(&ring_);
  } else if (timeout) {
    io_uring_cqe* cqe = nullptr;
    rc = io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, const_cast<__kernel_timespec*>(timeout), nullptr);
  } else {
    rc = io_uring_submit_and_wait(&ring_, 1);
  }
  bump(enters_);
  bump(submitted_, queued - io_uring_sq_ready(&ring_));
  // EBUSY/EAGAIN: the CQ is full (the kernel keeps what overflowed): reap, the caller retries.
  // EINTR/ETIME: nothing to do. Errors of one operation come back in its CQE; any other error
  // here means the ring itself is unusable, which would strand every fiber waiting on it.
  if (rc < 0 && rc != -EBUSY && rc != -EAGAIN && rc != -EINTR && rc != -ETIME) {
    throw std::system_error(-rc, std::system_category(), "weft: io_uring_enter");
  }
  // The kernel flags completions it could not fit in the CQ (it keeps them and hands them over as
  // room frees): counted, since it means the CQ is too small for what is in flight.
  if (IO_URING_READ_ONCE(*ring_.sq.kflags) & IORING_SQ_CQ_OVERFLOW) bump(cq_overflows_);
  reap();
  if (deferred_head_) admit_deferred();
}

void UringBackend::reap() {
  io_uring_cqe* cqe = nullptr;
  unsigned head = 0, n = 0;
  io_uring_for_each_cqe(&ring_, head, cqe) {
    ++n;
    const std::uint64_t data = cqe->user_data;
    if (data == kWakeRead) {
      wake_armed_ = false;
      continue;
    }
    if (data == kWakeMsg || data == kCloseCancel) continue;  // woken by another ring; a close's cancel
    if ((data & kTagMask) == kTagWakeFailed) {
      // Our MSG_RING to that ring failed (an error CQE, e.g. its ring went away): the eventfd
      // then. Rings live as long as their Scheduler, and so does every ring that wakes them.
      reinterpret_cast<UringBackend*>(data & ~kTagMask)->wake_.notify();
      continue;
    }
    add_in_flight(-1);
    auto* op = reinterpret_cast<IoOp*>(data & ~kTagMask);
    switch (data & kTagMask) {
      case kTagMain:
        op->res = cqe->res;
        break;
      case kTagTimeout:
        if (cqe->res == -ETIME) op->timed_out = true;
        break;
      default:  // kTagCancel: its own result does not matter
        break;
    }
    release_refs(*op, 1);
  }
  io_uring_cq_advance(&ring_, n);
  bump(reaped_, n);
}

void UringBackend::park(std::chrono::steady_clock::time_point deadline) {
  // A request carried out here may have woken a task onto this worker (a closer that waited for
  // this ring, the ops of a deferred unit): submit and reap, but do not sleep.
  if (drain_posted()) return enter(false, nullptr);
  if (!wake_armed_) arm_wake_read();
  if (deadline == std::chrono::steady_clock::time_point::max()) {
    enter(true, nullptr);
  } else {
    const auto ts = sched::timespec_until<__kernel_timespec>(deadline);
    enter(true, &ts);
  }
}

void UringBackend::unpark() noexcept {
  if (msg_ring_) {
    UringBackend* from = owned_ring();
    if (from && from->msg_ring_ && from->send_wake(*this)) return;
  }
  wake_.notify();
}

bool UringBackend::send_wake(UringBackend& target) noexcept {
  io_uring_sqe* s = io_uring_get_sqe(&ring_);
  if (!s) return false;  // SQ full (rare): making room would mean reaping, maybe inside reap()
  io_uring_prep_msg_ring(s, target.ring_fd(), 0, kWakeMsg, 0);
  s->flags |= IOSQE_CQE_SKIP_SUCCESS;
  io_uring_sqe_set_data64(s, reinterpret_cast<std::uint64_t>(&target) | kTagWakeFailed);
  const unsigned queued = io_uring_sq_ready(&ring_);
  const int rc = io_uring_submit(&ring_);  // never reaps: safe from inside reap()
  bump(enters_);
  bump(submitted_, queued - io_uring_sq_ready(&ring_));
  if (rc < 0) return false;  // EBUSY etc.: the SQE stays queued and goes with the next enter
  bump(msg_ring_wakes_);
  return true;
}

void UringBackend::poll() {
  drain_posted();
  // Completions of a DEFER_TASKRUN ring only arrive through io_uring_enter: enter when something
  // was queued this tick, or something other than the wake-up read is in flight.
  if (in_flight() > 0 || io_uring_cq_ready(&ring_) > 0) enter(false, nullptr);
}

UringStats UringBackend::stats() const noexcept {
  return UringStats{.enters = enters_.load(std::memory_order_relaxed),
                    .sqes_submitted = submitted_.load(std::memory_order_relaxed),
                    .cqes_reaped = reaped_.load(std::memory_order_relaxed),
                    .msg_ring_wakes = msg_ring_wakes_.load(std::memory_order_relaxed),
                    .waited_for_room = waited_.load(std::memory_order_relaxed),
                    .cq_overflows = cq_overflows_.load(std::memory_order_relaxed),
                    .setup_flags = setup_flags_,
                    .msg_ring_wakeups = msg_ring_};
}

sched::IoCounters UringBackend::io_counters() const noexcept {
  const UringStats s = stats();
  return sched::IoCounters{.sqes_submitted = s.sqes_submitted, .uring_enters = s.enters, .cqes_reaped = s.cqes_reaped,
                           .cq_overflows = s.cq_overflows};
}

std::unique_ptr<sched::Driver> make_uring_driver(const UringOptions& options) {
  return std::make_unique<UringBackend>(options);
}

UringStats current_uring_stats() noexcept {
  UringBackend* d = current_uring();
  return d ? d->stats() : UringStats{};
}

UringStats uring_stats(const sched::Driver& driver) noexcept {
  return driver.kind() == &kUringKind ? static_cast<const UringBackend&>(driver).stats() : UringStats{};
}

}  // namespace weft::io
