// uring_driver.hpp: UringDriver, the ring of one worker, and UringOp, one operation on it.
//
// The op protocol (why a buffer on a fiber's stack is never written after the fiber moved on):
// - Every SQE that names an op (the op itself, its linked timeout, a cancel aimed at it) adds one
//   to op.pending before it is queued, and its CQE subtracts one. The fiber leaves the op only
//   when pending is 0, i.e. after the kernel's final completion for everything that refers to it.
// - The reaper writes res/timed_out, then subtracts (acq_rel). The one that reaches 0 wakes the
//   fiber and only then sets `done` (release); the fiber leaves when it sees `done` (acquire), so
//   neither the op nor the task is touched after the fiber moved on, and no reference counting is
//   needed on this hot path. A fiber that runs while pending is 0 but `done` is not yet set (woken
//   early by a cancel) yields until the reaper's last two instructions are through.
// - A cancel for an op in flight on another worker's ring is posted to that ring's owner (a
//   locked queue plus an unpark); the owner submits it. Only the owner thread ever submits.
#pragma once

#include <weft/io/uring_driver.hpp>
#include <weft/sched/event_source.hpp>
#include <weft/sched/waker.hpp>

#include <liburing.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <vector>

namespace weft::io {

class UringDriver;

struct UringOp {
  sched::Task* task = nullptr;
  std::atomic<int> pending{0};
  std::atomic<bool> done{false};
  int res = 0;
  bool timed_out = false;
  bool cancel_sent = false;
  UringDriver* ring = nullptr;
  __kernel_timespec deadline{};
};

class UringDriver final : public sched::Driver {
 public:
  static const char kKind;  // Driver::kind() of every UringDriver
  // user_data tags in the low bits of an op's address (UringOp is 8-byte aligned).
  static constexpr std::uint64_t kTagMain = 0, kTagTimeout = 1, kTagCancel = 2, kTagMask = 7;
  static constexpr std::uint64_t kWakeRead = 1;  // the EventSource read (not an op address)

  UringDriver(const UringOptions& options);  // throws std::system_error
  ~UringDriver() override;

  void park(std::chrono::steady_clock::time_point deadline) override;
  void unpark() noexcept override;
  void poll() override;

  // owner: `n` free SQEs, submitting queued ones first when the SQ is short.
  void reserve(unsigned n);
  io_uring_sqe* sqe() noexcept { return io_uring_get_sqe(&ring_); }
  // owner: counts SQEs the op layer queued (they complete as CQEs that reap() counts back).
  void note_queued(unsigned n) noexcept { outstanding_ += n; }
  // owner: queues a cancel for `op` (which is in flight on this ring).
  void queue_cancel(UringOp* op);
  // any thread: asks the owner to cancel `op`; op->pending was already incremented.
  void post_cancel(UringOp* op);

  UringStats stats() const noexcept;
  unsigned setup_flags() const noexcept { return setup_flags_; }

 private:
  void enter(bool wait, const __kernel_timespec* timeout);
  void reap();
  void arm_wake_read();
  void drain_posted_cancels();

  io_uring ring_{};
  unsigned setup_flags_ = 0;
  sched::EventSource wake_;
  std::uint64_t wake_buf_ = 0;
  bool wake_armed_ = false;
  std::mutex posted_mu_;
  std::vector<UringOp*> posted_;
  std::atomic<bool> has_posted_{false};
  std::uint64_t outstanding_ = 0;  // op SQEs queued or in flight (not the wake-up read)
  std::uint64_t enters_ = 0, submitted_ = 0, reaped_ = 0;
};

// current_uring: the ring of the worker running the calling fiber, nullptr elsewhere.
UringDriver* current_uring() noexcept;

}  // namespace weft::io
