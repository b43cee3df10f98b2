// weft/sched/driver.hpp: what a worker sleeps in when it has nothing to run.
//
// Each worker owns one Driver. The scheduler calls park() on the worker's own thread with the
// deadline of that worker's next timer, and unpark() from any thread to end such a wait early. io/
// implements this with the worker's io_uring ring (park = submit pending SQEs and wait for a CQE) or
// with epoll; sched/ provides make_eventfd_driver() so the scheduler runs on its own.
//
// Contract: park() may return early for any reason (the worker loops). An unpark() that happens
// before or during park() makes that park() (or the next one) return promptly: no wake-up is lost.
//
// Thread-safety: park()/poll() only on the owning worker thread; unpark() and io_counters() from
// any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

namespace weft::sched {

// IoCounters: a snapshot of a driver's IO syscall counters, monotonic since the driver started.
// Each backend fills the fields of its own kind and leaves the others zero: an io_uring driver
// the first three, an epoll driver the last three; the eventfd driver has no IO and fills none.
struct IoCounters {
  std::uint64_t sqes_submitted = 0;  // io_uring: SQEs handed to the kernel
  std::uint64_t uring_enters = 0;    // io_uring: io_uring_enter calls (submit, wait, or both)
  std::uint64_t cqes_reaped = 0;     // io_uring: completions processed
  std::uint64_t cq_overflows = 0;    // io_uring: enters after which completions waited in the
                                     // kernel's overflow list (the CQ was full)
  std::uint64_t epoll_waits = 0;     // epoll: epoll_wait / epoll_pwait2 calls
  std::uint64_t epoll_ctls = 0;      // epoll: epoll_ctl calls (arming a readiness wait)
  std::uint64_t pool_ops = 0;        // epoll: operations run on the blocking pool (files, openat, ...)
};

// Driver: the per-worker parking mechanism.
class Driver {
 public:
  virtual ~Driver() = default;
  // park: blocks the worker until unpark(), `deadline` (time_point::max(): none), or other progress.
  virtual void park(std::chrono::steady_clock::time_point deadline) = 0;
  // unpark: ends a current or the next park(). Thread-safe, never blocks.
  virtual void unpark() noexcept = 0;
  // poll: makes non-blocking progress (e.g. reaps completions) between fibers. Owner thread only.
  virtual void poll() {}
  // io_counters: this driver's IoCounters. Callable from any thread while the driver exists: the
  // owner writes each counter with a relaxed load+store (it is the only writer, so no locked
  // instruction), and readers get relaxed loads, i.e. a recent value, not a consistent cut.
  virtual IoCounters io_counters() const noexcept { return {}; }

  // kind: identifies the implementation (the address of a tag object it owns), so io/ can find
  // its own driver without a dynamic_cast on every operation.
  const void* kind() const noexcept { return kind_; }

 protected:
  explicit Driver(const void* kind = nullptr) noexcept : kind_(kind) {}

 private:
  const void* kind_;
};

// DriverFactory: builds the driver of worker `index`; called on that worker's thread.
using DriverFactory = std::function<std::unique_ptr<Driver>(unsigned index)>;

// make_eventfd_driver: a driver that waits with ppoll() on an EventSource. Throws std::system_error
// if the eventfd cannot be created.
std::unique_ptr<Driver> make_eventfd_driver();

// current_driver: the driver of the worker running the calling fiber; nullptr outside fibers.
// Only valid until the next suspension point: the fiber may resume on another worker.
Driver* current_driver() noexcept;

}  // namespace weft::sched
