// io_backend.hpp: IoBackend, what every worker backend (io_uring, epoll) shares: the requests other
// threads post to its owner (cancel an op, end the ops on an fd being closed), and the list of live
// backends that a close reaches. The op reference protocol these requests keep is argued in
// io_op.hpp; the close protocol here.
//
// Closing an fd ends the ops waiting on it (cancel_fd_everywhere, before every close through weft).
// On io_uring an op in flight holds its file, so close(2) alone would not end it; on epoll the
// kernel drops a closed file from every epoll set, so its waiters would never hear again. So the
// closer sends a close request to every backend of the process that holds anything (in_flight() >
// 0), and each owner ends that fd's ops: io_uring issues IORING_OP_ASYNC_CANCEL(FD | ALL) (and
// completes queued ops that name the fd), epoll completes the fd's waiters with EBADF. The closer
// waits until every owner has done so, and only then calls close(2). Why wait: a CANCEL_FD looks
// the number up when it is issued, and an eviction takes a number's waiters; after close(2) the
// number may name a new file whose ops must be left alone. So a request always meets the file
// being closed, and no waiter of a later file can exist yet (its number is handed out after the
// close). An op ended this way reports EBADF (system_category) on both backends: epoll completes it
// with -EBADF; on io_uring it completes with -ECANCELED, which neither its fiber nor its deadline
// asked for, and op_result maps that to EBADF. An op that completed in the kernel first keeps its
// result (no byte or accepted fd is lost). What it cannot reach: an op started after the owner
// carried out the request and before close(2) (the caller's race: using an fd while closing it),
// an epoll op on the blocking pool (a running syscall cannot be interrupted: it returns its own
// result), and a linked io_uring op not yet started behind another op of its chain.
// Skipping backends that hold nothing is also what makes waiting safe at shutdown: a worker exits
// only after every task finished (sched/src/scheduler_impl.hpp), so an exited worker's backend
// holds nothing and is never waited for. A closer that owns a backend but runs outside a fiber (a
// worker destroying an abandoned task's closure) cannot park its worker: it carries out the
// requests posted to it while it waits, so two such closers cannot wait for each other.
//
// Thread-safety: IoOp fields other than pending/done belong to whoever holds the last reference;
// IoBackend::cancel and cancel_fd_everywhere are safe from any thread.
//
// Thread-safety: IoBackend::cancel and cancel_fd_everywhere are safe from any thread; the rest is
// for the owner thread, as each member says.
#pragma once

#include "io_op.hpp"

#include <weft/sched/driver.hpp>
#include <weft/sched/waker.hpp>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <vector>

namespace weft::io {

// Driver::kind() tags of the two backends.
extern const char kUringKind;
extern const char kEpollKind;

// CloseRequest: one closer's request to the backends that hold ops (see "Closing an fd" above).
// On the closer's stack; each backend it was posted to drops one from `left` when done.
struct CloseRequest {
  int fd = -1;
  std::atomic<int> left{0};
  sched::Waker closer;
};

// IoBackend: a worker's driver that runs IO operations. Constructed on its owner thread; every live
// backend of the process is listed for cancel_fd_everywhere.
class IoBackend : public sched::Driver {
 public:
  // cancel: carries out a cancel request for `op` (which op.pending already counts) on the owner
  // thread: at once when called there, else posted to it. Any thread.
  void cancel(IoOp& op);

 protected:
  explicit IoBackend(const void* kind);
  ~IoBackend() override;
  // cancel_local: owner thread; must eventually release the request's reference.
  virtual void cancel_local(IoOp& op) = 0;
  // close_local: owner thread; ends every op this backend holds on `fd`, which is about to be
  // closed (see "Closing an fd" above). On return the kernel side is done (io_uring: the cancel
  // was submitted), so the number may be closed.
  virtual void close_local(int fd) = 0;
  // drain_posted: owner thread, before it waits or polls: the cancel and close requests posted by
  // other threads. Returns whether it carried out any (which may have woken a task onto this
  // worker: the caller must not then sleep).
  bool drain_posted();
  // in_flight: owner thread: what a close may have to end (io_uring: op SQEs queued or in flight;
  // epoll: readiness waiters). add_in_flight: owner thread only, the single writer (relaxed load
  // and store, no locked instruction); closers on other threads read it relaxed: an op whose start
  // happens before the close is seen, and one racing with the close is the caller's race.
  std::uint64_t in_flight() const noexcept { return in_flight_.load(std::memory_order_relaxed); }
  void add_in_flight(std::int64_t n) noexcept {
    in_flight_.store(in_flight_.load(std::memory_order_relaxed) + static_cast<std::uint64_t>(n),
                     std::memory_order_relaxed);
  }
  // bump: adds n to a counter only the owner thread writes: a relaxed load and store, no locked
  // instruction on the hot path; other threads' relaxed loads (io_counters) see a recent value.
  static void bump(std::atomic<std::uint64_t>& c, std::uint64_t n = 1) noexcept {
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }

 private:
  friend void cancel_fd_everywhere(int fd) noexcept;
  // post_close: any thread; close_local(req.fd) on the owner soon, then one off req.left.
  bool post_close(CloseRequest& req) noexcept;
  // finish_close: the owner's part of `req` is done: drop one from req.left, the last wakes the closer.
  static void finish_close(CloseRequest& req) noexcept;

  std::mutex posted_mu_;
  std::vector<IoOp*> posted_;
  std::vector<CloseRequest*> posted_closes_;
  std::atomic<bool> has_posted_{false};
  std::atomic<std::uint64_t> in_flight_{0};
};

// current_backend: the backend of the worker running the calling fiber; nullptr elsewhere (a
// plain thread, or a scheduler whose workers have no IO backend).
IoBackend* current_backend() noexcept;

// owned_backend: the backend the calling thread owns (it constructed it: a worker thread, in a
// fiber or not), nullptr when it owns none. Not inlined: a fiber must not keep a thread's value
// across a switch.
IoBackend* owned_backend() noexcept;

// cancel_fd_everywhere: before closing `fd` through weft (any thread, fiber or not): ends every op
// waiting on it on every backend of the process, and returns once each backend holding ops has
// done so (see "Closing an fd" above). Suspends a fiber, blocks a plain thread. A no-op where no
// backend holds anything.
void cancel_fd_everywhere(int fd) noexcept;

}  // namespace weft::io
