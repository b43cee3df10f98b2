// weft/runtime/metrics.hpp: Metrics, the runtime's counters summed over its workers.
//
// Runtime::metrics() adds up every worker's WorkerStats (weft/sched/scheduler.hpp), including the
// IO syscall counters of its backend. All counters are monotonic since the Runtime started, so the
// difference of two snapshots measures what happened in between.
//
// Thread-safety: metrics() may be called from any thread or fiber. Each counter is a relaxed load
// of a value its worker writes alone: a snapshot is recent, but not a consistent cut (a task may be
// counted as finished on one worker before its start shows on another).
//
//   const weft::Metrics before = rt.metrics();
//   run_workload(rt);
//   const weft::Metrics d = rt.metrics() - before;  // std::printf("%.2f\n", d.syscalls_per_op());
#pragma once

#include <weft/runtime/config.hpp>

#include <cstdint>

namespace weft {

// Metrics: see the file comment. The io_uring fields stay zero on the epoll backend and the
// epoll fields on io_uring.
struct Metrics {
  Backend backend = Backend::automatic;  // what the workers run (never automatic in a snapshot)
  unsigned workers = 0;

  std::uint64_t tasks_started = 0;   // tasks that got a fiber
  std::uint64_t tasks_finished = 0;  // tasks whose fiber ended
  std::uint64_t resumes = 0;         // fiber switch-ins (a task that suspends k times: k + 1)
  std::uint64_t steals = 0;          // tasks taken from another worker's queue
  std::uint64_t parks = 0;           // times a worker slept in its backend with nothing to run
  std::uint64_t wakeups = 0;         // times a worker was woken from that sleep by another thread

  std::uint64_t sqes_submitted = 0;  // io_uring: SQEs handed to the kernel (the operations)
  std::uint64_t uring_enters = 0;    // io_uring: io_uring_enter calls
  std::uint64_t cqes_reaped = 0;     // io_uring: completions processed
  std::uint64_t cq_overflows = 0;    // io_uring: times completions had to wait in the kernel's
                                     // overflow list because the CQ was full (0 in normal operation)

  std::uint64_t epoll_waits = 0;     // epoll: epoll_wait calls
  std::uint64_t epoll_ctls = 0;      // epoll: epoll_ctl calls
  std::uint64_t pool_ops = 0;        // epoll: file operations run on the blocking pool

  // io_syscalls: the backend's own syscalls: io_uring_enter calls, or epoll_wait + epoll_ctl
  // calls (the read/write/accept syscalls epoll makes itself are not counted by it).
  std::uint64_t io_syscalls() const noexcept { return uring_enters + epoll_waits + epoll_ctls; }
  // io_ops: operations the backend carried: SQEs on io_uring; on epoll, readiness arms plus pool
  // operations (a lower bound: operations that completed at once need neither).
  std::uint64_t io_ops() const noexcept { return sqes_submitted + epoll_ctls + pool_ops; }
  // syscalls_per_op: io_syscalls() / io_ops() (0 when there were no operations). Below 1 on
  // io_uring means batching: several operations went to the kernel in one io_uring_enter.
  double syscalls_per_op() const noexcept {
    return io_ops() == 0 ? 0.0 : static_cast<double>(io_syscalls()) / static_cast<double>(io_ops());
  }

  // operator-: the counters of `a` minus those of `b` (an earlier snapshot of the same Runtime).
  friend Metrics operator-(Metrics a, const Metrics& b) noexcept {
    a.tasks_started -= b.tasks_started;
    a.tasks_finished -= b.tasks_finished;
    a.resumes -= b.resumes;
    a.steals -= b.steals;
    a.parks -= b.parks;
    a.wakeups -= b.wakeups;
    a.sqes_submitted -= b.sqes_submitted;
    a.uring_enters -= b.uring_enters;
    a.cqes_reaped -= b.cqes_reaped;
    a.cq_overflows -= b.cq_overflows;
    a.epoll_waits -= b.epoll_waits;
    a.epoll_ctls -= b.epoll_ctls;
    a.pool_ops -= b.pool_ops;
    return a;
  }
};

}  // namespace weft
