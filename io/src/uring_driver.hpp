// uring_driver.hpp: UringDriver, the ring of one worker, the io_uring backend of the op protocol
// (io_op.hpp).
//
// How the protocol maps onto the ring: every SQE that names an op (the op itself, its linked
// timeout, a cancel aimed at it) adds one to op.pending before it is queued, and its CQE releases
// it. user_data is the op's address with a tag in the low bits (IoOp is 8-byte aligned) saying which
// of the three the CQE belongs to. Only the owner thread submits: a cancel from elsewhere is posted
// (IoBackend::cancel) and queued by the owner.
#pragma once

#include "io_op.hpp"

#include <weft/io/uring_driver.hpp>
#include <weft/sched/event_source.hpp>

#include <liburing.h>

#include <atomic>
#include <chrono>
#include <cstdint>

namespace weft::io {

class UringDriver final : public IoBackend {
 public:
  // user_data tags in the low bits of an op's address.
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

  // stats: the counters; any thread (relaxed loads of owner-written counters).
  UringStats stats() const noexcept;
  sched::IoCounters io_counters() const noexcept override;
  unsigned setup_flags() const noexcept { return setup_flags_; }

 protected:
  // cancel_local: queues an ASYNC_CANCEL for `op` (its CQE releases the request's reference).
  void cancel_local(IoOp& op) override;

 private:
  void enter(bool wait, const __kernel_timespec* timeout);
  void reap();
  void arm_wake_read();

  io_uring ring_{};
  unsigned setup_flags_ = 0;
  sched::EventSource wake_;
  std::uint64_t wake_buf_ = 0;
  bool wake_armed_ = false;
  std::uint64_t outstanding_ = 0;  // op SQEs queued or in flight (not the wake-up read)
  // Written only by the owner thread with bump() (relaxed load+store, no locked instruction), so
  // Runtime::metrics() may read them from another thread.
  std::atomic<std::uint64_t> enters_{0}, submitted_{0}, reaped_{0};
};

// current_uring: the ring of the worker running the calling fiber, nullptr elsewhere.
inline UringDriver* current_uring() noexcept {
  sched::Driver* d = sched::current_driver();
  return d && d->kind() == &kUringKind ? static_cast<UringDriver*>(d) : nullptr;
}

}  // namespace weft::io
