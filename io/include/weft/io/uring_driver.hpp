// weft/io/uring_driver.hpp: the io_uring ring of a worker, as the worker's parking driver.
//
// Each worker owns one ring (IORING_SETUP_SINGLE_ISSUER: only its thread submits). Operations a
// fiber issues only fill SQEs; the worker submits everything its fibers queued during a tick with
// one io_uring_enter, and when it has nothing to run it submits and waits in the same call, with
// its next timer as the timeout. A read is always pending on the worker's EventSource, so a remote
// wake-up (an eventfd write) ends that wait; a wake-up from another io_uring worker instead posts a
// completion into this ring from the waker's own ring (IORING_OP_MSG_RING), when the kernel allows
// it.
//
// Thread-safety: the driver is used by its worker thread; unpark() and the forwarding of cancels
// are safe from any thread.
//
//   weft::sched::Scheduler::Options o;
//   o.driver_factory = [](unsigned) { return weft::io::make_uring_driver({}); };
#pragma once

#include <weft/sched/driver.hpp>

#include <cstdint>
#include <memory>

namespace weft::io {

// UringOptions: how a worker's ring is set up.
struct UringOptions {
  // kDefaultCqEntries: the CQ holds a completion for every operation a busy service keeps in
  // flight (a receive per connection: 10,000 connections fit), so completions never wait in the
  // kernel's overflow list, which costs an allocation each and a slower path until it drains
  // (UringStats::cq_overflows counts it). 16,384 CQEs are 256 KiB per ring.
  static constexpr unsigned kDefaultCqEntries = 16384;
  unsigned entries = 256;     // SQ size
  unsigned cq_entries = 0;    // 0: kDefaultCqEntries; tests shrink it to exercise CQ overflow
  // flags: kAutoFlags tries SINGLE_ISSUER|DEFER_TASKRUN, then weaker sets on EINVAL; any other
  // value is exactly these IORING_SETUP_* flags (<linux/io_uring.h>), EINVAL if the kernel lacks
  // one. For measuring the flag sets against each other (bench/workloads w7_flags).
  static constexpr unsigned kAutoFlags = ~0u;
  unsigned flags = kAutoFlags;
  // msg_ring_wakeups: a thread that owns an io_uring ring itself (another worker) wakes this one
  // with IORING_OP_MSG_RING from its own ring instead of writing this ring's eventfd, when the
  // kernel allows it (probed once per process). false: always the eventfd (for measuring the two
  // against each other, bench/workloads w8_wake). Plain threads always use the eventfd.
  bool msg_ring_wakeups = true;
  // max_in_flight: operations' SQEs (an op, its linked timeout) queued or in flight on the ring at
  // once; 0: no cap. An operation that would exceed it waits, first come first served, until
  // completions make room: it never fails for it. (A linked chain bigger than the cap runs alone
  // once the ring is empty.) Beware: an op that waits on a peer (a read on an idle connection)
  // holds its place indefinitely, so a cap below the number of such ops stalls the ring's other
  // operations, e.g. the accept that would bring the data; hence no cap by default (the kernel
  // keeps CQEs that overflow the CQ, and the ring reaps and retries). Tests shrink it.
  unsigned max_in_flight = 0;
};

// make_uring_driver: sets up a ring, trying SINGLE_ISSUER|DEFER_TASKRUN|COOP_TASKRUN, then weaker
// flag sets on EINVAL. Throws std::system_error with the errno of io_uring_setup when no flag set
// works (ENOSYS: no io_uring; EPERM: blocked by seccomp or kernel.io_uring_disabled; ENOMEM: locked
// memory limit). Call on the worker thread that will own the ring.
std::unique_ptr<sched::Driver> make_uring_driver(const UringOptions& options);

// UringStats: counters of the calling worker's ring (zero outside a fiber on a ring worker).
struct UringStats {
  std::uint64_t enters = 0;          // io_uring_enter calls
  std::uint64_t sqes_submitted = 0;  // SQEs handed to the kernel
  std::uint64_t cqes_reaped = 0;     // completions processed
  std::uint64_t msg_ring_wakes = 0;  // wake-ups this ring sent to another ring with MSG_RING
  std::uint64_t waited_for_room = 0;  // operations that waited for the in-flight cap
  std::uint64_t cq_overflows = 0;     // enters after which completions waited in the kernel's
                                      // overflow list (the CQ was full)
  unsigned setup_flags = 0;          // the IORING_SETUP_* flags the ring got
  bool msg_ring_wakeups = false;     // this ring sends and takes MSG_RING wake-ups (option and probe)
};
UringStats current_uring_stats() noexcept;
// uring_stats: the counters of `driver` when it is an io_uring ring, else zero. Any thread.
UringStats uring_stats(const sched::Driver& driver) noexcept;

}  // namespace weft::io
