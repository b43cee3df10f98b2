#include "uring_driver.hpp"

#include <cerrno>
#include <cstring>
#include <span>
#include <system_error>

namespace weft::io {
namespace {

__kernel_timespec to_timespec(std::chrono::nanoseconds ns) {
  if (ns < ns.zero()) ns = ns.zero();
  return __kernel_timespec{static_cast<long long>(ns.count() / 1'000'000'000),
                           static_cast<long long>(ns.count() % 1'000'000'000)};
}

}  // namespace

UringDriver::UringDriver(const UringOptions& options) : IoBackend(&kUringKind) {
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
    p.cq_entries = options.cq_entries ? options.cq_entries : 2 * options.entries;
    rc = io_uring_queue_init_params(options.entries, &ring_, &p);
    if (rc == 0) {
      setup_flags_ = p.flags;
      break;
    }
    if (rc != -EINVAL) break;  // EINVAL: flags this kernel lacks; anything else is final
  }
  if (rc != 0) throw std::system_error(-rc, std::system_category(), "weft: io_uring_setup");
}

UringDriver::~UringDriver() { io_uring_queue_exit(&ring_); }

void UringDriver::reserve(unsigned n) {
  while (io_uring_sq_space_left(&ring_) < n) enter(false, nullptr);
}

void UringDriver::cancel_local(IoOp& op) {
  reserve(1);
  io_uring_sqe* s = sqe();
  io_uring_prep_cancel64(s, reinterpret_cast<std::uint64_t>(&op) | kTagMain, 0);
  io_uring_sqe_set_data64(s, reinterpret_cast<std::uint64_t>(&op) | kTagCancel);
  note_queued(1);
}

void UringDriver::arm_wake_read() {
  reserve(1);
  io_uring_sqe* s = sqe();
  io_uring_prep_read(s, wake_.fd(), &wake_buf_, sizeof wake_buf_, 0);
  io_uring_sqe_set_data64(s, kWakeRead);
  wake_armed_ = true;
}

void UringDriver::enter(bool wait, const __kernel_timespec* timeout) {
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
  reap();
}

void UringDriver::reap() {
  io_uring_cqe* cqe = nullptr;
  unsigned head = 0, n = 0;
  io_uring_for_each_cqe(&ring_, head, cqe) {
    ++n;
    const std::uint64_t data = cqe->user_data;
    if (data == kWakeRead) {
      wake_armed_ = false;
      continue;
    }
    --outstanding_;
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

void UringDriver::park(std::chrono::steady_clock::time_point deadline) {
  drain_posted_cancels();
  if (!wake_armed_) arm_wake_read();
  if (deadline == std::chrono::steady_clock::time_point::max()) {
    enter(true, nullptr);
  } else {
    const __kernel_timespec ts = to_timespec(deadline - std::chrono::steady_clock::now());
    enter(true, &ts);
  }
}

void UringDriver::unpark() noexcept { wake_.notify(); }

void UringDriver::poll() {
  drain_posted_cancels();
  // Completions of a DEFER_TASKRUN ring only arrive through io_uring_enter: enter when something
  // was queued this tick, or something other than the wake-up read is in flight.
  if (outstanding_ > 0 || io_uring_cq_ready(&ring_) > 0) enter(false, nullptr);
}

UringStats UringDriver::stats() const noexcept {
  return UringStats{enters_.load(std::memory_order_relaxed), submitted_.load(std::memory_order_relaxed),
                    reaped_.load(std::memory_order_relaxed), setup_flags_};
}

sched::IoCounters UringDriver::io_counters() const noexcept {
  const UringStats s = stats();
  return sched::IoCounters{.sqes_submitted = s.sqes_submitted, .uring_enters = s.enters, .cqes_reaped = s.cqes_reaped};
}

std::unique_ptr<sched::Driver> make_uring_driver(const UringOptions& options) {
  return std::make_unique<UringDriver>(options);
}

UringStats current_uring_stats() noexcept {
  UringDriver* d = current_uring();
  return d ? d->stats() : UringStats{};
}

}  // namespace weft::io
